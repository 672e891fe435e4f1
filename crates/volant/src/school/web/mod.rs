//! School pages (French UI): the planning board (a week per instructor, car or
//! candidate, booking from a free slot), the booking form, and the candidate's
//! portal.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

pub mod candidate_pages;
pub mod exam_pages;
pub mod lesson_pages;
pub mod message_pages;
pub mod report_pages;
pub mod result_pages;
pub mod staff_pages;

use crate::fleet::vehicles::web::SelectOption;
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::Routes;
use crate::identity::organizations::service as organizations;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::pagination::PageRequest;
use crate::platform::tenant::OrgId;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::school::access::Viewer;
use crate::school::exams::service::{self as exams, ExamResult, ResultStatus};
use crate::school::people::candidates::{self, CandidateFilter};
use crate::school::people::{instructors, vehicles};
use crate::school::planning::service::{
    self as planning, CancelInput, Hours, Lesson, LessonFilter, LessonInput, LessonKind, LessonStatus, format_duration,
};

/// The hours the planning board shows.
const FIRST_HOUR: u32 = 7;
const LAST_HOUR: u32 = 20;

/// The planning board and a lesson's page: everyone with a place in the school
/// reads them (each sees their own lessons).
pub fn planning_routes() -> Routes {
    let mut routes: Routes = vec![("/school/planning", get(planning_board))];
    routes.extend(lesson_pages::routes());
    routes
}

/// Booking and cancelling lessons (the staff): the booking form lists every
/// candidate, instructor and training car, so reading it needs the right to book.
pub fn booking_routes() -> Routes {
    vec![
        ("/school/lessons/new", get(new_lesson)),
        ("/school/lessons", post(book_lesson)),
        ("/school/lessons/{id}/cancel", post(cancel_lesson)),
    ]
}

/// The school's files: candidates, instructors, cars, exams, reports (staff).
pub fn staff_routes() -> Routes {
    let mut routes = candidate_pages::routes();
    routes.extend(exam_pages::routes());
    routes.extend(report_pages::routes());
    routes.extend(staff_pages::routes());
    routes
}

/// Everyone with a place in the school: the portal, messages, one's calendar address.
pub fn portal_routes() -> Routes {
    let mut routes: Routes = vec![
        ("/portal", get(portal)),
        ("/portal/book", post(portal_book)),
        ("/portal/request", post(portal_request)),
        ("/calendar-feed", post(calendar_address)),
    ];
    routes.extend(message_pages::routes());
    routes
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

pub(crate) async fn zone_of(state: &AppState, org: OrgId) -> Result<Tz, AppError> {
    Ok(organizations::get(&state.db, org).await?.time_zone.parse::<Tz>().unwrap_or(chrono_tz::Europe::Paris))
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
    tr.t(match kind {
        LessonKind::Driving => "lesson.kind.driving",
        LessonKind::Theory => "lesson.kind.theory",
        LessonKind::MockExam => "lesson.kind.mock_exam",
    })
    .to_owned()
}

pub(crate) fn status_label_key(status: LessonStatus) -> &'static str {
    match status {
        LessonStatus::Scheduled => "lesson.status.scheduled",
        LessonStatus::Done => "lesson.status.done",
        LessonStatus::Cancelled => "lesson.status.cancelled",
        LessonStatus::NoShow => "lesson.status.no_show",
    }
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
    }
}

#[derive(Debug, Default, Deserialize)]
struct BoardQuery {
    week: Option<String>,
    instructor_id: Option<String>,
    vehicle_id: Option<String>,
    candidate_id: Option<String>,
}

fn id_param(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse::<i64>().ok()).filter(|id| *id > 0)
}

#[derive(Template, WebTemplate)]
#[template(path = "school/planning.html")]
struct BoardPage {
    page: PageCtx,
    title: String,
    days: Vec<Day>,
    /// One row per hour: its label and a cell per day.
    rows: Vec<(String, Vec<Cell>)>,
    filters: Vec<(&'static str, &'static str, Vec<SelectOption>)>,
    week: String,
    previous_week: String,
    next_week: String,
    this_week: String,
    can_book: bool,
}

