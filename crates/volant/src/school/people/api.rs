//! JSON API for the school's settings, instructors, training vehicles and candidates.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::candidates::{self, Candidate, CandidateFilter, CandidateInput, CandidateSummary};
use super::instructors::{self, Availability, Instructor, InstructorInput};
use super::settings::{self, SchoolSettings};
use super::vehicles::{self, TrainingVehicle, TrainingVehicleInput};
use crate::identity::Tenant;
use crate::identity::audit::Actor;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::{created, paged};
use crate::platform::pagination::PageRequest;
use crate::platform::proxy::ClientContext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(list_instructors, create_instructor))
        .routes(routes!(get_instructor, update_instructor))
        .routes(routes!(get_availability, set_availability))
        .routes(routes!(list_vehicles))
        .routes(routes!(get_vehicle, set_vehicle))
        .routes(routes!(list_candidates, create_candidate))
        .routes(routes!(get_candidate, update_candidate))
}

#[utoipa::path(get, path = "/school/settings", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = SchoolSettings)))]
async fn get_settings(State(state): State<AppState>, Tenant(org): Tenant) -> AppResult<Json<SchoolSettings>> {
    Ok(Json(settings::get(&state.db, org).await?))
}

#[utoipa::path(put, path = "/school/settings", security(("bearer" = ["school.write"])), tag = "school", request_body = SchoolSettings,
    responses((status = 200, body = SchoolSettings), (status = 422, body = Problem)))]
async fn update_settings(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<SchoolSettings>,
) -> AppResult<Json<SchoolSettings>> {
    Ok(Json(settings::update(&state.db, &actor, &input).await?))
}

#[utoipa::path(get, path = "/school/instructors", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = [Instructor])))]
async fn list_instructors(State(state): State<AppState>, Tenant(org): Tenant) -> AppResult<Json<Vec<Instructor>>> {
    Ok(Json(instructors::list(&state.db, org).await?))
}

#[utoipa::path(post, path = "/school/instructors", security(("bearer" = ["school.write"])), tag = "school", request_body = InstructorInput,
    responses((status = 201, body = Instructor, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_instructor(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<InstructorInput>,
) -> AppResult<Response> {
    let instructor = instructors::create(&state.db, &actor, &input).await?;
    Ok(created(&format!("/api/v1/school/instructors/{}", instructor.id), instructor))
}

#[utoipa::path(get, path = "/school/instructors/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Instructor), (status = 404, body = Problem)))]
async fn get_instructor(State(state): State<AppState>, Tenant(org): Tenant, Id(id): Id) -> AppResult<Json<Instructor>> {
    Ok(Json(instructors::get(&state.db, org, id).await?))
}

/// Replace every field of an instructor.
#[utoipa::path(put, path = "/school/instructors/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = InstructorInput,
    responses((status = 200, body = Instructor), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_instructor(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<InstructorInput>,
) -> AppResult<Json<Instructor>> {
    Ok(Json(instructors::update(&state.db, &actor, id, &input).await?))
}

/// The instructor's weekly availability (school's local time) and coming days off.
#[utoipa::path(get, path = "/school/instructors/{id}/availability", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Availability), (status = 404, body = Problem)))]
async fn get_availability(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    Id(id): Id,
) -> AppResult<Json<Availability>> {
    Ok(Json(instructors::availability(&state.db, org, id).await?))
}

/// Replace the instructor's week and coming days off.
#[utoipa::path(put, path = "/school/instructors/{id}/availability", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = Availability,
    responses((status = 200, body = Availability), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_availability(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<Availability>,
) -> AppResult<Json<Availability>> {
    Ok(Json(instructors::set_availability(&state.db, &actor, id, &input).await?))
}

#[utoipa::path(get, path = "/school/vehicles", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = [TrainingVehicle])))]
async fn list_vehicles(State(state): State<AppState>, Tenant(org): Tenant) -> AppResult<Json<Vec<TrainingVehicle>>> {
    Ok(Json(vehicles::list(&state.db, org).await?))
}

#[utoipa::path(get, path = "/school/vehicles/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = TrainingVehicle), (status = 404, body = Problem)))]
async fn get_vehicle(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    Id(id): Id,
) -> AppResult<Json<TrainingVehicle>> {
    Ok(Json(vehicles::get(&state.db, org, id).await?))
}

/// Flag a fleet vehicle as a training vehicle (or change its category, dual controls, activity).
#[utoipa::path(put, path = "/school/vehicles/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = TrainingVehicleInput,
    responses((status = 200, body = TrainingVehicle), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_vehicle(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<TrainingVehicleInput>,
) -> AppResult<Json<TrainingVehicle>> {
    Ok(Json(vehicles::set(&state.db, &actor, id, &input).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// Name prefix (`martin`, `martin lé`, `léa mar`) or exact candidate number.
    pub q: Option<String>,
    pub instructor_id: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// Search and list candidates, with their hours (no sensitive field; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/school/candidates", security(("bearer" = ["school.read"])), tag = "school", params(CandidatesQuery),
    responses((status = 200, body = [CandidateSummary]), (status = 400, body = Problem)))]
async fn list_candidates(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    ApiQuery(query): ApiQuery<CandidatesQuery>,
    OriginalUri(uri): OriginalUri,
    client: ClientContext,
) -> AppResult<Response> {
    let request = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let filter = CandidateFilter { q: query.q, instructor_id: query.instructor_id };
    let page = candidates::list(&state.db, org, &filter, request).await?;
    Ok(paged(&client, &uri, page.next_cursor.as_deref(), page.items))
}

#[utoipa::path(post, path = "/school/candidates", security(("bearer" = ["school.write"])), tag = "school", request_body = CandidateInput,
    responses((status = 201, body = Candidate, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_candidate(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<CandidateInput>,
) -> AppResult<Response> {
    let candidate = candidates::create(&state.db, &state.cipher, &actor, &input).await?;
    Ok(created(&format!("/api/v1/school/candidates/{}", candidate.summary.id), candidate))
}

/// A candidate's whole file, sensitive fields decrypted.
#[utoipa::path(get, path = "/school/candidates/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Candidate), (status = 404, body = Problem)))]
async fn get_candidate(State(state): State<AppState>, Tenant(org): Tenant, Id(id): Id) -> AppResult<Json<Candidate>> {
    Ok(Json(candidates::get(&state.db, &state.cipher, org, id).await?))
}

/// Replace every field of a candidate's file (the number is kept when absent).
#[utoipa::path(put, path = "/school/candidates/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = CandidateInput,
    responses((status = 200, body = Candidate), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_candidate(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<CandidateInput>,
) -> AppResult<Json<Candidate>> {
    Ok(Json(candidates::update(&state.db, &state.cipher, &actor, id, &input).await?))
}
