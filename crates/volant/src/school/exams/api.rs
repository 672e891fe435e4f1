//! JSON API for exam sessions, registrations, results with their manual
//! validation, and pass rates.

use axum::Json;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{
    self, ExamResult, ExamSession, PassRate, Registration, RegistrationInput, ResultInput, SessionInput,
};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::created;
use crate::platform::i18n::Msg;
use crate::school::access::Viewer;

/// Exam sessions and registrations, and results: read by everyone with a place
/// in the school (each their own part), entered and validated by instructors.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions, create_session))
        .routes(routes!(get_session))
        .routes(routes!(list_registrations, register))
        .routes(routes!(pass_rates))
        .routes(routes!(list_results))
        .routes(routes!(get_result))
        .routes(routes!(enter_result))
        .routes(routes!(validate_result))
        .routes(routes!(correct_result))
}

/// Exam sessions from a week ago on, soonest first, with their registration counts.
#[utoipa::path(get, path = "/school/exam-sessions", security(("bearer" = ["school.read"])), tag = "school exams",
    responses((status = 200, body = [ExamSession])))]
async fn list_sessions(caller: Caller) -> AppResult<Json<Vec<ExamSession>>> {
    Ok(Json(service::list_sessions(&caller.db, caller.org).await?))
}

#[utoipa::path(post, path = "/school/exam-sessions", security(("bearer" = ["school.write"])), tag = "school exams", request_body = SessionInput,
    responses((status = 201, body = ExamSession, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn create_session(caller: Caller, ApiJson(input): ApiJson<SessionInput>) -> AppResult<Response> {
    let session = service::create_session(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/exam-sessions/{}", session.id), session))
}

#[utoipa::path(get, path = "/school/exam-sessions/{id}", security(("bearer" = ["school.read"])), tag = "school exams", params(("id" = i64, Path)),
    responses((status = 200, body = ExamSession), (status = 404, body = Problem)))]
async fn get_session(caller: Caller, Id(id): Id) -> AppResult<Json<ExamSession>> {
    Ok(Json(service::get_session(&caller.db, caller.org, id).await?))
}

#[utoipa::path(get, path = "/school/exam-sessions/{id}/registrations", security(("bearer" = ["school.read"])), tag = "school exams", params(("id" = i64, Path)),
    responses((status = 200, body = [Registration]), (status = 404, body = Problem)))]
async fn list_registrations(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Registration>>> {
    Ok(Json(service::registrations(&caller.db, caller.org, id).await?))
}

/// Register a candidate. 409 `theory_not_passed`, `not_enough_driving` (practical
/// exams), `session_full`, `session_past` or `already_registered`.
#[utoipa::path(post, path = "/school/exam-sessions/{id}/registrations", security(("bearer" = ["school.write"])), tag = "school exams", params(("id" = i64, Path)), request_body = RegistrationInput,
    responses((status = 201, body = Registration), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn register(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<RegistrationInput>) -> AppResult<Response> {
    let registration = service::register(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/school/exam-sessions/{id}/registrations"), registration))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (default: 1 January of this year).
    pub from: Option<NaiveDate>,
    /// Last day, included (default: today).
    pub to: Option<NaiveDate>,
}

/// The longest period pass rates are computed over (ten years).
const MAX_STATS_DAYS: i64 = 3653;

/// Pass rates per instructor and exam type over a period (validated results only).
#[utoipa::path(get, path = "/school/exam-stats", security(("bearer" = ["school.read"])), tag = "school exams", params(PeriodQuery),
    responses((status = 200, body = [PassRate]), (status = 422, body = Problem)))]
async fn pass_rates(caller: Caller, ApiQuery(query): ApiQuery<PeriodQuery>) -> AppResult<Json<Vec<PassRate>>> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let to = query.to.unwrap_or(today);
    let from = query.from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    if from > to || (to - from).num_days() > MAX_STATS_DAYS {
        return Err(AppError::validation("to", Msg::new("report.period_invalid").arg("days", MAX_STATS_DAYS)));
    }
    Ok(Json(service::pass_rates(&caller.db, caller.org, from, to).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    pub candidate_id: Option<i64>,
}

/// Exam results, newest first: staff see all, instructors their candidates',
/// candidates their own validated ones.
#[utoipa::path(get, path = "/school/exam-results", security(("bearer" = ["school.planning"])), tag = "school exams", params(ResultsQuery),
    responses((status = 200, body = [ExamResult])))]
async fn list_results(caller: Caller, ApiQuery(query): ApiQuery<ResultsQuery>) -> AppResult<Json<Vec<ExamResult>>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    Ok(Json(service::list_results(&caller.db, &caller.actor, viewer, query.candidate_id).await?))
}

#[utoipa::path(get, path = "/school/exam-results/{id}", security(("bearer" = ["school.planning"])), tag = "school exams", params(("id" = i64, Path)),
    responses((status = 200, body = ExamResult), (status = 404, body = Problem)))]
async fn get_result(caller: Caller, Id(id): Id) -> AppResult<Json<ExamResult>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    Ok(Json(service::get_result(&caller.db, &caller.actor, viewer, id).await?))
}

/// Enter a result; it stays `pending` until validated.
#[utoipa::path(post, path = "/school/exam-results", security(("bearer" = ["teaching"])), tag = "school exams", request_body = ResultInput,
    responses((status = 201, body = ExamResult), (status = 422, body = Problem)))]
async fn enter_result(caller: Caller, ApiJson(input): ApiJson<ResultInput>) -> AppResult<Response> {
    let result = service::enter_result(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/exam-results/{}", result.id), result))
}

/// Validate a pending result: it becomes final and immutable, and the candidate is
/// told. 409 `four_eyes_required` when its author validates it and the school
/// requires a second person, `result_already_validated` the second time.
#[utoipa::path(post, path = "/school/exam-results/{id}/validate", security(("bearer" = ["teaching"])), tag = "school exams", params(("id" = i64, Path)),
    responses((status = 200, body = ExamResult), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn validate_result(caller: Caller, Id(id): Id) -> AppResult<Json<ExamResult>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    Ok(Json(service::validate_result(&caller.db, &caller.actor, viewer, id).await?))
}

/// What a correction says: a result for the candidate of the one it corrects.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CorrectionInput {
    /// The registration the result is for, if any.
    pub registration_id: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub exam_type: Option<service::ExamType>,
    #[schema(required = true, nullable = false)]
    pub outcome: Option<service::Outcome>,
    /// Theory: correct answers out of 40; practical: points.
    pub score: Option<i32>,
    pub notes: Option<String>,
    /// Today when absent.
    pub taken_on: Option<NaiveDate>,
    /// Default: the candidate's instructor.
    pub instructor_id: Option<i64>,
}

/// Correct a validated result: a new pending result naming it, validated in turn.
#[utoipa::path(post, path = "/school/exam-results/{id}/correction", security(("bearer" = ["teaching"])), tag = "school exams", params(("id" = i64, Path)), request_body = CorrectionInput,
    responses((status = 201, body = ExamResult), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn correct_result(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<CorrectionInput>) -> AppResult<Response> {
    let CorrectionInput { registration_id, exam_type, outcome, score, notes, taken_on, instructor_id } = input;
    // The candidate is the corrected result's (the service sets it).
    let input =
        ResultInput { candidate_id: None, registration_id, exam_type, outcome, score, notes, taken_on, instructor_id };
    let result = service::correct_result(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/school/exam-results/{}", result.id), result))
}
