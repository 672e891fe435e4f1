//! Exam pages (staff): sessions and their registrations, results to enter and to
//! validate by hand, pass rates per instructor; and the results page of
//! instructors (their candidates' results and those they entered).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::Deserialize;

use super::service::{
    self as exams, ExamType, Outcome, RegistrationInput, ResultInput, ResultStatus, SessionInput, SessionKind,
};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::charts;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::SelectOption;
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};
use crate::platform::web::{id_options, refusal_to_flash};
use crate::school::access::Viewer;
use crate::school::candidates::service::{self as candidates, CandidateFilter};
use crate::school::candidates::web::candidate_list;
use crate::school::planning::web::local_instant;

pub fn routes() -> Routes {
    vec![
        ("/school/exams", get(index)),
        ("/school/exams/sessions", post(create_session)),
        ("/school/exams/sessions/{id}", get(session)),
        ("/school/exams/sessions/{id}/registrations", post(register)),
        ("/school/exams/results", post(enter_result)),
        ("/school/exams/results/{id}/validate", post(validate)),
    ]
}

/// Exam results for instructors: those of their candidates and those they
/// entered, to validate (someone else's, with four-eyes) or to enter.
pub fn result_routes() -> Routes {
    vec![
        ("/school/results", get(results_index).post(results_enter)),
        ("/school/results/{id}/validate", post(results_validate)),
    ]
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub when: String,
    pub kind: String,
    pub centre: String,
    pub seats: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/exams/list.html")]
struct ExamsPage {
    page: PageCtx,
    sessions: Vec<SessionRow>,
    results: Vec<ResultRow>,
    candidates: Vec<SelectOption>,
    rates_chart: String,
    rates: Vec<(String, String, String)>,
}

async fn candidate_options(caller: &Caller) -> Result<Vec<SelectOption>, AppError> {
    let people = candidate_list(caller, &CandidateFilter::default()).await?;
    Ok(id_options(Some(i18n::current().text("school.choose")), None, people))
}

async fn index(caller: Caller, page: PageCtx) -> WebResult<ExamsPage> {
    let org = caller.org;
    let tr = page.tr;
    let sessions = exams::list_sessions(&caller.db, org)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            when: i18n::local_date_time(s.starts_at),
            kind: tr.t(s.kind.label_key()).to_owned(),
            centre: s.centre,
            seats: format!("{} / {}", s.registered, s.seats),
        })
        .collect();
    let results = result_rows(&caller, Viewer::School, &tr, 50).await?;
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let from = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let pass_rates = exams::pass_rates(&caller.db, org, from, today).await?;
    let labels: Vec<String> = pass_rates
        .iter()
        .map(|r| format!("{} · {}", r.instructor_name.clone().unwrap_or_default(), tr.t(r.exam_type.label_key())))
        .collect();
    let values: Vec<i64> = pass_rates.iter().map(|r| r.rate_percent.unwrap_or(0)).collect();
    let rates_chart =
        charts::bars(tr.t("report.pass_rates"), &labels, &[(tr.t("report.rate"), values)], |v| format!("{v} %"));
    let rates = pass_rates
        .iter()
        .zip(labels)
        .map(|(r, label)| {
            (
                label,
                format!("{} / {}", r.passed, r.passed + r.failed),
                r.rate_percent.map_or("—".into(), |p| format!("{p} %")),
            )
        })
        .collect();
    let candidates = candidate_options(&caller).await?;
    Ok(ExamsPage { page, sessions, results, candidates, rates_chart, rates })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SessionForm {
    kind: String,
    date: String,
    time: String,
    centre: String,
    seats: String,
}