pub(crate) fn options(items: Vec<(i64, String)>, selected: Option<i64>, placeholder: &str) -> Vec<SelectOption> {
    let mut options =
        vec![SelectOption { value: String::new(), label: placeholder.to_owned(), selected: selected.is_none() }];
    options.extend(items.into_iter().map(|(id, label)| SelectOption {
        value: id.to_string(),
        label,
        selected: selected == Some(id),
    }));
    options
}

/// A refusal the user can act on (a conflict, invalid input) shown as an error
/// message on the page they are sent back to; anything else stays an error page.
pub(crate) fn refusal_flash(back: &str, err: AppError) -> WebResult<Response> {
    let tr = i18n::current();
    let text = match err {
        AppError::Conflict { message, .. } | AppError::ConflictWith { message, .. } => message.render(tr),
        AppError::Validation(errors) => errors.iter().map(|e| e.message.render(tr)).collect::<Vec<_>>().join(" "),
        other => return Err(other.into()),
    };
    Ok(redirect_with_flash(back, "error", &text))
}

/// The sign-in account a form links by its e-mail: none for an empty field; a
/// field error when no account of the organization has that address.
pub(crate) async fn linked_account(
    state: &AppState,
    org: OrgId,
    email: &str,
    errors: &mut FormErrors,
) -> Result<Option<i64>, AppError> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let found = match crate::platform::validate::check_email(email) {
        Ok(email) => crate::identity::users::service::account_of(&state.db, &email).await?,
        Err(_) => None,
    };
    match found {
        Some((account_org, id)) if account_org == org => Ok(Some(id)),
        _ => {
            errors.add("account_email", Msg::new("school.account_unknown").render(i18n::current()));
            Ok(None)
        }
    }
}

/// Candidates to choose from (the first 500 matching, by id), sorted by name.
pub(crate) async fn candidate_list(
    state: &AppState,
    org: OrgId,
    filter: &CandidateFilter,
) -> Result<Vec<(i64, String)>, AppError> {
    let mut people: Vec<(i64, String)> = candidates::list(&state.db, org, filter, PageRequest::first(500))
        .await?
        .items
        .into_iter()
        .map(|c| (c.id, format!("{} {} ({})", c.last_name, c.first_name, c.number)))
        .collect();
    people.sort_by_key(|p| p.1.to_lowercase());
    Ok(people)
}

/// The school's people and cars to choose from (the first 500 candidates by id).
async fn choices(
    state: &AppState,
    org: OrgId,
) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let teachers = instructors::list(&state.db, org)
        .await?
        .into_iter()
        .filter(|i| i.active)
        .map(|i| (i.id, i.full_name()))
        .collect();
    let cars = vehicles::list(&state.db, org)
        .await?
        .into_iter()
        .filter(|v| v.active)
        .map(|v| (v.vehicle_id, v.label()))
        .collect();
    let people = candidate_list(state, org, &CandidateFilter::default()).await?;
    Ok((teachers, cars, people))
}

