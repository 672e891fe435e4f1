//! Planning pages (French UI): the planning board (a week per instructor, car or
//! candidate, booking from a free slot), the booking form, a lesson's page (for
//! its instructor, or the staff, once it has begun: the form recording how it
//! went with the progress on the competency grid), and the calendar feeds.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::service::{
    self as planning, CancelInput, CancelledBy, Lesson, LessonFilter, LessonInput, LessonKind, LessonStatus,
    OutcomeInput,
};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::organizations::service as organizations;
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::SelectOption;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::platform::web::{id_options, options, refusal_to_flash};
use crate::school::access::Viewer;
use crate::school::candidates::progress::{self, Assessment, CompetencyProgress};
use crate::school::candidates::service::CandidateFilter;
use crate::school::candidates::web::candidate_list;
use crate::school::cars::service as vehicles;
use crate::school::instructors::service as instructors;

/// The hours the planning board shows.
const FIRST_HOUR: u32 = 7;
const LAST_HOUR: u32 = 20;

/// The planning board and a lesson's page: everyone with a place in the school
/// reads them (each sees their own lessons).
pub fn routes() -> Routes {
    vec![
        ("/school/planning", get(planning_board)),
        ("/school/lessons/{id}", get(show)),
        ("/school/lessons/{id}/move", post(move_lesson)),
    ]
}

/// Booking and cancelling lessons (the staff): the booking form lists every
/// candidate, instructor and training car, so reading it needs the right to book.
pub fn booking_routes() -> Routes {
    vec![
        ("/school/lessons/new", get(new_lesson)),
        ("/school/lessons", post(book_lesson)),
        ("/school/lessons/{id}/cancel", get(cancel_form).post(cancel_lesson)),
    ]
}

/// What instructors post.
pub fn teaching_routes() -> Routes {
    vec![("/school/lessons/{id}/outcome", post(record))]
}

/// One's own calendar address (instructors and candidates).
pub fn calendar_routes() -> Routes {
    vec![("/calendar-feed", post(calendar_address))]
}

/// Open routes: the calendar feeds (the address's secret is the credential).
pub fn public_routes() -> Routes {
    vec![("/calendar/{file}", get(calendar_feed))]
}

async fn calendar_feed(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    if token.len() > 100 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let body = crate::school::planning::calendar::render(&state.db, token).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

pub(crate) fn local_instant(zone: Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&day.and_time(time)).earliest().map(|t| t.with_timezone(&Utc))
}

/// A lesson as a cell of the board shows it.
#[derive(Debug, Clone)]
pub struct LessonCard {
    pub id: i64,
    pub time: String,
    pub candidate: String,
    pub detail: String,
    pub kind: String,
    pub status: &'static str,
    /// Still to come: a held or past lesson is recorded, not cancelled.
    pub cancellable: bool,
    /// The weather badge (medium or high risk): its class and text.
    pub weather: Option<(&'static str, &'static str)>,
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub lessons: Vec<LessonCard>,
    /// The booking form for this hour, when it is free and the viewer books.
    pub book_url: Option<String>,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Day {
    pub label: String,
    pub is_today: bool,
}

pub(crate) fn kind_label(tr: &i18n::Tr, kind: LessonKind) -> String {
    tr.t(kind.label_key()).to_owned()
}

fn card(tr: &i18n::Tr, l: &Lesson) -> LessonCard {
    let detail = match &l.vehicle_label {
        Some(car) => format!("{} · {car}", l.instructor_name),
        None => l.instructor_name.clone(),
    };
    LessonCard {
        id: l.id,
        time: format!("{}–{}", i18n::local_time(l.starts_at, "%H:%M"), i18n::local_time(l.ends_at, "%H:%M")),
        candidate: l.candidate_name.clone(),
        detail,
        kind: kind_label(tr, l.kind),
        status: l.status.as_str(),
        cancellable: planning::is_cancellable(l.status, l.ends_at, Utc::now()),
        weather: if l.status == LessonStatus::Scheduled {
            crate::school::weather::web::badge(l.weather_risk)
        } else {
            None
        },
    }
}

#[derive(Debug, Default, Deserialize)]
struct BoardQuery {
    /// The day shown first (any day of the week in the week view).
    week: Option<String>,
    /// `day`, `3days` or `week` (the default).
    view: Option<String>,
    instructor_id: Option<String>,
    vehicle_id: Option<String>,
    candidate_id: Option<String>,
}

fn id_param(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse::<i64>().ok()).filter(|id| *id > 0)
}

/// How many days the board shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Day,
    ThreeDays,
    Week,
}

