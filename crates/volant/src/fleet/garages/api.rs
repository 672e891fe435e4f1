//! JSON API for garages, under `/api/v1`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Garage, GarageField, GarageInput, GaragePatch, GarageSort};
use crate::fleet::vehicles::service::{self as vehicles, Vehicle};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::{Paged, created};
use crate::platform::pagination::PageParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_garages, create_garage))
        .routes(routes!(get_garage, replace_garage, patch_garage, delete_garage))
        .routes(routes!(list_garage_vehicles))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GarageVehiclesQuery {
    /// Vehicles whose plate, brand or model starts with this (ignoring case; spaces and dashes in plates).
    pub q: Option<String>,
    /// Order: `id` (the default: creation order), `plate` or `year`, with `-`
    /// before it for descending.
    pub sort: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GaragesQuery {
    /// Order: `id` (the default: creation order), `name` or `vehicles` (how many
    /// vehicles), with `-` before it for descending.
    pub sort: Option<String>,
}

/// List garages with their vehicle counts (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/garages", security(("bearer" = ["fleet.read"])), tag = "garages", params(PageParams, GaragesQuery),
    responses((status = 200, body = [Garage]), (status = 400, body = Problem)))]
async fn list_garages(caller: Caller, ApiQuery(query): ApiQuery<GaragesQuery>, paged: Paged) -> AppResult<Response> {
    let sort = GarageSort::from_query(query.sort.as_deref(), GarageSort::ascending(GarageField::Id))?;
    let page = service::list(&caller.replica, caller.org, sort, paged.request.clone()).await?;
    Ok(paged.respond(page))
}

/// Create a garage.
#[utoipa::path(post, path = "/garages", security(("bearer" = ["fleet.write"])), tag = "garages", request_body = GarageInput,
    responses((status = 201, body = Garage, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn create_garage(caller: Caller, ApiJson(input): ApiJson<GarageInput>) -> AppResult<Response> {
    let garage = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/garages/{}", garage.id), garage))
}

/// A garage with its vehicle count.
#[utoipa::path(get, path = "/garages/{id}", security(("bearer" = ["fleet.read"])), tag = "garages", params(("id" = i64, Path)),
    responses((status = 200, body = Garage), (status = 404, body = Problem)))]
async fn get_garage(caller: Caller, Id(id): Id) -> AppResult<Json<Garage>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Replace every field of a garage.
#[utoipa::path(put, path = "/garages/{id}", security(("bearer" = ["fleet.write"])), tag = "garages", params(("id" = i64, Path)), request_body = GarageInput,
    responses((status = 200, body = Garage), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn replace_garage(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<GarageInput>) -> AppResult<Json<Garage>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

/// Change some fields of a garage (`null` clears an optional field).
#[utoipa::path(patch, path = "/garages/{id}", security(("bearer" = ["fleet.write"])), tag = "garages", params(("id" = i64, Path)), request_body = GaragePatch,
    responses((status = 200, body = Garage), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn patch_garage(caller: Caller, Id(id): Id, ApiJson(patch): ApiJson<GaragePatch>) -> AppResult<Json<Garage>> {
    Ok(Json(service::patch(&caller.db, &caller.actor, id, patch).await?))
}

/// Delete an empty garage; 409 while it still holds vehicles (nothing is deleted).
#[utoipa::path(delete, path = "/garages/{id}", security(("bearer" = ["fleet.write"])), tag = "garages", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem, description = "The garage still holds vehicles (`garage_not_empty`): nothing is deleted.")))]
async fn delete_garage(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    service::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The vehicles of a garage, searchable and paginated.
#[utoipa::path(get, path = "/garages/{id}/vehicles", security(("bearer" = ["fleet.read"])), tag = "garages", params(("id" = i64, Path), GarageVehiclesQuery),
    responses((status = 200, body = [Vehicle]), (status = 404, body = Problem)))]
async fn list_garage_vehicles(
    caller: Caller,
    Id(id): Id,
    ApiQuery(query): ApiQuery<GarageVehiclesQuery>,
    paged: Paged,
) -> AppResult<Response> {
    let sort = vehicles::VehicleSort::from_query(query.sort.as_deref(), vehicles::VehicleSort::default())?;
    let page = vehicles::list_in_garage(&caller.replica, caller.org, id, query.q, sort, paged.request.clone()).await?;
    Ok(paged.respond(page))
}
