//! The candidate's portal: their planning, hours, results and progress, free
//! slots to book or to ask for, and the notices sent to them.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use serde::Deserialize;

use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n::{self, Msg};
use crate::platform::pagination::PageRequest;
use crate::platform::web::refusal_to_flash;
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};
use crate::school::access::Viewer;
use crate::school::candidates::service as candidates;
use crate::school::candidates::web::hours_rows;
use crate::school::exams::service::{self as exams, ExamResult, ResultStatus};
use crate::school::planning::service::{self as planning, Lesson, LessonFilter, LessonStatus};
use crate::school::planning::web::kind_label;

/// The candidate's own pages.
pub fn routes() -> Routes {
    vec![("/portal", get(portal)), ("/portal/book", post(portal_book)), ("/portal/request", post(portal_request))]
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
#[template(path = "school/portal/index.html")]
struct PortalPage {
    page: PageCtx,
    name: String,
    has_file: bool,
    hours: Vec<(String, String)>,
    upcoming: Vec<PortalLesson>,
    past: Vec<PortalLesson>,
    results: Vec<PortalResult>,
    grid: Vec<crate::school::candidates::progress::CompetencyProgress>,
    /// Free slots by day: the day's label and each slot's (label, RFC 3339 start).
    slots: Vec<(String, Vec<(String, String)>)>,
    may_book: bool,
    /// The notices sent to the candidate: (when, subject).
    notices: Vec<(String, String)>,
    /// What the candidate bought, paid and owes.
    money: Option<crate::school::packs::web::AccountView>,
    portal: bool,
    candidate_id: i64,
    /// What their file still lacks, and their contract.
    admin: Option<crate::school::enrolment::web::PortalFile>,
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
            slots: Vec::new(),
            may_book: false,
            notices: Vec::new(),
            money: None,
            portal: true,
            candidate_id: 0,
            admin: None,
        }
    }
}

fn portal_lesson(tr: &i18n::Tr, l: &Lesson) -> PortalLesson {
    PortalLesson {
        when: format!(
            "{} {}–{}",
            i18n::local_date(l.starts_at),
            i18n::local_time(l.starts_at, "%H:%M"),
            i18n::local_time(l.ends_at, "%H:%M")
        ),
        kind: kind_label(tr, l.kind),
        instructor: l.instructor_name.clone(),
        vehicle: l.vehicle_label.clone().unwrap_or_default(),
        meeting_point: l.meeting_point.clone().unwrap_or_default(),
        status: tr.t(l.status.label_key()).to_owned(),
        notes: l.notes.clone().unwrap_or_default(),
    }
}