impl Span {
    fn parse(view: Option<&str>) -> Self {
        match view {
            Some("day") => Self::Day,
            Some("3days") => Self::ThreeDays,
            _ => Self::Week,
        }
    }

    const fn days(self) -> i64 {
        match self {
            Self::Day => 1,
            Self::ThreeDays => 3,
            Self::Week => 7,
        }
    }

    const fn code(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::ThreeDays => "3days",
            Self::Week => "week",
        }
    }

    /// The first day shown for `anchor`: itself, or its week's Monday.
    fn first_day(self, anchor: NaiveDate) -> NaiveDate {
        match self {
            Self::Week => anchor - Duration::days(i64::from(anchor.weekday().num_days_from_monday())),
            _ => anchor,
        }
    }
}

/// A lesson in the agenda: the card, where to meet, and what to do with it.
#[derive(Debug, Clone)]
pub struct AgendaItem {
    pub card: LessonCard,
    pub meeting_point: Option<String>,
    /// Started and not yet recorded: its instructor reports on it.
    pub to_report: bool,
}

/// A day of the agenda (phones, and the day and three-day views).
#[derive(Debug, Clone)]
pub struct AgendaDay {
    pub label: String,
    pub is_today: bool,
    pub lessons: Vec<AgendaItem>,
    /// The booking form for this day, when the viewer books.
    pub book_url: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/planning/board.html")]
struct BoardPage {
    page: PageCtx,
    title: String,
    /// The week grid (week view only).
    days: Vec<Day>,
    /// One row per hour: its label and a cell per day.
    rows: Vec<(String, Vec<Cell>)>,
    agenda: Vec<AgendaDay>,
    view: &'static str,
    /// The other views of the same days: (code, label key, link).
    views: Vec<(&'static str, &'static str, String)>,
    filters: Vec<(&'static str, &'static str, Vec<SelectOption>)>,
    week: String,
    previous_week: String,
    next_week: String,
    this_week: String,
    can_book: bool,
    /// What the school must add before lessons can be booked (message key and
    /// where), instead of a grid of hours nobody can fill.
    missing: Option<(&'static str, &'static str)>,
    /// Instructors in view without weekly hours (id, name): the grid offers them no
    /// hour, and says why.
    without_hours: Vec<(i64, String)>,
}

/// The school's people and cars to choose from (the first 500 candidates by id).
async fn choices(caller: &Caller) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let teachers = instructors::list(&caller.db, caller.org)
        .await?
        .into_iter()
        .filter(|i| i.active)
        .map(|i| (i.id, i.full_name()))
        .collect();
    let cars = vehicles::list(&caller.db, caller.org)
        .await?
        .into_iter()
        .filter(|v| v.active)
        .map(|v| (v.vehicle_id, v.label()))
        .collect();
    let people = candidate_list(caller, &CandidateFilter::default()).await?;
    Ok((teachers, cars, people))
}

