//! JSON API for lessons: the planning (each viewer sees their own), booking,
//! moving, cancelling, and recording how a lesson went.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::calendar::{self, CalendarFeed};
use super::service::{self, CancelInput, Lesson, LessonFilter, LessonInput, MoveInput, OutcomeInput};
use super::slots::{self, OwnBooking, Slot};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::created;
use crate::platform::i18n::Msg;
use crate::platform::proxy::ClientContext;
use crate::school::access::Viewer;
use crate::school::candidates::progress::CompetencyProgress;
use crate::school::candidates::service as candidates;

/// Lessons (the planning), their outcomes, and each person's own calendar feed,
/// free slots, bookings and progress.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_lessons, book_lesson))
        .routes(routes!(get_lesson, move_lesson))
        .routes(routes!(cancel_lesson))
        .routes(routes!(record_outcome))
        .routes(routes!(create_feed, revoke_feed))
        .routes(routes!(free_slots))
        .routes(routes!(book_own))
        .routes(routes!(progress))
}

/// A private iCalendar address for the caller's own lessons (instructor or
/// candidate); the previous address stops working.
#[utoipa::path(post, path = "/school/calendar-feed", security(("bearer" = ["school.planning"])), tag = "school planning",
    responses((status = 201, body = CalendarFeed), (status = 409, body = Problem)))]
async fn create_feed(caller: Caller, client: ClientContext) -> AppResult<Response> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let feed = calendar::create(&caller.db, &caller.actor, viewer, &client.public_url(&caller.config)).await?;
    Ok((StatusCode::CREATED, Json(feed)).into_response())
}

/// Stop the caller's calendar address.
#[utoipa::path(delete, path = "/school/calendar-feed", security(("bearer" = ["school.planning"])), tag = "school planning",
    responses((status = 204), (status = 409, body = Problem)))]
async fn revoke_feed(caller: Caller) -> AppResult<StatusCode> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    calendar::revoke(&caller.db, viewer).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// The candidate (a candidate always gets their own).
    pub candidate_id: Option<i64>,
}

/// The candidate a viewer asks about: a candidate is themselves, an instructor
/// may ask about their own candidates, the staff about anyone.
async fn candidate_for(caller: &Caller, asked: Option<i64>) -> AppResult<(Viewer, i64)> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let org = caller.org;
    let id = match (viewer, asked) {
        (Viewer::Candidate(id), _) => id,
        (Viewer::School, Some(id)) => candidates::summary_of(&caller.db, org, id).await?.id,
        (Viewer::Instructor(me), Some(id)) => {
            let file = candidates::summary_of(&caller.db, org, id).await?;
            if file.instructor_id != Some(me) {
                return Err(AppError::NotFound);
            }
            id
        }
        (_, None) => return Err(AppError::validation("candidate_id", Msg::new("field.required"))),
        (Viewer::Nobody, Some(_)) => return Err(AppError::NotFound),
    };
    Ok((viewer, id))
}

