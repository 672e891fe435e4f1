//! JSON API for lessons: the planning (each viewer sees their own), booking,
//! moving, cancelling, and recording how a lesson went.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, CancelInput, Lesson, LessonFilter, LessonInput, MoveInput, OutcomeInput};
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::created;
use crate::school::access::Viewer;

/// Reading the planning and managing lessons.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_lessons, book_lesson))
        .routes(routes!(get_lesson, move_lesson))
        .routes(routes!(cancel_lesson))
}

/// What instructors record.
pub fn teaching_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record_outcome))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LessonsQuery {
    /// Start of the range (RFC 3339; default a week ago).
    #[param(value_type = Option<String>)]
    pub from: Option<DateTime<FixedOffset>>,
    /// End of the range, excluded (default three weeks after `from`; at most 62 days).
    #[param(value_type = Option<String>)]
    pub to: Option<DateTime<FixedOffset>>,
    pub instructor_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    pub candidate_id: Option<i64>,
    /// Include cancelled lessons (default false).
    pub include_cancelled: Option<bool>,
}

/// Lessons in a time range, in time order: the school's staff see all, an
/// instructor their own, a candidate theirs.
#[utoipa::path(get, path = "/school/lessons", tag = "school planning", params(LessonsQuery),
    responses((status = 200, body = [Lesson]), (status = 422, body = Problem)))]
async fn list_lessons(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<LessonsQuery>,
) -> AppResult<Json<Vec<Lesson>>> {
    let viewer = Viewer::of(&state.db, &current).await?;
    let filter = LessonFilter {
        from: query.from.map(|d| d.with_timezone(&Utc)),
        to: query.to.map(|d| d.with_timezone(&Utc)),
        instructor_id: query.instructor_id,
        vehicle_id: query.vehicle_id,
        candidate_id: query.candidate_id,
        include_cancelled: query.include_cancelled.unwrap_or(false),
    };
    Ok(Json(service::list(&state.db, current.user.org, viewer, &filter).await?))
}

/// Book a lesson. Refused with 409 when a rule forbids it: `instructor_busy`,
/// `vehicle_busy`, `candidate_busy` (with `conflicting_id`, the lesson in the way),
/// `outside_availability`, `instructor_day_off`, `instructor_category`,
/// `vehicle_category`, `daily_limit`, `vehicle_unsafe` (with the alert's id).
#[utoipa::path(post, path = "/school/lessons", tag = "school planning", request_body = LessonInput,
    responses((status = 201, body = Lesson, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn book_lesson(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<LessonInput>,
) -> AppResult<Response> {
    let lesson = service::book(&state.db, &actor, &input).await?;
    Ok(created(&format!("/api/v1/school/lessons/{}", lesson.id), lesson))
}

#[utoipa::path(get, path = "/school/lessons/{id}", tag = "school planning", params(("id" = i64, Path)),
    responses((status = 200, body = Lesson), (status = 404, body = Problem)))]
async fn get_lesson(State(state): State<AppState>, current: CurrentUser, Id(id): Id) -> AppResult<Json<Lesson>> {
    let viewer = Viewer::of(&state.db, &current).await?;
    Ok(Json(service::get(&state.db, current.user.org, viewer, id).await?))
}

/// Move a scheduled lesson (new times, maybe another instructor or car); every rule is checked again.
#[utoipa::path(put, path = "/school/lessons/{id}", tag = "school planning", params(("id" = i64, Path)), request_body = MoveInput,
    responses((status = 200, body = Lesson), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn move_lesson(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<MoveInput>,
) -> AppResult<Json<Lesson>> {
    Ok(Json(service::move_lesson(&state.db, &actor, id, &input).await?))
}

/// Cancel a scheduled lesson; inside the school's notice it is marked `late_cancellation` and counted as due.
#[utoipa::path(post, path = "/school/lessons/{id}/cancel", tag = "school planning", params(("id" = i64, Path)), request_body = CancelInput,
    responses((status = 200, body = Lesson), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn cancel_lesson(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<CancelInput>,
) -> AppResult<Json<Lesson>> {
    Ok(Json(service::cancel(&state.db, &actor, id, &input).await?))
}

/// Record how a lesson went (`done` with what was worked on, or `no_show`), once it has begun.
#[utoipa::path(post, path = "/school/lessons/{id}/outcome", tag = "school planning", params(("id" = i64, Path)), request_body = OutcomeInput,
    responses((status = 200, body = Lesson), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_outcome(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> AppResult<Json<Lesson>> {
    let viewer = Viewer::of(&state.db, &current).await?;
    Ok(Json(service::record_outcome(&state.db, &actor, viewer, id, &input).await?))
}