async fn planning_board(
    State(state): State<AppState>,
    current: CurrentUser,
    page: PageCtx,
    ApiQuery(query): ApiQuery<BoardQuery>,
) -> WebResult<Response> {
    let org = current.user.org;
    let viewer = Viewer::of(&state.db, &current).await?;
    let zone = zone_of(&state, org).await?;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let anchor = query.week.as_deref().and_then(|w| w.parse::<NaiveDate>().ok()).unwrap_or(today);
    let monday = anchor - Duration::days(i64::from(anchor.weekday().num_days_from_monday()));
    let midnight = NaiveTime::MIN;
    let (Some(from), Some(to)) =
        (local_instant(zone, monday, midnight), local_instant(zone, monday + Duration::days(7), midnight))
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
    let lessons = planning::list(&state.db, org, viewer, &filter).await?;
    let can_book = viewer == Viewer::School && page.can_edit_school;

    let tr = page.tr;
    let days: Vec<Day> = (0..7)
        .map(|d| {
            let day = monday + Duration::days(d);
            Day {
                label: format!("{} {}", tr.t(weekday_key(day.weekday())), day.format("%d/%m")),
                is_today: day == today,
            }
        })
        .collect();
    let mut rows = Vec::new();
    for hour in FIRST_HOUR..=LAST_HOUR {
        let mut cells = Vec::with_capacity(7);
        for d in 0..7 {
            let day = monday + Duration::days(d);
            let start = NaiveTime::from_hms_opt(hour, 0, 0).and_then(|t| local_instant(zone, day, t));
            let end = NaiveTime::from_hms_opt(hour + 1, 0, 0).map_or_else(
                || local_instant(zone, day + Duration::days(1), midnight),
                |t| local_instant(zone, day, t),
            );
            let (Some(start), Some(end)) = (start, end) else { continue };
            let starting: Vec<LessonCard> =
                lessons.iter().filter(|l| l.starts_at >= start && l.starts_at < end).map(|l| card(&tr, l)).collect();
            let busy = lessons.iter().any(|l| l.starts_at < end && l.ends_at > start);
            let book_url = (can_book && !busy && start > Utc::now()).then(|| {
                let mut params = vec![("date", day.to_string()), ("start", format!("{hour:02}:00"))];
                for (name, value) in
                    [("instructor_id", instructor_id), ("vehicle_id", vehicle_id), ("candidate_id", candidate_id)]
                {
                    if let Some(id) = value {
                        params.push((name, id.to_string()));
                    }
                }
                format!("/school/lessons/new?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
            });
            let label = format!("{} {}, {hour:02}:00", tr.t(weekday_key(day.weekday())), day.format("%d/%m"));
            cells.push(Cell { lessons: starting, book_url, label });
        }
        rows.push((format!("{hour:02}:00"), cells));
    }

    let filters = if viewer == Viewer::School {
        let (teachers, cars, people) = choices(&state, org).await?;
        vec![
            ("instructor_id", "lesson.instructor", options(teachers, instructor_id, tr.t("school.all_instructors"))),
            ("vehicle_id", "lesson.vehicle", options(cars, vehicle_id, tr.t("school.all_vehicles"))),
            ("candidate_id", "lesson.candidate", options(people, candidate_id, tr.t("school.all_candidates"))),
        ]
    } else {
        Vec::new()
    };
    let mut selection = Vec::new();
    for (name, value) in [("instructor_id", instructor_id), ("vehicle_id", vehicle_id), ("candidate_id", candidate_id)]
    {
        if let Some(id) = value {
            selection.push((name, id.to_string()));
        }
    }
    let selection = serde_urlencoded::to_string(&selection).unwrap_or_default();
    let week_url = |d: NaiveDate| format!("/school/planning?week={d}&{selection}");
    let title = tr.f("school.week_of", "day", &monday.format("%d/%m/%Y").to_string());
    Ok(BoardPage {
        title,
        days,
        rows,
        filters,
        week: monday.to_string(),
        previous_week: week_url(monday - Duration::days(7)),
        next_week: week_url(monday + Duration::days(7)),
        this_week: week_url(today),
        can_book,
        page,
    }
    .into_response())
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
#[template(path = "school/lesson_form.html")]
struct LessonFormPage {
    page: PageCtx,
    form: LessonForm,
    errors: FormErrors,
    candidates: Vec<SelectOption>,
    instructors: Vec<SelectOption>,
    vehicles: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    back: String,
}

async fn form_page(
    state: &AppState,
    org: OrgId,
    page: PageCtx,
    form: LessonForm,
    errors: FormErrors,
) -> Result<LessonFormPage, AppError> {
    let (teachers, cars, people) = choices(state, org).await?;
    let tr = page.tr;
    let kinds = LessonKind::ALL
        .into_iter()
        .map(|k| SelectOption {
            value: k.as_str().to_owned(),
            label: kind_label(&tr, k),
            selected: form.kind == k.as_str(),
        })
        .collect();
    let pick = |items, value: &str, placeholder: &str| options(items, id_param(Some(value)), placeholder);
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
    State(state): State<AppState>,
    current: CurrentUser,
    page: PageCtx,
    ApiQuery(query): ApiQuery<NewLessonQuery>,
) -> WebResult<LessonFormPage> {
    let start =
        query.start.as_deref().and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok()).unwrap_or(NaiveTime::MIN);
    let end = start + Duration::hours(1);
    let form = LessonForm {
        candidate_id: query.candidate_id.unwrap_or_default(),
        instructor_id: query.instructor_id.unwrap_or_default(),
        vehicle_id: query.vehicle_id.unwrap_or_default(),
        kind: LessonKind::Driving.as_str().to_owned(),
        date: query.date.unwrap_or_default(),
        start: start.format("%H:%M").to_string(),
        end: if end.hour() == 0 { "23:59".to_owned() } else { end.format("%H:%M").to_string() },
        meeting_point: String::new(),
    };
    Ok(form_page(&state, current.user.org, page, form, FormErrors::default()).await?)
}

async fn book_lesson(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<LessonForm>,
) -> WebResult<Response> {
    let zone = zone_of(&state, actor.org).await?;
    let (input, mut errors) = form.to_input(zone);
    if errors.is_empty() {
        match planning::book(&state.db, &actor, &input).await {
            Ok(lesson) => {
                let day = lesson.starts_at.with_timezone(&zone).date_naive();
                let message = i18n::current().format(
                    "school.booked",
                    &[
                        ("candidate", &lesson.candidate_name),
                        ("day", &i18n::local_time(lesson.starts_at, "%d/%m/%Y %H:%M")),
                    ],
                );
                let url = format!("/school/planning?week={day}&instructor_id={}", lesson.instructor_id);
                return Ok(redirect_with_flash(&url, "success", &message));
            }
            Err(err) => errors = FormErrors::from_app_error(rename_fields(err))?,
        }
    }
    let page = form_page(&state, actor.org, page, form, errors).await?;
    Ok(unprocessable(page))
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

async fn cancel_lesson(State(state): State<AppState>, actor: Actor, Id(id): Id) -> WebResult<Response> {
    let lesson = planning::cancel(&state.db, &actor, id, &CancelInput::default()).await?;
    let zone = zone_of(&state, actor.org).await?;
    let day = lesson.starts_at.with_timezone(&zone).date_naive();
    let key = if lesson.late_cancellation { "school.cancelled_late" } else { "school.cancelled" };
    let message = i18n::current().text(key).to_owned();
    Ok(redirect_with_flash(&format!("/school/planning?week={day}"), "success", &message))
}

/// A lesson as the portal lists it.
#[derive(Debug, Clone)]
pub struct PortalLesson {
    pub when: String,
    pub kind: String,
    pub instructor: String,
    pub vehicle: String,
    pub meeting_point: String,
    pub status: String,
    pub notes: String,
}

#[derive(Debug, Clone)]
pub struct PortalResult {
    pub exam: String,
    pub taken_on: String,
    pub outcome: String,
    pub passed: bool,
    pub score: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/portal.html")]
struct PortalPage {
    page: PageCtx,
    name: String,
    has_file: bool,
    hours: Vec<(String, String)>,
    upcoming: Vec<PortalLesson>,
    past: Vec<PortalLesson>,
    results: Vec<PortalResult>,
    grid: Vec<crate::school::progress::CompetencyProgress>,
    grid_chart: String,
    /// Free slots by day: the day's label and each slot's (label, RFC 3339 start).
    slots: Vec<(String, Vec<(String, String)>)>,
    may_book: bool,
    /// The notices sent to the candidate: (when, subject).
    notices: Vec<(String, String)>,
}

impl PortalPage {
    fn empty(page: PageCtx, name: String) -> Self {
        Self {
            page,
            name,
            has_file: false,
            hours: Vec::new(),
            upcoming: Vec::new(),
            past: Vec::new(),
            results: Vec::new(),
            grid: Vec::new(),
            grid_chart: String::new(),
            slots: Vec::new(),
            may_book: false,
            notices: Vec::new(),
        }
    }
}

fn portal_lesson(tr: &i18n::Tr, l: &Lesson) -> PortalLesson {
    PortalLesson {
        when: format!(
            "{} {}–{}",
            i18n::local_time(l.starts_at, "%d/%m/%Y"),
            i18n::local_time(l.starts_at, "%H:%M"),
            i18n::local_time(l.ends_at, "%H:%M")
        ),
        kind: kind_label(tr, l.kind),
        instructor: l.instructor_name.clone(),
        vehicle: l.vehicle_label.clone().unwrap_or_default(),
        meeting_point: l.meeting_point.clone().unwrap_or_default(),
        status: tr.t(status_label_key(l.status)).to_owned(),
        notes: l.notes.clone().unwrap_or_default(),
    }
}

pub(crate) fn hours_rows(tr: &i18n::Tr, h: &Hours) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(forecast) = h.forecast_minutes {
        rows.push((tr.t("hours.forecast").to_owned(), format_duration(forecast)));
    }
    rows.push((tr.t("hours.bought").to_owned(), format_duration(h.bought_minutes)));
    rows.push((tr.t("hours.done").to_owned(), format_duration(h.done_minutes)));
    rows.push((tr.t("hours.scheduled").to_owned(), format_duration(h.scheduled_minutes)));
    if h.due_minutes > 0 {
        rows.push((tr.t("hours.due").to_owned(), format_duration(h.due_minutes)));
    }
    let remaining = if h.remaining_minutes < 0 {
        format!("−{}", format_duration(-h.remaining_minutes))
    } else {
        format_duration(h.remaining_minutes)
    };
    rows.push((tr.t("hours.remaining").to_owned(), remaining));
    rows
}

/// The label of a level of the competency grid.
pub fn level_key(level: &i16) -> &'static str {
    match level {
        0 => "progress.level0",
        1 => "progress.level1",
        2 => "progress.level2",
        _ => "progress.level3",
    }
}

pub(crate) fn exam_type_key(exam: exams::ExamType) -> &'static str {
    match exam {
        exams::ExamType::Theory => "exam.type_theory",
        exams::ExamType::Practical => "exam.type_practical",
        exams::ExamType::Final => "exam.type_final",
    }
}

