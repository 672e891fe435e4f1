//! JSON API for vehicles, under `/api/v1`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Vehicle, VehicleFilter, VehicleInput, VehiclePatch, VehicleSort};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id, id_filter};
use crate::platform::http::respond::{Paged, created};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_vehicles, create_vehicle)).routes(routes!(
        get_vehicle,
        replace_vehicle,
        patch_vehicle,
        delete_vehicle
    ))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VehiclesQuery {
    /// Vehicles whose plate, brand or model starts with this (ignoring case; spaces and dashes in plates).
    pub q: Option<String>,
    /// Only this garage's vehicles.
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub garage_id: Option<String>,
    /// Order: `id` (the default: creation order), `plate` or `year`, with `-`
    /// before it for descending.
    pub sort: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// Search and list vehicles (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/vehicles", security(("bearer" = ["fleet.read"])), tag = "vehicles", params(VehiclesQuery),
    responses((status = 200, body = [Vehicle]), (status = 400, body = Problem)))]
async fn list_vehicles(caller: Caller, ApiQuery(query): ApiQuery<VehiclesQuery>, paged: Paged) -> AppResult<Response> {
    let garage_id = id_filter("garage_id", query.garage_id.as_deref())?;
    let sort = VehicleSort::from_query(query.sort.as_deref(), VehicleSort::default())?;
    let filter = VehicleFilter { garage_id, q: query.q, sort };
    let page = service::list(&caller.replica, caller.org, &filter, paged.request.clone()).await?;
    Ok(paged.respond(page))
}

/// Register a vehicle in a garage. The plate must be unique (ignoring case, spaces and dashes).
#[utoipa::path(post, path = "/vehicles", security(("bearer" = ["fleet.write"])), tag = "vehicles", request_body = VehicleInput,
    responses((status = 201, body = Vehicle, headers(("Location" = String))), (status = 409, body = Problem, description = "The plate or the VIN is already another vehicle's (`duplicate_plate`, `duplicate_vin`); `conflicting_id` names it."), (status = 422, body = Problem)))]
async fn create_vehicle(caller: Caller, ApiJson(input): ApiJson<VehicleInput>) -> AppResult<Response> {
    let vehicle = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/vehicles/{}", vehicle.id), vehicle))
}

#[utoipa::path(get, path = "/vehicles/{id}", security(("bearer" = ["fleet.read"])), tag = "vehicles", params(("id" = i64, Path)),
    responses((status = 200, body = Vehicle), (status = 404, body = Problem)))]
async fn get_vehicle(caller: Caller, Id(id): Id) -> AppResult<Json<Vehicle>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Replace every field of a vehicle; a new `garage_id` moves it to that garage.
#[utoipa::path(put, path = "/vehicles/{id}", security(("bearer" = ["fleet.write"])), tag = "vehicles", params(("id" = i64, Path)), request_body = VehicleInput,
    responses((status = 200, body = Vehicle), (status = 404, body = Problem), (status = 409, body = Problem, description = "The plate or the VIN is already another vehicle's (`duplicate_plate`, `duplicate_vin`); `conflicting_id` names it."), (status = 422, body = Problem)))]
async fn replace_vehicle(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<VehicleInput>,
) -> AppResult<Json<Vehicle>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

/// Change some fields of a vehicle (`null` clears an optional field).
#[utoipa::path(patch, path = "/vehicles/{id}", security(("bearer" = ["fleet.write"])), tag = "vehicles", params(("id" = i64, Path)), request_body = VehiclePatch,
    responses((status = 200, body = Vehicle), (status = 404, body = Problem), (status = 409, body = Problem, description = "The plate or the VIN is already another vehicle's (`duplicate_plate`, `duplicate_vin`); `conflicting_id` names it."), (status = 422, body = Problem)))]
async fn patch_vehicle(caller: Caller, Id(id): Id, ApiJson(patch): ApiJson<VehiclePatch>) -> AppResult<Json<Vehicle>> {
    Ok(Json(service::patch(&caller.db, &caller.actor, id, patch).await?))
}

#[utoipa::path(delete, path = "/vehicles/{id}", security(("bearer" = ["fleet.write"])), tag = "vehicles", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The vehicle has a history it must keep (`vehicle_has_history`): nothing is deleted.")))]
async fn delete_vehicle(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    service::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