async fn create_session(caller: Caller, FormBody(form): FormBody<SessionForm>) -> WebResult<Response> {
    let zone = crate::identity::organizations::service::zone(&caller.db, caller.org).await?;
    let day = form.date.trim().parse::<NaiveDate>().ok();
    let time = NaiveTime::parse_from_str(form.time.trim(), "%H:%M").ok();
    let starts_at = day.zip(time).and_then(|(d, t)| local_instant(zone, d, t)).map(|t| t.fixed_offset());
    let input = SessionInput {
        kind: SessionKind::parse(&form.kind),
        starts_at,
        centre: Some(form.centre.clone()),
        seats: form.seats.trim().parse().ok(),
    };
    match exams::create_session(&caller.db, &caller.actor, &input).await {
        Ok(s) => Ok(redirect_with_flash(
            &format!("/school/exams/sessions/{}", s.id),
            "success",
            i18n::current().text("exam.session_created"),
        )),
        Err(err) => refusal_to_flash("/school/exams", err),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/exams/session.html")]
struct SessionPage {
    page: PageCtx,
    title: String,
    seats: String,
    registrations: Vec<(String, String)>,
    candidates: Vec<SelectOption>,
    id: i64,
}

async fn session(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<SessionPage> {
    let s = exams::get_session(&caller.db, caller.org, id).await?;
    let tr = page.tr;
    let title = format!("{} · {} · {}", tr.t(s.kind.label_key()), i18n::local_date_time(s.starts_at), s.centre);
    let registered = exams::registrations(&caller.db, caller.org, id).await?;
    // Those already registered are not offered again.
    let mut candidates = candidate_options(&caller).await?;
    candidates.retain(|o| !registered.iter().any(|r| r.candidate_id.to_string() == o.value));
    let registrations = registered.into_iter().map(|r| (r.candidate_name, i18n::local_date(r.registered_at))).collect();
    Ok(SessionPage { page, title, seats: format!("{} / {}", s.registered, s.seats), registrations, candidates, id })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CandidateForm {
    candidate_id: String,
}

async fn register(caller: Caller, Id(id): Id, FormBody(form): FormBody<CandidateForm>) -> WebResult<Response> {
    let back = format!("/school/exams/sessions/{id}");
    let input = RegistrationInput { candidate_id: form.candidate_id.trim().parse().ok() };
    match exams::register(&caller.db, &caller.actor, id, &input).await {
        Ok(r) => Ok(redirect_with_flash(
            &back,
            "success",
            &i18n::current().format("exam.registered", &[("name", &r.candidate_name)]),
        )),
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn enter_result(caller: Caller, FormBody(form): FormBody<ResultForm>) -> WebResult<Response> {
    record_result(&caller, form, "/school/exams").await
}

async fn validate(caller: Caller, Id(id): Id) -> WebResult<Response> {
    validate_result(&caller, id, "/school/exams").await
}

/// A result entered from the exams page or the results page, which it goes back to.
async fn record_result(caller: &Caller, form: ResultForm, back: &str) -> WebResult<Response> {
    let input = match form.to_input() {
        Ok(input) => input,
        Err(err) => return refusal_to_flash(back, err),
    };
    match exams::enter_result(&caller.db, &caller.actor, &input).await {
        Ok(_) => Ok(redirect_with_flash(back, "success", i18n::current().text("exam.result_entered"))),
        Err(err) => refusal_to_flash(back, err),
    }
}

/// A result validated (the second pair of eyes), from either page.
async fn validate_result(caller: &Caller, id: i64, back: &str) -> WebResult<Response> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    match exams::validate_result(&caller.db, &caller.actor, viewer, id).await {
        Ok(_) => Ok(redirect_with_flash(back, "success", i18n::current().text("exam.validated"))),
        Err(err) => refusal_to_flash(back, err),
    }
}

pub(crate) fn result_status_key(status: ResultStatus) -> &'static str {
    match status {
        ResultStatus::Pending => "exam.status_pending",
        ResultStatus::Passed => "exam.outcome_passed",
        ResultStatus::Failed => "exam.outcome_failed",
    }
}

/// An exam result as the pages list it.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub id: i64,
    pub candidate: String,
    pub exam: String,
    pub outcome: String,
    pub taken_on: String,
    pub status: String,
    pub pending: bool,
    /// Entered by the reader under four-eyes: someone else validates it.
    pub own: bool,
    /// Who validated it, and when.
    pub validated: Option<String>,
}

/// The latest results the viewer may see (at most `limit`), with candidates' names in one query.
pub(crate) async fn result_rows(
    caller: &Caller,
    viewer: Viewer,
    tr: &i18n::Tr,
    limit: usize,
) -> Result<Vec<ResultRow>, AppError> {
    let results = exams::list_results(&caller.db, &caller.actor, viewer, None).await?;
    let mut ids: Vec<i64> = results.iter().take(limit).map(|r| r.candidate_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = candidates::names_of(&caller.db, &ids).await?;
    let validators: Vec<i64> = results.iter().take(limit).filter_map(|r| r.validated_by).collect();
    let validators = crate::identity::users::service::names_of(&caller.db, caller.org, &validators).await?;
    let validated = |r: &exams::ExamResult| {
        let name = validators.get(&r.validated_by?)?;
        Some(tr.0.format("exam.validated_by_on", &[("name", name), ("day", &i18n::local_date(r.validated_at?))]))
    };
    Ok(results
        .iter()
        .take(limit)
        .map(|r| ResultRow {
            id: r.id,
            candidate: names.get(&r.candidate_id).cloned().unwrap_or_default(),
            exam: tr.t(r.exam_type.label_key()).to_owned(),
            outcome: tr.t(r.outcome.label_key()).to_owned(),
            taken_on: i18n::date(r.taken_on),
            status: tr.t(result_status_key(r.status)).to_owned(),
            pending: r.status == ResultStatus::Pending,
            own: r.four_eyes && caller.actor.user_id == Some(r.entered_by),
            validated: validated(r),
        })
        .collect())
}

/// The result-entry form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResultForm {
    candidate_id: String,
    exam_type: String,
    outcome: String,
    score: String,
    taken_on: String,
    notes: String,
}

impl ResultForm {
    /// The input; a score that is not a number is refused rather than dropped.
    pub(crate) fn to_input(&self) -> Result<ResultInput, AppError> {
        let score = self.score.trim();
        let parsed = score.parse().ok();
        if !score.is_empty() && parsed.is_none() {
            return Err(AppError::validation("score", Msg::new("field.not_a_number")));
        }
        Ok(ResultInput {
            candidate_id: self.candidate_id.trim().parse().ok(),
            registration_id: None,
            exam_type: ExamType::parse(self.exam_type.trim()),
            outcome: Outcome::parse(self.outcome.trim()),
            score: parsed,
            notes: Some(self.notes.clone()),
            taken_on: self.taken_on.trim().parse().ok(),
            instructor_id: None,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/exams/results.html")]
struct ResultsPage {
    page: PageCtx,
    rows: Vec<ResultRow>,
    may_validate: bool,
    candidates: Vec<SelectOption>,
}

async fn results_index(caller: Caller, page: PageCtx) -> WebResult<ResultsPage> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let tr = page.tr;
    let may_validate = matches!(viewer, Viewer::School | Viewer::Instructor(_)) && page.may(Permission::Teaching);
    let rows = result_rows(&caller, viewer, &tr, 100).await?;
    // The staff choose among every candidate, an instructor among their own; anyone
    // else (an instructor without a file yet) among none.
    let people = match viewer {
        Viewer::School => candidate_list(&caller, &CandidateFilter::default()).await?,
        Viewer::Instructor(id) => {
            let filter = CandidateFilter { instructor_id: Some(id), ..Default::default() };
            candidate_list(&caller, &filter).await?
        }
        Viewer::Candidate(_) | Viewer::Nobody => Vec::new(),
    };
    let candidates = id_options(Some(tr.t("school.choose")), None, people);
    Ok(ResultsPage { page, rows, may_validate, candidates })
}

async fn results_enter(caller: Caller, FormBody(form): FormBody<ResultForm>) -> WebResult<Response> {
    record_result(&caller, form, "/school/results").await
}

async fn results_validate(caller: Caller, Id(id): Id) -> WebResult<Response> {
    validate_result(&caller, id, "/school/results").await
}