fn portal_result(tr: &i18n::Tr, r: &ExamResult) -> PortalResult {
    let exam = r.exam_type.label_key();
    let passed = r.status == ResultStatus::Passed;
    PortalResult {
        exam: tr.t(exam).to_owned(),
        taken_on: i18n::date(r.taken_on),
        outcome: tr.t(if passed { "exam.outcome_passed" } else { "exam.outcome_failed" }).to_owned(),
        passed,
        score: r.score.map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// The candidate's own space: planning, hours, results.
async fn portal(caller: Caller, page: PageCtx) -> WebResult<PortalPage> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let tr = page.tr;
    let name = caller.current.user.display_name.clone();
    let Viewer::Candidate(id) = viewer else {
        return Ok(PortalPage::empty(page, name));
    };
    let file = candidates::summary_of(&caller.db, caller.org, id).await?;
    let now = Utc::now();
    let window = Duration::days(60);
    // Still to happen: booked and not over. A lesson recorded (done, missed) or
    // over is the past, as soon as it is.
    let coming_soon = |l: &Lesson| l.status == LessonStatus::Scheduled && l.ends_at > now;
    let ahead = LessonFilter { from: Some(now - Duration::days(1)), to: Some(now + window), ..LessonFilter::default() };
    let behind = LessonFilter { from: Some(now - window), to: Some(now), ..LessonFilter::default() };
    let ahead = planning::list(&caller.db, caller.org, viewer, &ahead).await?;
    let upcoming = ahead.iter().filter(|l| coming_soon(l)).map(|l| portal_lesson(&tr, l)).collect();
    let behind = planning::list(&caller.db, caller.org, viewer, &behind).await?;
    let past = behind.iter().rev().filter(|l| !coming_soon(l)).map(|l| portal_lesson(&tr, l)).collect();
    let results = exams::list_results(&caller.db, &caller.actor, viewer, None)
        .await?
        .iter()
        .map(|r| portal_result(&tr, r))
        .collect();
    let grid = crate::school::candidates::progress::grid_of(&caller.db, id).await?;
    let mut slots: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for slot in crate::school::planning::slots::free_slots(&caller.db, caller.org, id, now).await? {
        let day = i18n::local_date(slot.starts_at);
        let label =
            format!("{}–{}", i18n::local_time(slot.starts_at, "%H:%M"), i18n::local_time(slot.ends_at, "%H:%M"));
        let start = slot.starts_at.to_rfc3339();
        match slots.last_mut() {
            Some((d, list)) if *d == day => list.push((label, start)),
            _ => slots.push((day, vec![(label, start)])),
        }
    }
    let may_book = crate::school::settings::service::get(&caller.db, caller.org).await?.candidates_may_book;
    // The candidate's own notifications (what the bell counts), newest first.
    let notices = match caller.actor.user_id {
        Some(user) => crate::notify::service::inbox(&caller.db, caller.org, user, false, PageRequest::first(10))
            .await?
            .items
            .into_iter()
            .map(|n| (i18n::local_date_time(n.created_at), n.title))
            .collect(),
        None => Vec::new(),
    };
    let account = crate::school::packs::service::account(&caller.db, caller.org, id).await?;
    let money = (!account.invoices.is_empty()).then(|| crate::school::packs::web::account_view(&account, &tr));
    let admin = Some(crate::school::enrolment::web::portal_file(&caller, &tr, id).await?);
    Ok(PortalPage {
        admin,
        money,
        portal: true,
        candidate_id: id,
        page,
        name: file.full_name(),
        has_file: true,
        hours: hours_rows(&tr, &file.hours),
        upcoming,
        past,
        results,
        grid,
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
async fn portal_book(caller: Caller, FormBody(form): FormBody<SlotForm>) -> WebResult<Response> {
    let Viewer::Candidate(id) = Viewer::of(&caller.db, &caller.current).await? else {
        return Err(AppError::NotFound.into());
    };
    let booking = crate::school::planning::slots::OwnBooking { starts_at: Some(parse_slot(&form)?) };
    let tr = i18n::current();
    match crate::school::planning::slots::book_own(&caller.db, &caller.actor, id, &booking).await {
        Ok(lesson) => {
            let message = tr.format("portal.booked", &[("day", &i18n::local_date_time(lesson.starts_at))]);
            Ok(redirect_with_flash("/portal", "success", &message))
        }
        Err(err) => refusal_to_flash("/portal", err),
    }
}

/// A candidate asks the school for a slot: a message thread the school answers.
async fn portal_request(caller: Caller, FormBody(form): FormBody<SlotForm>) -> WebResult<Response> {
    let start = parse_slot(&form)?.with_timezone(&Utc);
    let writer = crate::school::messages::service::author(&caller.db, &caller.current).await?;
    let tr = i18n::current();
    let when = i18n::local_date_time(start);
    let input = crate::school::messages::service::NewThread {
        candidate_id: None,
        subject: Some(tr.format("portal.request_subject", &[("day", &when)])),
        body: Some(tr.format("portal.request_body", &[("day", &when)])),
    };
    let thread = crate::school::messages::service::start(&caller.db, &caller.actor, &writer, &input).await?;
    Ok(redirect_with_flash(&format!("/messages/{}", thread.id), "success", tr.text("portal.requested")))
}
