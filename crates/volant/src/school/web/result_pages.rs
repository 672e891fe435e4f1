//! Exam results for instructors: those of their candidates and those they
//! entered, to validate (someone else's, with four-eyes) or to enter.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{exam_type_key, options, result_status_key};
use crate::fleet::vehicles::web::SelectOption;
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};
use crate::school::access::Viewer;
use crate::school::exams::service::{self as exams, ExamType, Outcome, ResultInput, ResultStatus};
use crate::school::people::candidates::{self, CandidateFilter};

/// Reading with the planning permission, writing with `Teaching`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/school/results", get(index).post(enter))
        .route("/school/results/{id}/validate", post(validate))
}

#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub candidate: String,
    pub exam: String,
    pub outcome: String,
    pub taken_on: String,
    pub status: String,
    pub can_validate: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/results.html")]
struct ResultsPage {
    page: PageCtx,
    rows: Vec<Row>,
    candidates: Vec<SelectOption>,
}

async fn index(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    page: PageCtx,
) -> WebResult<ResultsPage> {
    let viewer = Viewer::of(&state.db, &current).await?;
    let tr = page.tr;
    let results = exams::list_results(&state.db, &actor, viewer, None).await?;
    let mut ids: Vec<i64> = results.iter().map(|r| r.candidate_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = candidates::names_of(&state.db, &ids).await?;
    let may_validate = matches!(viewer, Viewer::School | Viewer::Instructor(_)) && page.can_see_planning;
    let rows = results
        .iter()
        .take(100)
        .map(|r| Row {
            id: r.id,
            candidate: names.get(&r.candidate_id).cloned().unwrap_or_default(),
            exam: tr.t(exam_type_key(r.exam_type)).to_owned(),
            outcome: tr
                .t(if r.outcome == Outcome::Passed { "exam.outcome_passed" } else { "exam.outcome_failed" })
                .to_owned(),
            taken_on: r.taken_on.format("%d/%m/%Y").to_string(),
            status: tr.t(result_status_key(r.status)).to_owned(),
            can_validate: may_validate
                && r.status == ResultStatus::Pending
                && !(r.four_eyes && r.entered_by == current.user.id),
        })
        .collect();
    let filter = match viewer {
        Viewer::Instructor(id) => CandidateFilter { q: None, instructor_id: Some(id) },
        _ => CandidateFilter::default(),
    };
    let people = super::candidate_list(&state, current.user.org, &filter).await?;
    let candidates = options(people, None, tr.t("school.choose"));
    Ok(ResultsPage { page, rows, candidates })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResultForm {
    candidate_id: String,
    exam_type: String,
    outcome: String,
    score: String,
    taken_on: String,
}

fn refused(err: AppError) -> WebResult<Response> {
    let tr = i18n::current();
    match err {
        AppError::Conflict { message, .. } => Ok(redirect_with_flash("/school/results", "error", &message.render(tr))),
        AppError::Validation(errors) => {
            let text = errors.iter().map(|e| e.message.render(tr)).collect::<Vec<_>>().join(" ");
            Ok(redirect_with_flash("/school/results", "error", &text))
        }
        other => Err(other.into()),
    }
}

async fn enter(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(form): FormBody<ResultForm>,
) -> WebResult<Response> {
    let input = ResultInput {
        candidate_id: form.candidate_id.trim().parse().ok(),
        registration_id: None,
        exam_type: ExamType::parse(form.exam_type.trim()),
        outcome: Outcome::parse(form.outcome.trim()),
        score: form.score.trim().parse().ok(),
        notes: None,
        taken_on: form.taken_on.trim().parse().ok(),
        instructor_id: None,
    };
    match exams::enter_result(&state.db, &actor, &input).await {
        Ok(_) => Ok(redirect_with_flash("/school/results", "success", i18n::current().text("exam.result_entered"))),
        Err(err) => refused(err),
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
        Ok(_) => Ok(redirect_with_flash("/school/results", "success", i18n::current().text("exam.validated"))),
        Err(err) => refused(err),
    }
}
