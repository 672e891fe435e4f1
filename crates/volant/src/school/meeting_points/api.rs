//! JSON API for the school's meeting points.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, MeetingPoint, MeetingPointInput};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::http::respond::created;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_meeting_points, create_meeting_point)).routes(routes!(
        get_meeting_point,
        replace_meeting_point,
        delete_meeting_point
    ))
}

/// The school's meeting points, by name, with their positions.
#[utoipa::path(get, path = "/school/meeting-points", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = [MeetingPoint])))]
async fn list_meeting_points(caller: Caller) -> AppResult<Json<Vec<MeetingPoint>>> {
    Ok(Json(service::list(&caller.db, caller.org).await?))
}

/// Add a meeting point: its address is located by the geocoder, or pinned with `latitude` and `longitude`.
#[utoipa::path(post, path = "/school/meeting-points", security(("bearer" = ["school.write"])), tag = "school", request_body = MeetingPointInput,
    responses((status = 201, body = MeetingPoint, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_meeting_point(caller: Caller, ApiJson(input): ApiJson<MeetingPointInput>) -> AppResult<Response> {
    let point = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/meeting-points/{}", point.id), point))
}

#[utoipa::path(get, path = "/school/meeting-points/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = MeetingPoint), (status = 404, body = Problem)))]
async fn get_meeting_point(caller: Caller, Id(id): Id) -> AppResult<Json<MeetingPoint>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Change a meeting point (a new address is located again unless pinned in the same request).
#[utoipa::path(put, path = "/school/meeting-points/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = MeetingPointInput,
    responses((status = 200, body = MeetingPoint), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_meeting_point(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<MeetingPointInput>,
) -> AppResult<Json<MeetingPoint>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

#[utoipa::path(delete, path = "/school/meeting-points/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_meeting_point(caller: Caller, Id(id): Id) -> AppResult<Response> {
    service::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
