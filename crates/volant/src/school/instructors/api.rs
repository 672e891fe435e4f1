//! JSON API for the school's instructors and their availability.

use axum::Json;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self as instructors, Availability, Instructor, InstructorInput};
use crate::identity::Caller;
use crate::identity::passwords::api::{Invited, invited};
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::http::respond::created;
use crate::platform::proxy::ClientContext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite_instructor))
        .routes(routes!(list_instructors, create_instructor))
        .routes(routes!(get_instructor, update_instructor))
        .routes(routes!(get_availability, set_availability))
}

#[utoipa::path(get, path = "/school/instructors", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = [Instructor])))]
async fn list_instructors(caller: Caller) -> AppResult<Json<Vec<Instructor>>> {
    Ok(Json(instructors::list(&caller.db, caller.org).await?))
}

#[utoipa::path(post, path = "/school/instructors", security(("bearer" = ["school.write"])), tag = "school", request_body = InstructorInput,
    responses((status = 201, body = Instructor, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_instructor(caller: Caller, ApiJson(input): ApiJson<InstructorInput>) -> AppResult<Response> {
    let instructor = instructors::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/instructors/{}", instructor.id), instructor))
}

#[utoipa::path(get, path = "/school/instructors/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Instructor), (status = 404, body = Problem)))]
async fn get_instructor(caller: Caller, Id(id): Id) -> AppResult<Json<Instructor>> {
    Ok(Json(instructors::get(&caller.db, caller.org, id).await?))
}

/// Replace every field of an instructor.
#[utoipa::path(put, path = "/school/instructors/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = InstructorInput,
    responses((status = 200, body = Instructor), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_instructor(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<InstructorInput>,
) -> AppResult<Json<Instructor>> {
    Ok(Json(instructors::update(&caller.db, &caller.actor, id, &input).await?))
}

/// The instructor's weekly availability (school's local time) and coming days off.
#[utoipa::path(get, path = "/school/instructors/{id}/availability", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Availability), (status = 404, body = Problem)))]
async fn get_availability(caller: Caller, Id(id): Id) -> AppResult<Json<Availability>> {
    Ok(Json(instructors::availability(&caller.db, caller.org, id).await?))
}

/// Replace the instructor's week and coming days off.
#[utoipa::path(put, path = "/school/instructors/{id}/availability", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = Availability,
    responses((status = 200, body = Availability), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_availability(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<Availability>,
) -> AppResult<Json<Availability>> {
    Ok(Json(instructors::set_availability(&caller.db, &caller.actor, id, &input).await?))
}

/// Create the instructor's sign-in account (role `instructor`), link this file to it and
/// e-mail them an invitation to choose their password (valid 7 days). 422 when the
/// file has no e-mail address; 409 when it already has an account or the address
/// is another account's.
#[utoipa::path(post, path = "/school/instructors/{id}/invitation", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 201, body = Invited), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn invite_instructor(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Response> {
    let (user, link) = instructors::invite(&caller.db, &caller.actor, &caller.current.user, id).await?;
    invited(&caller, &client, user, link).await
}