async fn planning_board(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<BoardQuery>) -> WebResult<Response> {
    let org = caller.org;
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let zone = organizations::zone(&caller.db, org).await?;
    let today = Utc::now().with_timezone(&zone).date_naive();
    // A date far outside any school's life (year 262143…) would overflow the week's arithmetic.
    let anchor = query
        .week
        .as_deref()
        .and_then(|w| w.parse::<NaiveDate>().ok())
        .filter(|d| (1970..=2200).contains(&d.year()))
        .unwrap_or(today);
    let span = Span::parse(query.view.as_deref());
    let first = span.first_day(anchor);
    let midnight = NaiveTime::MIN;
    let (Some(from), Some(to)) =
        (local_instant(zone, first, midnight), local_instant(zone, first + Duration::days(span.days()), midnight))
    else {
        return Err(AppError::BadRequest("week".into()).into());
    };
    let instructor_id = id_param(query.instructor_id.as_deref());
    let vehicle_id = id_param(query.vehicle_id.as_deref());
    let candidate_id = id_param(query.candidate_id.as_deref());
    let filter = LessonFilter {
        from: Some(from),
        to: Some(to),
        instructor_id,
        vehicle_id,
        candidate_id,
        include_cancelled: false,
    };
    let lessons = planning::list(&caller.db, org, viewer, &filter).await?;
    let can_book = viewer == Viewer::School && page.may(Permission::SchoolWrite);

    let tr = page.tr;
    // The board's filters, carried by its booking links and its week links.
    let selection: Vec<(&str, String)> =
        [("instructor_id", instructor_id), ("vehicle_id", vehicle_id), ("candidate_id", candidate_id)]
            .into_iter()
            .filter_map(|(name, value)| value.map(|id| (name, id.to_string())))
            .collect();
    let mut missing = None;
    let mut teaching = Vec::new();
    let mut names: Vec<(i64, String)> = Vec::new();
    let filters = if viewer == Viewer::School {
        let (teachers, cars, people) = choices(&caller).await?;
        // Lessons already booked stay on the board whatever is missing.
        missing = if !lessons.is_empty() {
            None
        } else if teachers.is_empty() {
            Some(("school.planning_no_instructor", "/school/instructors"))
        } else if people.is_empty() {
            Some(("school.planning_no_candidate", "/school/candidates/new"))
        } else {
            None
        };
        names = teachers.iter().filter(|(id, _)| instructor_id.is_none_or(|i| i == *id)).cloned().collect();
        teaching = names.iter().map(|(id, _)| *id).collect();
        vec![
            (
                "instructor_id",
                "lesson.instructor",
                id_options(Some(tr.t("school.all_instructors")), instructor_id, teachers),
            ),
            ("vehicle_id", "lesson.vehicle", id_options(Some(tr.t("school.all_vehicles")), vehicle_id, cars)),
            ("candidate_id", "lesson.candidate", id_options(Some(tr.t("school.all_candidates")), candidate_id, people)),
        ]
    } else {
        Vec::new()
    };
    let mut without_hours = Vec::new();
    // Who in view teaches when, over the days shown: "+" and "book this day" only there.
    let shown_last = first + Duration::days(span.days() - 1);
    let hours =
        if can_book { Some(instructors::teaching(&caller.db, &teaching, (first, shown_last)).await?) } else { None };
    let (days, rows) = if span == Span::Week {
        let days = (0..7)
            .map(|d| {
                let day = first + Duration::days(d);
                Day {
                    label: format!("{} {}", tr.t(weekday_key(day.weekday())), day.format("%d/%m")),
                    is_today: day == today,
                }
            })
            .collect();
        if let Some(hours) = &hours {
            without_hours = names.into_iter().filter(|(id, _)| !hours.has_hours(*id)).collect();
        }
        let booking = hours.as_ref().map(|hours| (selection.as_slice(), hours));
        (days, board_rows(&tr, zone, first, &lessons, booking))
    } else {
        (Vec::new(), Vec::new())
    };
    let booking = hours.as_ref().map(|hours| (selection.as_slice(), hours));
    let agenda = agenda(&tr, (zone, first, span.days(), today), &lessons, (viewer, booking));
    let selection = serde_urlencoded::to_string(&selection).unwrap_or_default();
    let link = |d: NaiveDate, span: Span| format!("/school/planning?view={}&week={d}&{selection}", span.code());
    let views =
        [(Span::Day, "school.view_day"), (Span::ThreeDays, "school.view_3days"), (Span::Week, "school.view_week")]
            .into_iter()
            .map(|(s, label)| {
                (
                    s.code(),
                    label,
                    link(if span == Span::Week { today.max(first).min(first + Duration::days(6)) } else { first }, s),
                )
            })
            .collect();
    let title = match span {
        Span::Week => tr.f("school.week_of", "day", &i18n::date(first)),
        Span::Day => day_label(&tr, first),
        Span::ThreeDays => format!("{} – {}", day_label(&tr, first), day_label(&tr, first + Duration::days(2))),
    };
    Ok(BoardPage {
        title,
        days,
        rows,
        agenda,
        view: span.code(),
        views,
        filters,
        week: first.to_string(),
        previous_week: link(first - Duration::days(span.days()), span),
        next_week: link(first + Duration::days(span.days()), span),
        this_week: link(today, span),
        can_book,
        missing,
        without_hours,
        page,
    }
    .into_response())
}

/// "Mar. 08/12": a day as the agenda and the titles name it.
fn day_label(tr: &i18n::Tr, day: NaiveDate) -> String {
    format!("{} {}", tr.t(weekday_key(day.weekday())), i18n::date(day))
}