pub(crate) fn result_status_key(status: ResultStatus) -> &'static str {
    match status {
        ResultStatus::Pending => "exam.status_pending",
        ResultStatus::Passed => "exam.outcome_passed",
        ResultStatus::Failed => "exam.outcome_failed",
    }
}

fn portal_result(tr: &i18n::Tr, r: &ExamResult) -> PortalResult {
    let exam = exam_type_key(r.exam_type);
    let passed = r.status == ResultStatus::Passed;
    PortalResult {
        exam: tr.t(exam).to_owned(),
        taken_on: r.taken_on.format("%d/%m/%Y").to_string(),
        outcome: tr.t(if passed { "exam.outcome_passed" } else { "exam.outcome_failed" }).to_owned(),
        passed,
        score: r.score.map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// The candidate's own space: planning, hours, results.
async fn portal(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    page: PageCtx,
) -> WebResult<PortalPage> {
    let viewer = Viewer::of(&state.db, &current).await?;
    let tr = page.tr;
    let name = current.user.display_name.clone();
    let Viewer::Candidate(id) = viewer else {
        return Ok(PortalPage::empty(page, name));
    };
    let file = candidates::summary_of(&state.db, actor.org, id).await?;
    let now = Utc::now();
    let window = Duration::days(60);
    let coming =
        LessonFilter { from: Some(now - Duration::hours(2)), to: Some(now + window), ..LessonFilter::default() };
    let gone = LessonFilter { from: Some(now - window), to: Some(now - Duration::hours(2)), ..LessonFilter::default() };
    let upcoming =
        planning::list(&state.db, actor.org, viewer, &coming).await?.iter().map(|l| portal_lesson(&tr, l)).collect();
    let mut past: Vec<PortalLesson> =
        planning::list(&state.db, actor.org, viewer, &gone).await?.iter().map(|l| portal_lesson(&tr, l)).collect();
    past.reverse();
    let results =
        exams::list_results(&state.db, &actor, viewer, None).await?.iter().map(|r| portal_result(&tr, r)).collect();
    let grid = crate::school::progress::grid_of(&state.db, id).await?;
    let grid_chart = candidate_pages::grid_chart(&tr, &grid);
    let mut slots: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for slot in crate::school::planning::slots::free_slots(&state.db, actor.org, id, now).await? {
        let day = i18n::local_time(slot.starts_at, "%d/%m/%Y");
        let label =
            format!("{}–{}", i18n::local_time(slot.starts_at, "%H:%M"), i18n::local_time(slot.ends_at, "%H:%M"));
        let start = slot.starts_at.to_rfc3339();
        match slots.last_mut() {
            Some((d, list)) if *d == day => list.push((label, start)),
            _ => slots.push((day, vec![(label, start)])),
        }
    }
    let may_book = crate::school::people::settings::get(&state.db, actor.org).await?.candidates_may_book;
    // The candidate's own notifications (what the bell counts), newest first.
    let notices = match actor.user_id {
        Some(user) => crate::notify::service::inbox(&state.db, actor.org, user, false, PageRequest::first(10))
            .await?
            .items
            .into_iter()
            .map(|n| (i18n::local_time(n.created_at, "%d/%m/%Y %H:%M"), n.title))
            .collect(),
        None => Vec::new(),
    };
    Ok(PortalPage {
        page,
        name: file.full_name(),
        has_file: true,
        hours: hours_rows(&tr, &file.hours),
        upcoming,
        past,
        results,
        grid,
        grid_chart,
        slots,
        may_book,
        notices,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SlotForm {
    starts_at: String,
}

fn parse_slot(form: &SlotForm) -> Result<chrono::DateTime<chrono::FixedOffset>, AppError> {
    chrono::DateTime::parse_from_rfc3339(form.starts_at.trim())
        .map_err(|_| AppError::validation("starts_at", Msg::new("school.time_invalid")))
}

/// A candidate books a free slot (when the school allows it).
async fn portal_book(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    FormBody(form): FormBody<SlotForm>,
) -> WebResult<Response> {
    let Viewer::Candidate(id) = Viewer::of(&state.db, &current).await? else {
        return Err(AppError::NotFound.into());
    };
    let booking = crate::school::planning::slots::OwnBooking { starts_at: Some(parse_slot(&form)?) };
    let tr = i18n::current();
    match crate::school::planning::slots::book_own(&state.db, &actor, id, &booking).await {
        Ok(lesson) => {
            let message = tr.format("portal.booked", &[("day", &i18n::local_time(lesson.starts_at, "%d/%m/%Y %H:%M"))]);
            Ok(redirect_with_flash("/portal", "success", &message))
        }
        Err(err) => refusal_flash("/portal", err),
    }
}

/// A candidate asks the school for a slot: a message thread the school answers.
async fn portal_request(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    FormBody(form): FormBody<SlotForm>,
) -> WebResult<Response> {
    let start = parse_slot(&form)?.with_timezone(&Utc);
    let writer = crate::school::messages::api::author(&state, &current).await?;
    let tr = i18n::current();
    let when = i18n::local_time(start, "%d/%m/%Y %H:%M");
    let input = crate::school::messages::service::NewThread {
        candidate_id: None,
        subject: Some(tr.format("portal.request_subject", &[("day", &when)])),
        body: Some(tr.format("portal.request_body", &[("day", &when)])),
    };
    let thread = crate::school::messages::service::start(&state.db, &actor, &writer, &input).await?;
    Ok(redirect_with_flash(&format!("/messages/{}", thread.id), "success", tr.text("portal.requested")))
}

/// A new private calendar address for the signed-in instructor or candidate, shown once.
async fn calendar_address(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    client: crate::platform::proxy::ClientContext,
) -> WebResult<Response> {
    let viewer = Viewer::of(&state.db, &current).await?;
    let back = if matches!(viewer, Viewer::Candidate(_)) { "/portal" } else { "/school/planning" };
    let tr = i18n::current();
    let public_url = client.public_url(&state.config);
    match crate::school::planning::calendar::create(&state.db, &actor, viewer, &public_url).await {
        Ok(feed) => Ok(redirect_with_flash(back, "success", &tr.format("calendar.created", &[("url", &feed.url)]))),
        Err(err) => refusal_flash(back, err),
    }
}
