//! JSON API for the service history: interventions and mileage readings.

use axum::Json;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, FromQuoteInput, Intervention, InterventionInput, MileageReading, ReadingInput};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::http::respond::created;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_intervention))
        .routes(routes!(complete_intervention))
        .routes(routes!(get_intervention))
        .routes(routes!(vehicle_interventions))
        .routes(routes!(client_interventions))
        .routes(routes!(intervention_from_quote))
        .routes(routes!(vehicle_readings, record_reading))
}

/// Record work done on a vehicle; its mileage becomes a reading and the maintenance it performed starts a new cycle.
#[utoipa::path(post, path = "/interventions", security(("bearer" = ["interventions.record"])), tag = "service history", request_body = InterventionInput,
    responses((status = 201, body = Intervention, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_intervention(caller: Caller, ApiJson(input): ApiJson<InterventionInput>) -> AppResult<Response> {
    let intervention = service::record(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/interventions/{}", intervention.id), intervention))
}

/// Complete an intervention under way (`in_progress`): the vehicle leaves the
/// workshop, the work is dated today and its maintenance counts (409 when already complete).
#[utoipa::path(post, path = "/interventions/{id}/complete", security(("bearer" = ["interventions.record"])), tag = "service history", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Sent again with the same key (1 to 255 visible ASCII characters) within a day, the write is applied once and its first answer given again (`Idempotent-Replayed: true`); 409 while the first one runs, 422 when the key was used for another request.")),
    responses((status = 200, body = Intervention), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn complete_intervention(caller: Caller, Id(id): Id) -> AppResult<Json<Intervention>> {
    Ok(Json(service::complete(&caller.db, &caller.actor, id).await?))
}

#[utoipa::path(get, path = "/interventions/{id}", security(("bearer" = ["workshop.read"])), tag = "service history", params(("id" = i64, Path)),
    responses((status = 200, body = Intervention), (status = 404, body = Problem)))]
async fn get_intervention(caller: Caller, Id(id): Id) -> AppResult<Json<Intervention>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// A vehicle's service history, most recent first.
#[utoipa::path(get, path = "/vehicles/{id}/interventions", security(("bearer" = ["workshop.read"])), tag = "service history", params(("id" = i64, Path)),
    responses((status = 200, body = [Intervention]), (status = 404, body = Problem)))]
async fn vehicle_interventions(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Intervention>>> {
    Ok(Json(service::of_vehicle(&caller.db, caller.org, id).await?))
}

/// Work done for a client (the 100 most recent).
#[utoipa::path(get, path = "/clients/{id}/interventions", security(("bearer" = ["workshop.read"])), tag = "service history", params(("id" = i64, Path)),
    responses((status = 200, body = [Intervention]), (status = 404, body = Problem)))]
async fn client_interventions(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Intervention>>> {
    crate::workshop::clients::service::get(&caller.db, caller.org, id).await?;
    Ok(Json(service::of_client(&caller.db, caller.org, id, 100).await?))
}

/// Turn an accepted quote into the intervention, with the lines the client accepted (once).
#[utoipa::path(post, path = "/quotes/{id}/intervention", security(("bearer" = ["interventions.record"])), tag = "service history", params(("id" = i64, Path)), request_body = FromQuoteInput,
    responses((status = 201, body = Intervention), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn intervention_from_quote(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<FromQuoteInput>,
) -> AppResult<Response> {
    let intervention = service::record_from_quote(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/interventions/{}", intervention.id), intervention))
}

/// A vehicle's odometer readings, oldest first.
#[utoipa::path(get, path = "/vehicles/{id}/mileage", security(("bearer" = ["workshop.read"])), tag = "service history", params(("id" = i64, Path)),
    responses((status = 200, body = [MileageReading]), (status = 404, body = Problem)))]
async fn vehicle_readings(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<MileageReading>>> {
    Ok(Json(service::readings(&caller.db, caller.org, id).await?))
}

/// Record an odometer reading; lower than the last one only as a correction (409 otherwise).
#[utoipa::path(post, path = "/vehicles/{id}/mileage", security(("bearer" = ["interventions.record"])), tag = "service history", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Sent again with the same key (1 to 255 visible ASCII characters) within a day, the write is applied once and its first answer given again (`Idempotent-Replayed: true`); 409 while the first one runs, 422 when the key was used for another request.")), request_body = ReadingInput,
    responses((status = 201, body = MileageReading), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_reading(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<ReadingInput>) -> AppResult<Response> {
    let reading = service::record_reading(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/vehicles/{id}/mileage"), reading))
}
