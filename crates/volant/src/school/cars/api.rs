//! JSON API for the school's training vehicles.

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self as vehicles, TrainingVehicle, TrainingVehicleInput};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_vehicles)).routes(routes!(get_vehicle, set_vehicle))
}

#[utoipa::path(get, operation_id = "list_training_vehicles", path = "/school/vehicles", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = [TrainingVehicle])))]
async fn list_vehicles(caller: Caller) -> AppResult<Json<Vec<TrainingVehicle>>> {
    Ok(Json(vehicles::list(&caller.db, caller.org).await?))
}

#[utoipa::path(get, operation_id = "get_training_vehicle", path = "/school/vehicles/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = TrainingVehicle), (status = 404, body = Problem)))]
async fn get_vehicle(caller: Caller, Id(id): Id) -> AppResult<Json<TrainingVehicle>> {
    Ok(Json(vehicles::get(&caller.db, caller.org, id).await?))
}

/// Flag a fleet vehicle as a training vehicle (or change its category, dual controls, activity).
#[utoipa::path(put, path = "/school/vehicles/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = TrainingVehicleInput,
    responses((status = 200, body = TrainingVehicle), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_vehicle(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<TrainingVehicleInput>,
) -> AppResult<Json<TrainingVehicle>> {
    Ok(Json(vehicles::set(&caller.db, &caller.actor, id, &input).await?))
}