/// How the school books from the board: its filters (carried by the booking
/// links) and who in view teaches when.
type Booking<'a> = (&'a [(&'a str, String)], &'a instructors::Teaching);

/// The days from `first` (`count` of them), each with its lessons in order; the
/// viewer's instructor reports on their started lessons, the school books.
fn agenda(
    tr: &i18n::Tr,
    (zone, first, count, today): (Tz, NaiveDate, i64, NaiveDate),
    lessons: &[Lesson],
    (viewer, booking): (Viewer, Option<Booking<'_>>),
) -> Vec<AgendaDay> {
    let now = Utc::now();
    (0..count)
        .map(|d| {
            let day = first + Duration::days(d);
            let lessons = lessons
                .iter()
                .filter(|l| l.starts_at.with_timezone(&zone).date_naive() == day)
                .map(|l| AgendaItem {
                    card: card(tr, l),
                    meeting_point: l.meeting_point.clone(),
                    to_report: matches!(viewer, Viewer::Instructor(_))
                        && l.status == LessonStatus::Scheduled
                        && l.starts_at <= now,
                })
                .collect();
            // A day some instructor in view teaches, from today on.
            let teaches = |hours: &instructors::Teaching| (FIRST_HOUR..=LAST_HOUR).any(|h| hours.covers(day, h));
            let book_url = booking.filter(|(_, hours)| day >= today && teaches(hours)).map(|(selection, _)| {
                let mut params = vec![("date", day.to_string())];
                params.extend(selection.iter().cloned());
                format!("/school/lessons/new?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
            });
            AgendaDay { label: day_label(tr, day), is_today: day == today, lessons, book_url }
        })
        .collect()
}

/// The week's hours, one row each, with the lessons starting in each hour of each
/// day; a free hour still to come in which an instructor in view teaches links to
/// the booking form, with the board's filters (`booking`: `None` when the viewer
/// does not book).
fn board_rows(
    tr: &i18n::Tr,
    zone: Tz,
    monday: NaiveDate,
    lessons: &[Lesson],
    booking: Option<Booking<'_>>,
) -> Vec<(String, Vec<Cell>)> {
    let mut rows = Vec::new();
    for hour in FIRST_HOUR..=LAST_HOUR {
        let mut cells = Vec::with_capacity(7);
        for d in 0..7 {
            let day = monday + Duration::days(d);
            let start = NaiveTime::from_hms_opt(hour, 0, 0).and_then(|t| local_instant(zone, day, t));
            let end = NaiveTime::from_hms_opt(hour + 1, 0, 0).map_or_else(
                || local_instant(zone, day + Duration::days(1), NaiveTime::MIN),
                |t| local_instant(zone, day, t),
            );
            let (Some(start), Some(end)) = (start, end) else { continue };
            let starting: Vec<LessonCard> =
                lessons.iter().filter(|l| l.starts_at >= start && l.starts_at < end).map(|l| card(tr, l)).collect();
            let busy = lessons.iter().any(|l| l.starts_at < end && l.ends_at > start);
            let free = |hours: &instructors::Teaching| !busy && start > Utc::now() && hours.covers(day, hour);
            let book_url = booking.filter(|(_, hours)| free(hours)).map(|(selection, _)| {
                let mut params = vec![("date", day.to_string()), ("start", format!("{hour:02}:00"))];
                params.extend(selection.iter().cloned());
                format!("/school/lessons/new?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
            });
            let label = format!("{} {}, {hour:02}:00", tr.t(weekday_key(day.weekday())), day.format("%d/%m"));
            cells.push(Cell { lessons: starting, book_url, label });
        }
        rows.push((format!("{hour:02}:00"), cells));
    }
    rows
}

fn weekday_key(day: chrono::Weekday) -> &'static str {
    match day {
        chrono::Weekday::Mon => "day.mon",
        chrono::Weekday::Tue => "day.tue",
        chrono::Weekday::Wed => "day.wed",
        chrono::Weekday::Thu => "day.thu",
        chrono::Weekday::Fri => "day.fri",
        chrono::Weekday::Sat => "day.sat",
        chrono::Weekday::Sun => "day.sun",
    }
}

/// The booking form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LessonForm {
    pub candidate_id: String,
    pub instructor_id: String,
    pub vehicle_id: String,
    pub kind: String,
    pub date: String,
    pub start: String,
    pub end: String,
    pub meeting_point: String,
}

impl LessonForm {
    fn to_input(&self, zone: Tz) -> (LessonInput, FormErrors) {
        let mut errors = FormErrors::default();
        let tr = i18n::current();
        let day = self.date.trim().parse::<NaiveDate>().ok();
        if day.is_none() {
            errors.add("date", Msg::new("field.required").render(tr));
        }
        let at = |field: &str, value: &str, errors: &mut FormErrors| {
            let time = NaiveTime::parse_from_str(value.trim(), "%H:%M").ok();
            if time.is_none() {
                errors.add(field, Msg::new("school.time_invalid").render(tr));
            }
            day.zip(time).and_then(|(d, t)| local_instant(zone, d, t)).map(|t| t.fixed_offset())
        };
        let starts_at = at("start", &self.start, &mut errors);
        let ends_at = at("end", &self.end, &mut errors);
        let input = LessonInput {
            candidate_id: id_param(Some(&self.candidate_id)),
            instructor_id: id_param(Some(&self.instructor_id)),
            vehicle_id: id_param(Some(&self.vehicle_id)),
            kind: LessonKind::parse(self.kind.trim()),
            starts_at,
            ends_at,
            meeting_point: Some(self.meeting_point.clone()),
        };
        (input, errors)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/planning/lesson_form.html")]
struct LessonFormPage {
    page: PageCtx,
    form: LessonForm,
    errors: FormErrors,
    candidates: Vec<SelectOption>,
    instructors: Vec<SelectOption>,
    vehicles: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    back: String,
    /// When a booking is refused: the next hours free for the instructor and the
    /// candidate (label, prefilled form).
    suggestions: Vec<(String, String)>,
    /// The school's meeting points, suggested as the field is typed.
    meeting_points: Vec<String>,
}

async fn form_page(
    caller: &Caller,
    page: PageCtx,
    form: LessonForm,
    errors: FormErrors,
) -> Result<LessonFormPage, AppError> {
    let (teachers, cars, people) = choices(caller).await?;
    let tr = page.tr;
    let kinds = LessonKind::ALL
        .into_iter()
        .map(|k| SelectOption {
            value: k.as_str().to_owned(),
            label: kind_label(&tr, k),
            selected: form.kind == k.as_str(),
        })
        .collect();
    let pick = |items, value: &str, placeholder: &str| id_options(Some(placeholder), id_param(Some(value)), items);
    let back = match form.date.parse::<NaiveDate>() {
        Ok(day) => format!("/school/planning?week={day}"),
        Err(_) => "/school/planning".to_owned(),
    };
    Ok(LessonFormPage {
        candidates: pick(people, &form.candidate_id, tr.t("school.choose")),
        instructors: pick(teachers, &form.instructor_id, tr.t("school.choose")),
        vehicles: pick(cars, &form.vehicle_id, tr.t("school.no_vehicle")),
        kinds,
        back,
        suggestions: Vec::new(),
        meeting_points: crate::school::meeting_points::service::names(&caller.db, caller.org).await?,
        page,
        form,
        errors,
    })
}

#[derive(Debug, Default, Deserialize)]
struct NewLessonQuery {
    date: Option<String>,
    start: Option<String>,
    instructor_id: Option<String>,
    vehicle_id: Option<String>,
    candidate_id: Option<String>,
}

async fn new_lesson(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<NewLessonQuery>,
) -> WebResult<LessonFormPage> {
    let start =
        query.start.as_deref().and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok()).unwrap_or(NaiveTime::MIN);
    let end = start + Duration::hours(1);
    // A driving lesson needs a car: the one the instructor drove last, else the
    // school's only one.
    let vehicle_id = match (query.vehicle_id.filter(|v| !v.trim().is_empty()), id_param(query.instructor_id.as_deref()))
    {
        (Some(chosen), _) => chosen,
        (None, instructor) => default_car(&caller, instructor).await?.map(|id| id.to_string()).unwrap_or_default(),
    };
    let form = LessonForm {
        candidate_id: query.candidate_id.unwrap_or_default(),
        instructor_id: query.instructor_id.unwrap_or_default(),
        vehicle_id,
        kind: LessonKind::Driving.as_str().to_owned(),
        date: query.date.unwrap_or_default(),
        start: start.format("%H:%M").to_string(),
        end: if end.hour() == 0 { "23:59".to_owned() } else { end.format("%H:%M").to_string() },
        meeting_point: String::new(),
    };
    Ok(form_page(&caller, page, form, FormErrors::default()).await?)
}

/// The car a new driving lesson starts with, if one is obvious.
async fn default_car(caller: &Caller, instructor: Option<i64>) -> Result<Option<i64>, AppError> {
    let active: Vec<i64> =
        vehicles::list(&caller.db, caller.org).await?.into_iter().filter(|v| v.active).map(|v| v.vehicle_id).collect();
    if let Some(instructor) = instructor
        && let Some(last) = planning::last_car_of(&caller.db, caller.org, instructor).await?
        && active.contains(&last)
    {
        return Ok(Some(last));
    }
    Ok(if active.len() == 1 { active.first().copied() } else { None })
}

async fn book_lesson(caller: Caller, page: PageCtx, FormBody(form): FormBody<LessonForm>) -> WebResult<Response> {
    let zone = organizations::zone(&caller.db, caller.org).await?;
    let (input, mut errors) = form.to_input(zone);
    if errors.is_empty() {
        match planning::book(&caller.db, &caller.actor, &input).await {
            Ok(lesson) => {
                let day = lesson.starts_at.with_timezone(&zone).date_naive();
                let message = i18n::current().format(
                    "school.booked",
                    &[("candidate", &lesson.candidate_name), ("day", &i18n::local_date_time(lesson.starts_at))],
                );
                let url = format!("/school/planning?week={day}&instructor_id={}", lesson.instructor_id);
                return Ok(redirect_with_flash(&url, "success", &message));
            }
            Err(err) => errors = FormErrors::from_app_error(rename_fields(err))?,
        }
    }
    let suggestions = match (input.candidate_id, input.instructor_id) {
        (Some(candidate), Some(instructor)) if !errors.is_empty() => {
            next_free(&caller, &form, (candidate, instructor), zone).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let mut page = form_page(&caller, page, form, errors).await?;
    page.suggestions = suggestions;
    Ok(unprocessable(page))
}

/// The next free hours of the instructor and the candidate, each a link to the
/// form filled as it was, at that time.
async fn next_free(
    caller: &Caller,
    form: &LessonForm,
    who: (i64, i64),
    zone: Tz,
) -> Result<Vec<(String, String)>, AppError> {
    let slots = crate::school::planning::slots::free_slots_with(&caller.db, caller.org, who, Utc::now()).await?;
    Ok(slots
        .into_iter()
        .take(6)
        .map(|slot| {
            let (start, end) = (slot.starts_at.with_timezone(&zone), slot.ends_at.with_timezone(&zone));
            let params = [
                ("date", start.date_naive().to_string()),
                ("start", start.format("%H:%M").to_string()),
                ("end", end.format("%H:%M").to_string()),
                ("candidate_id", form.candidate_id.clone()),
                ("instructor_id", form.instructor_id.clone()),
                ("vehicle_id", form.vehicle_id.clone()),
            ];
            let label =
                format!("{} {}–{}", i18n::local_date(slot.starts_at), start.format("%H:%M"), end.format("%H:%M"));
            (label, format!("/school/lessons/new?{}", serde_urlencoded::to_string(params).unwrap_or_default()))
        })
        .collect())
}

/// The form's field names for the API's (`starts_at` is typed as `start`).
fn rename_fields(err: AppError) -> AppError {
    let rename = |field: &str| {
        match field {
            "starts_at" => "start",
            "ends_at" => "end",
            other => other,
        }
        .to_owned()
    };
    match err {
        AppError::Validation(errors) => AppError::Validation(
            errors.into_iter().map(|e| crate::platform::error::FieldError::new(rename(&e.field), e.message)).collect(),
        ),
        AppError::Conflict { code, field: Some("starts_at"), message } => {
            AppError::Conflict { code, field: Some("start"), message }
        }
        AppError::Conflict { code, field: Some("ends_at"), message } => {
            AppError::Conflict { code, field: Some("end"), message }
        }
        AppError::ConflictWith { code, field: Some("starts_at"), message, with_id } => {
            AppError::ConflictWith { code, field: Some("start"), message, with_id }
        }
        AppError::ConflictWith { code, field: Some("ends_at"), message, with_id } => {
            AppError::ConflictWith { code, field: Some("end"), message, with_id }
        }
        other => other,
    }
}

/// The cancellation as typed: who, why, and whether to charge.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CancelForm {
    cancelled_by: String,
    reason: String,
    waive_fee: Option<String>,
}

/// Cancelling asks who and why, and says whether it will be charged.
#[derive(Template, WebTemplate)]
#[template(path = "school/planning/cancel.html")]
struct CancelPage {
    page: PageCtx,
    lesson: Lesson,
    when: String,
    /// Inside the school's notice: a candidate's cancellation is charged.
    late: bool,
    notice_hours: i32,
    by: Vec<SelectOption>,
    form_reason: String,
    errors: FormErrors,
}

async fn cancel_page(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    form: CancelForm,
    errors: FormErrors,
) -> Result<CancelPage, AppError> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let lesson = planning::get(&caller.db, caller.org, viewer, id).await?;
    let rules = crate::school::settings::service::get(&caller.db, caller.org).await?;
    let late = planning::is_late_cancellation(Utc::now(), lesson.starts_at, rules.cancellation_notice_hours);
    let when = format!(
        "{} {}–{}",
        i18n::local_date(lesson.starts_at),
        i18n::local_time(lesson.starts_at, "%H:%M"),
        i18n::local_time(lesson.ends_at, "%H:%M")
    );
    let by = options(
        Some(page.tr.t("school.choose")),
        &form.cancelled_by,
        CancelledBy::ALL.map(|b| (b.as_str().to_owned(), page.tr.t(b.label_key()).to_owned())),
    );
    Ok(CancelPage {
        page,
        lesson,
        when,
        late,
        notice_hours: rules.cancellation_notice_hours,
        by,
        form_reason: form.reason,
        errors,
    })
}

async fn cancel_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<CancelPage> {
    Ok(cancel_page(&caller, page, id, CancelForm::default(), FormErrors::default()).await?)
}

async fn cancel_lesson(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<CancelForm>,
) -> WebResult<Response> {
    // On a page, who cancels and why are asked, not assumed.
    let tr = page.tr;
    let mut errors = FormErrors::default();
    let by = CancelledBy::parse(form.cancelled_by.trim());
    if by.is_none() {
        errors.add("cancelled_by", tr.t("field.required").to_owned());
    }
    if form.reason.trim().is_empty() {
        errors.add("reason", tr.t("field.required").to_owned());
    }
    if !errors.is_empty() {
        return Ok(unprocessable(cancel_page(&caller, page, id, form, errors).await?));
    }
    let input =
        CancelInput { reason: Some(form.reason.clone()), cancelled_by: by, waive_fee: Some(form.waive_fee.is_some()) };
    let lesson = match planning::cancel(&caller.db, &caller.actor, id, &input).await {
        Ok(lesson) => lesson,
        Err(AppError::Validation(fields)) => {
            let errors = FormErrors::from_app_error(AppError::Validation(fields))?;
            return Ok(unprocessable(cancel_page(&caller, page, id, form, errors).await?));
        }
        Err(err) => return refusal_to_flash(&format!("/school/lessons/{id}"), err),
    };
    let zone = organizations::zone(&caller.db, caller.org).await?;
    let day = lesson.starts_at.with_timezone(&zone).date_naive();
    let key = match (lesson.late_cancellation, lesson.fee_waived) {
        (true, _) => "school.cancelled_late",
        (false, true) => "school.cancelled_waived",
        (false, false) => "school.cancelled",
    };
    Ok(redirect_with_flash(&format!("/school/planning?week={day}"), "success", tr.t(key)))
}

/// A new private calendar address for the signed-in instructor or candidate, shown once.
/// The private address of one's calendar, shown once: a one-tap `webcal://`
/// subscription and the address to copy (never cached: it is a credential).
#[derive(Template, WebTemplate)]
#[template(path = "school/planning/calendar_feed.html")]
struct CalendarFeedPage {
    page: PageCtx,
    url: String,
    webcal: String,
    back: &'static str,
}

async fn calendar_address(
    caller: Caller,
    page: PageCtx,
    client: crate::platform::proxy::ClientContext,
) -> WebResult<Response> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let back = if matches!(viewer, Viewer::Candidate(_)) { "/portal" } else { "/school/planning" };
    let public_url = client.public_url(&caller.config);
    match crate::school::planning::calendar::create(&caller.db, &caller.actor, viewer, &public_url).await {
        Ok(feed) => {
            let webcal = webcal(&feed.url);
            let shown = CalendarFeedPage { page, url: feed.url, webcal, back };
            Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], shown).into_response())
        }
        Err(err) => refusal_to_flash(back, err),
    }
}