/// The hour-long slots of the candidate's instructor free for both, in the next two weeks.
#[utoipa::path(get, path = "/school/free-slots", security(("bearer" = ["school.planning"])), tag = "school planning", params(CandidateQuery),
    responses((status = 200, body = [Slot]), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn free_slots(caller: Caller, ApiQuery(query): ApiQuery<CandidateQuery>) -> AppResult<Json<Vec<Slot>>> {
    let (_, candidate_id) = candidate_for(&caller, query.candidate_id).await?;
    Ok(Json(slots::free_slots(&caller.db, caller.org, candidate_id, Utc::now()).await?))
}

/// A candidate books an hour of driving with their instructor (when the school
/// allows it: `self_booking_disabled` otherwise), in a free car of their category.
#[utoipa::path(post, path = "/school/my-lessons", security(("bearer" = ["school.planning"])), tag = "school planning", request_body = OwnBooking,
    responses((status = 201, body = Lesson), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn book_own(caller: Caller, ApiJson(input): ApiJson<OwnBooking>) -> AppResult<Response> {
    let Viewer::Candidate(candidate_id) = Viewer::of(&caller.db, &caller.current).await? else {
        return Err(AppError::Conflict {
            code: "no_own_planning",
            field: None,
            message: Msg::new("calendar.no_own_planning"),
        });
    };
    let lesson = slots::book_own(&caller.db, &caller.actor, candidate_id, &input).await?;
    Ok(created(&format!("/api/v1/school/lessons/{}", lesson.id), lesson))
}

/// The candidate's progress on the competency grid (each item's latest level).
#[utoipa::path(get, path = "/school/progress", security(("bearer" = ["school.planning"])), tag = "school planning", params(CandidateQuery),
    responses((status = 200, body = [CompetencyProgress]), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn progress(
    caller: Caller,
    ApiQuery(query): ApiQuery<CandidateQuery>,
) -> AppResult<Json<Vec<CompetencyProgress>>> {
    let (_, candidate_id) = candidate_for(&caller, query.candidate_id).await?;
    Ok(Json(crate::school::candidates::progress::grid_of(&caller.db, candidate_id).await?))
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
#[utoipa::path(get, path = "/school/lessons", security(("bearer" = ["school.planning"])), tag = "school planning", params(LessonsQuery),
    responses((status = 200, body = [Lesson]), (status = 422, body = Problem)))]
async fn list_lessons(caller: Caller, ApiQuery(query): ApiQuery<LessonsQuery>) -> AppResult<Json<Vec<Lesson>>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let filter = LessonFilter {
        from: query.from.map(|d| d.with_timezone(&Utc)),
        to: query.to.map(|d| d.with_timezone(&Utc)),
        instructor_id: query.instructor_id,
        vehicle_id: query.vehicle_id,
        candidate_id: query.candidate_id,
        include_cancelled: query.include_cancelled.unwrap_or(false),
    };
    Ok(Json(service::list(&caller.db, caller.org, viewer, &filter).await?))
}

/// Book a lesson. Refused with 409 when a rule forbids it: `instructor_busy`,
/// `vehicle_busy`, `candidate_busy` (with `conflicting_id`, the lesson in the way),
/// `outside_availability`, `instructor_day_off`, `instructor_category`,
/// `vehicle_category`, `daily_limit`, `vehicle_unsafe` (with the alert's id).
#[utoipa::path(post, path = "/school/lessons", security(("bearer" = ["school.write"])), tag = "school planning", request_body = LessonInput,
    responses((status = 201, body = Lesson, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn book_lesson(caller: Caller, ApiJson(input): ApiJson<LessonInput>) -> AppResult<Response> {
    let lesson = service::book(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/lessons/{}", lesson.id), lesson))
}

#[utoipa::path(get, path = "/school/lessons/{id}", security(("bearer" = ["school.planning"])), tag = "school planning", params(("id" = i64, Path)),
    responses((status = 200, body = Lesson), (status = 404, body = Problem)))]
async fn get_lesson(caller: Caller, Id(id): Id) -> AppResult<Json<Lesson>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    Ok(Json(service::get(&caller.db, caller.org, viewer, id).await?))
}

/// Move a scheduled lesson (new times, maybe another instructor or car); every rule is checked again.
#[utoipa::path(put, path = "/school/lessons/{id}", security(("bearer" = ["school.write"])), tag = "school planning", params(("id" = i64, Path)), request_body = MoveInput,
    responses((status = 200, body = Lesson), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn move_lesson(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<MoveInput>) -> AppResult<Json<Lesson>> {
    Ok(Json(service::move_lesson(&caller.db, &caller.actor, id, &input).await?))
}

/// Cancel a scheduled lesson; inside the school's notice it is marked `late_cancellation` and counted as due.
#[utoipa::path(post, path = "/school/lessons/{id}/cancel", security(("bearer" = ["school.write"])), tag = "school planning", params(("id" = i64, Path)), request_body = CancelInput,
    responses((status = 200, body = Lesson), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn cancel_lesson(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<CancelInput>) -> AppResult<Json<Lesson>> {
    Ok(Json(service::cancel(&caller.db, &caller.actor, id, &input).await?))
}

/// Record how a lesson went (`done` with what was worked on, or `no_show`), once it has begun.
#[utoipa::path(post, path = "/school/lessons/{id}/outcome", security(("bearer" = ["teaching"])), tag = "school planning", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Sent again with the same key (1 to 255 visible ASCII characters) within a day, the write is applied once and its first answer given again (`Idempotent-Replayed: true`); 409 while the first one runs, 422 when the key was used for another request.")), request_body = OutcomeInput,
    responses((status = 200, body = Lesson), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_outcome(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<OutcomeInput>) -> AppResult<Json<Lesson>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    Ok(Json(service::record_outcome(&caller.db, &caller.actor, viewer, id, &input).await?))
}
