//! JSON API for clients and the vehicles they own, under `/api/v1`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Client, ClientField, ClientInput, ClientSort, Ownership};
use crate::fleet::vehicles::service::Vehicle;
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id, IdPair};
use crate::platform::http::respond::{Paged, created};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, replace_client, delete_client))
        .routes(routes!(client_vehicles, assign_vehicle))
        .routes(routes!(release_vehicle))
        .routes(routes!(vehicle_owners))
        .routes(routes!(client_distances))
}

/// How far each garage is from the client (great-circle, nearest first), once
/// the client's address is located.
#[utoipa::path(get, path = "/clients/{id}/distances", security(("bearer" = ["workshop.read"])), tag = "clients", params(("id" = i64, Path)),
    responses((status = 200, body = service::ClientDistances), (status = 404, body = Problem)))]
async fn client_distances(caller: Caller, Id(id): Id) -> AppResult<Json<service::ClientDistances>> {
    Ok(Json(service::distances(&caller.replica, caller.org, id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientsQuery {
    /// Clients with a name, company, e-mail or phone word starting with each word of this, or owning a vehicle whose plate starts with it.
    pub q: Option<String>,
    /// Order: `id` (the default: creation order) or `name` (as shown: a company's
    /// name for a company), with `-` before it for descending.
    pub sort: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// Search and list clients (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/clients", security(("bearer" = ["workshop.read"])), tag = "clients", params(ClientsQuery),
    responses((status = 200, body = [Client]), (status = 400, body = Problem)))]
async fn list_clients(caller: Caller, ApiQuery(query): ApiQuery<ClientsQuery>, paged: Paged) -> AppResult<Response> {
    let sort = ClientSort::from_query(query.sort.as_deref(), ClientSort::ascending(ClientField::Id))?;
    let page = service::list_sorted(&caller.db, caller.org, query.q.as_deref(), sort, paged.request.clone()).await?;
    Ok(paged.respond(page))
}

#[utoipa::path(post, path = "/clients", security(("bearer" = ["workshop.write"])), tag = "clients", request_body = ClientInput,
    responses((status = 201, body = Client, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn create_client(caller: Caller, ApiJson(input): ApiJson<ClientInput>) -> AppResult<Response> {
    let client = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/clients/{}", client.id), client))
}

#[utoipa::path(get, path = "/clients/{id}", security(("bearer" = ["workshop.read"])), tag = "clients", params(("id" = i64, Path)),
    responses((status = 200, body = Client), (status = 404, body = Problem)))]
async fn get_client(caller: Caller, Id(id): Id) -> AppResult<Json<Client>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Replace every field of a client.
#[utoipa::path(put, path = "/clients/{id}", security(("bearer" = ["workshop.write"])), tag = "clients", params(("id" = i64, Path)), request_body = ClientInput,
    responses((status = 200, body = Client), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn replace_client(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<ClientInput>) -> AppResult<Json<Client>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

/// Delete a client without quotes or vehicle history (409 otherwise).
#[utoipa::path(delete, path = "/clients/{id}", security(("bearer" = ["workshop.write"])), tag = "clients", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem, description = "The client has quotes or a vehicle history (`client_has_history`): nothing is deleted.")))]
async fn delete_client(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    service::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The vehicles the client owns today.
#[utoipa::path(get, path = "/clients/{id}/vehicles", security(("bearer" = ["workshop.read"])), tag = "clients", params(("id" = i64, Path)),
    responses((status = 200, body = [Vehicle]), (status = 404, body = Problem)))]
async fn client_vehicles(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Vehicle>>> {
    Ok(Json(service::vehicles_of(&caller.db, caller.org, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignVehicle {
    pub vehicle_id: i64,
}

/// Make the client the vehicle's owner from now on (the previous owner's period ends).
#[utoipa::path(post, path = "/clients/{id}/vehicles", security(("bearer" = ["workshop.write"])), tag = "clients", params(("id" = i64, Path)), request_body = AssignVehicle,
    responses((status = 200, body = Ownership), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn assign_vehicle(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<AssignVehicle>,
) -> AppResult<Json<Ownership>> {
    Ok(Json(service::assign_vehicle(&caller.db, &caller.actor, id, input.vehicle_id).await?))
}

/// End the client's ownership of the vehicle (sold, scrapped).
#[utoipa::path(delete, path = "/clients/{id}/vehicles/{vehicle_id}", security(("bearer" = ["workshop.write"])), tag = "clients",
    params(("id" = i64, Path), ("vehicle_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn release_vehicle(caller: Caller, IdPair(id, vehicle_id): IdPair) -> AppResult<StatusCode> {
    service::release_vehicle(&caller.db, &caller.actor, id, vehicle_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everyone who has owned the vehicle, oldest first.
#[utoipa::path(get, path = "/vehicles/{id}/owners", security(("bearer" = ["workshop.read"])), tag = "clients", params(("id" = i64, Path)),
    responses((status = 200, body = [Ownership]), (status = 404, body = Problem)))]
async fn vehicle_owners(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Ownership>>> {
    Ok(Json(service::ownership_history(&caller.db, caller.org, id).await?))
}