/// The `webcal://` form of a feed's address, which phones open in their calendar.
fn webcal(url: &str) -> String {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or(url);
    format!("webcal://{rest}")
}

#[derive(Template, WebTemplate)]
#[template(path = "school/planning/lesson.html")]
struct LessonPage {
    page: PageCtx,
    lesson: Lesson,
    when: String,
    kind: String,
    status: String,
    can_record: bool,
    can_cancel: bool,
    /// The move form's current values: day, start, end (school's time).
    moving: (String, String, String),
    grid: Vec<CompetencyProgress>,
    errors: FormErrors,
    notes: String,
    /// The forecast's risk, what makes it, and when it was given.
    weather: Option<LessonWeatherView>,
    /// Why no forecast is shown for a coming driving lesson.
    weather_note: Option<&'static str>,
}

/// A lesson's weather as its page shows it.
struct LessonWeatherView {
    risk: crate::school::weather::service::RiskLevel,
    summary: String,
    forecast_at: String,
    /// The cancellation's reason, written for the candidate.
    cancel_reason: String,
}

async fn page_for(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    errors: FormErrors,
    notes: String,
) -> Result<LessonPage, crate::platform::error::AppError> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let lesson = planning::get(&caller.db, caller.org, viewer, id).await?;
    let tr = page.tr;
    let scheduled = lesson.status == LessonStatus::Scheduled;
    let can_record = scheduled
        && lesson.starts_at <= Utc::now()
        && matches!(viewer, Viewer::School | Viewer::Instructor(_))
        && page.may(Permission::Teaching);
    let can_cancel = planning::is_cancellable(lesson.status, lesson.ends_at, Utc::now())
        && viewer == Viewer::School
        && page.may(Permission::SchoolWrite);
    let grid = if can_record { progress::grid_of(&caller.db, lesson.candidate_id).await? } else { Vec::new() };
    let coming = scheduled && lesson.ends_at > Utc::now() && lesson.kind != LessonKind::Theory;
    let mut weather = None;
    let mut weather_note = None;
    if coming {
        let found = crate::school::weather::service::of_lessons(&caller.db, caller.org, &[id]).await?.remove(&id);
        let locale = i18n::current();
        weather = found.map(|w| {
            let summary = w.summary(locale);
            let cancel_reason = if summary.is_empty() {
                tr.t("weather.cancel_reason_plain").to_owned()
            } else {
                tr.f("weather.cancel_reason", "weather", &summary)
            };
            LessonWeatherView {
                risk: w.risk,
                forecast_at: format!(
                    "{} {}",
                    i18n::local_date(w.forecast_at),
                    i18n::local_time(w.forecast_at, "%H:%M")
                ),
                summary,
                cancel_reason,
            }
        });
        if weather.is_none() {
            weather_note = Some(if caller.config.geo.weather_url.is_none() {
                "weather.no_service_short"
            } else if !crate::school::weather::service::settings(&caller.db, caller.org).await?.enabled {
                "weather.disabled_short"
            } else {
                "weather.not_yet"
            });
        }
    }
    Ok(LessonPage {
        weather,
        weather_note,
        when: format!(
            "{} {}–{}",
            i18n::local_date(lesson.starts_at),
            i18n::local_time(lesson.starts_at, "%H:%M"),
            i18n::local_time(lesson.ends_at, "%H:%M")
        ),
        kind: kind_label(&tr, lesson.kind),
        status: tr.t(lesson.status.label_key()).to_owned(),
        can_record,
        can_cancel,
        moving: (
            i18n::local_time(lesson.starts_at, "%Y-%m-%d"),
            i18n::local_time(lesson.starts_at, "%H:%M"),
            i18n::local_time(lesson.ends_at, "%H:%M"),
        ),
        grid,
        errors,
        notes,
        lesson,
        page,
    })
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<LessonPage> {
    Ok(page_for(&caller, page, id, FormErrors::default(), String::new()).await?)
}

