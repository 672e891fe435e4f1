//! Exam results for instructors: those of their candidates and those they
//! entered, to validate (someone else's, with four-eyes) or to enter.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{exam_type_key, options, result_status_key};
use crate::fleet::vehicles::web::SelectOption;
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};
use crate::school::access::Viewer;
use crate::school::exams::service::{self as exams, ExamType, Outcome, ResultInput, ResultStatus};
use crate::school::people::candidates::{self, CandidateFilter};

/// Reading with the planning permission, writing with `Teaching`.
pub fn routes() -> Routes {
    vec![("/school/results", get(index).post(enter)), ("/school/results/{id}/validate", post(validate))]
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
}

/// The latest results the viewer may see (at most `limit`), with candidates' names in one query.
pub(crate) async fn result_rows(
    state: &AppState,
    actor: &Actor,
    viewer: Viewer,
    tr: &i18n::Tr,
    limit: usize,
) -> Result<Vec<ResultRow>, AppError> {
    let results = exams::list_results(&state.db, actor, viewer, None).await?;
    let mut ids: Vec<i64> = results.iter().take(limit).map(|r| r.candidate_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = candidates::names_of(&state.db, &ids).await?;
    Ok(results
        .iter()
        .take(limit)
        .map(|r| ResultRow {
            id: r.id,
            candidate: names.get(&r.candidate_id).cloned().unwrap_or_default(),
            exam: tr.t(exam_type_key(r.exam_type)).to_owned(),
            outcome: tr
                .t(if r.outcome == Outcome::Passed { "exam.outcome_passed" } else { "exam.outcome_failed" })
                .to_owned(),
            taken_on: r.taken_on.format("%d/%m/%Y").to_string(),
            status: tr.t(result_status_key(r.status)).to_owned(),
            pending: r.status == ResultStatus::Pending,
            own: r.four_eyes && actor.user_id == Some(r.entered_by),
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
#[template(path = "school/results.html")]
struct ResultsPage {
    page: PageCtx,
    rows: Vec<ResultRow>,
    may_validate: bool,
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
    let may_validate = matches!(viewer, Viewer::School | Viewer::Instructor(_)) && page.can_see_planning;
    let rows = result_rows(&state, &actor, viewer, &tr, 100).await?;
    // The staff choose among every candidate, an instructor among their own; anyone
    // else (an instructor without a file yet) among none.
    let people = match viewer {
        Viewer::School => super::candidate_list(&state, current.user.org, &CandidateFilter::default()).await?,
        Viewer::Instructor(id) => {
            let filter = CandidateFilter { q: None, instructor_id: Some(id) };
            super::candidate_list(&state, current.user.org, &filter).await?
        }
        Viewer::Candidate(_) | Viewer::Nobody => Vec::new(),
    };
    let candidates = options(people, None, tr.t("school.choose"));
    Ok(ResultsPage { page, rows, may_validate, candidates })
}

async fn enter(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(form): FormBody<ResultForm>,
) -> WebResult<Response> {
    let input = match form.to_input() {
        Ok(input) => input,
        Err(err) => return super::refusal_flash("/school/results", err),
    };
    match exams::enter_result(&state.db, &actor, &input).await {
        Ok(_) => Ok(redirect_with_flash("/school/results", "success", i18n::current().text("exam.result_entered"))),
        Err(err) => super::refusal_flash("/school/results", err),
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
        Err(err) => super::refusal_flash("/school/results", err),
    }
}
