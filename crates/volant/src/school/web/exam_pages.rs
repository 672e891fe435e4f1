//! Exam pages (staff): sessions and their registrations, results to enter and to
//! validate by hand, pass rates per instructor.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

use super::{exam_type_key, options};
use crate::fleet::vehicles::web::SelectOption;
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::charts;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n;
use crate::platform::tenant::OrgId;
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};
use crate::school::access::Viewer;
use crate::school::exams::service::{self as exams, RegistrationInput, SessionInput, SessionKind};
use crate::school::people::candidates::CandidateFilter;

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

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub when: String,
    pub kind: String,
    pub centre: String,
    pub seats: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/exams.html")]
struct ExamsPage {
    page: PageCtx,
    sessions: Vec<SessionRow>,
    results: Vec<super::result_pages::ResultRow>,
    candidates: Vec<SelectOption>,
    rates_chart: String,
    rates: Vec<(String, String, String)>,
}

fn session_kind_key(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::Theory => "exam.type_theory",
        SessionKind::Practical => "exam.type_practical",
    }
}

async fn candidate_options(state: &AppState, org: OrgId) -> Result<Vec<SelectOption>, AppError> {
    let people = super::candidate_list(state, org, &CandidateFilter::default()).await?;
    Ok(options(people, None, i18n::current().text("school.choose")))
}

async fn index(State(state): State<AppState>, actor: Actor, page: PageCtx) -> WebResult<ExamsPage> {
    let org = actor.org;
    let tr = page.tr;
    let sessions = exams::list_sessions(&state.db, org)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            when: i18n::local_time(s.starts_at, "%d/%m/%Y %H:%M"),
            kind: tr.t(session_kind_key(s.kind)).to_owned(),
            centre: s.centre,
            seats: format!("{} / {}", s.registered, s.seats),
        })
        .collect();
    let results = super::result_pages::result_rows(&state, &actor, Viewer::School, &tr, 50).await?;
    let today = Utc::now().date_naive();
    let from = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let pass_rates = exams::pass_rates(&state.db, org, from, today).await?;
    let labels: Vec<String> = pass_rates
        .iter()
        .map(|r| format!("{} · {}", r.instructor_name.clone().unwrap_or_default(), tr.t(exam_type_key(r.exam_type))))
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
    let candidates = candidate_options(&state, org).await?;
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

async fn create_session(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(form): FormBody<SessionForm>,
) -> WebResult<Response> {
    let zone = super::zone_of(&state, actor.org).await?;
    let day = form.date.trim().parse::<NaiveDate>().ok();
    let time = NaiveTime::parse_from_str(form.time.trim(), "%H:%M").ok();
    let starts_at = day.zip(time).and_then(|(d, t)| super::local_instant(zone, d, t)).map(|t| t.fixed_offset());
    let input = SessionInput {
        kind: match form.kind.as_str() {
            "theory" => Some(SessionKind::Theory),
            "practical" => Some(SessionKind::Practical),
            _ => None,
        },
        starts_at,
        centre: Some(form.centre.clone()),
        seats: form.seats.trim().parse().ok(),
    };
    match exams::create_session(&state.db, &actor, &input).await {
        Ok(s) => Ok(redirect_with_flash(
            &format!("/school/exams/sessions/{}", s.id),
            "success",
            i18n::current().text("exam.session_created"),
        )),
        Err(err) => super::refusal_flash("/school/exams", err),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/exam_session.html")]
struct SessionPage {
    page: PageCtx,
    title: String,
    seats: String,
    registrations: Vec<(String, String)>,
    candidates: Vec<SelectOption>,
    id: i64,
}

async fn session(State(state): State<AppState>, actor: Actor, page: PageCtx, Id(id): Id) -> WebResult<SessionPage> {
    let s = exams::get_session(&state.db, actor.org, id).await?;
    let tr = page.tr;
    let title = format!(
        "{} · {} · {}",
        tr.t(session_kind_key(s.kind)),
        i18n::local_time(s.starts_at, "%d/%m/%Y %H:%M"),
        s.centre
    );
    let registrations = exams::registrations(&state.db, actor.org, id)
        .await?
        .into_iter()
        .map(|r| (r.candidate_name, i18n::local_time(r.registered_at, "%d/%m/%Y")))
        .collect();
    let candidates = candidate_options(&state, actor.org).await?;
    Ok(SessionPage { page, title, seats: format!("{} / {}", s.registered, s.seats), registrations, candidates, id })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CandidateForm {
    candidate_id: String,
}

async fn register(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    FormBody(form): FormBody<CandidateForm>,
) -> WebResult<Response> {
    let back = format!("/school/exams/sessions/{id}");
    let input = RegistrationInput { candidate_id: form.candidate_id.trim().parse().ok() };
    match exams::register(&state.db, &actor, id, &input).await {
        Ok(r) => Ok(redirect_with_flash(
            &back,
            "success",
            &i18n::current().format("exam.registered", &[("name", &r.candidate_name)]),
        )),
        Err(err) => super::refusal_flash(&back, err),
    }
}

async fn enter_result(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(form): FormBody<super::result_pages::ResultForm>,
) -> WebResult<Response> {
    let input = match form.to_input() {
        Ok(input) => input,
        Err(err) => return super::refusal_flash("/school/exams", err),
    };
    match exams::enter_result(&state.db, &actor, &input).await {
        Ok(_) => Ok(redirect_with_flash("/school/exams", "success", i18n::current().text("exam.result_entered"))),
        Err(err) => super::refusal_flash("/school/exams", err),
    }
}

async fn validate(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    Id(id): Id,
) -> WebResult<Response> {
    let viewer = Viewer::of(&state.db, &current).await?;
    match exams::validate_result(&state.db, &actor, viewer, id).await {
        Ok(_) => Ok(redirect_with_flash("/school/exams", "success", i18n::current().text("exam.validated"))),
        Err(err) => super::refusal_flash("/school/exams", err),
    }
}