/// The outcome form: status, notes, and a level for each item assessed (`level_C1a`…; blank = not assessed).
async fn record(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(fields): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let status = LessonStatus::parse(value("status").trim());
    let notes = value("notes");
    let assessments: Vec<Assessment> = fields
        .iter()
        .filter_map(|(k, v)| {
            let item = k.strip_prefix("level_")?;
            let level = v.trim().parse::<i16>().ok()?;
            Some(Assessment { item: item.to_owned(), level, comment: None })
        })
        .collect();
    let input = OutcomeInput { status, notes: Some(notes.clone()), progress: assessments };
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    match planning::record_outcome(&caller.db, &caller.actor, viewer, id, &input).await {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/school/lessons/{id}"),
            "success",
            i18n::current().text("lesson.recorded"),
        )),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(page_for(&caller, page, id, errors, notes).await?))
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct MoveForm {
    date: String,
    start: String,
    end: String,
}

/// Moves a lesson to another day or time (every rule checked again); a refusal
/// comes back as the page's message.
async fn move_lesson(caller: Caller, Id(id): Id, FormBody(form): FormBody<MoveForm>) -> WebResult<Response> {
    let zone = organizations::zone(&caller.db, caller.org).await?;
    let back = format!("/school/lessons/{id}");
    let day = form.date.trim().parse::<chrono::NaiveDate>().ok();
    let at = |text: &str| {
        let time = chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()?;
        local_instant(zone, day?, time).map(|t| t.fixed_offset())
    };
    let input =
        planning::MoveInput { starts_at: at(&form.start), ends_at: at(&form.end), ..planning::MoveInput::default() };
    let tr = i18n::current();
    match planning::move_lesson(&caller.db, &caller.actor, id, &input).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", tr.text("lesson.moved"))),
        Err(err) => refusal_to_flash(&back, err),
    }
}
