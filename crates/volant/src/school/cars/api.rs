//! JSON API for the school's training vehicles.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self as vehicles, TrainingVehicle, TrainingVehicleInput};
use crate::identity::Tenant;
use crate::identity::audit::Actor;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_vehicles)).routes(routes!(get_vehicle, set_vehicle))
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
