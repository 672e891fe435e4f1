//! `/api/v1/webhooks`: an organization's endpoints, their delivery log, a test
//! ping and replays (administrators: `org.settings`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Delivery, Endpoint, EndpointInput, EndpointPatch, EndpointWithSecret};
use crate::identity::Caller;
use crate::identity::scopes::{ApiArea, Level};
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id, IdPair};
use crate::platform::http::respond::created;
use crate::platform::i18n::Msg;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_webhook_deliveries))
        .routes(routes!(ping_webhook))
        .routes(routes!(replay_webhook_delivery))
}

/// The organization's webhook endpoints.
#[utoipa::path(get, path = "/webhooks", security(("bearer" = ["org.settings"])), tag = "webhooks",
    responses((status = 200, body = [Endpoint])))]
async fn list_webhooks(caller: Caller) -> AppResult<Json<Vec<Endpoint>>> {
    Ok(Json(super::list(&caller.db, caller.org).await?))
}

/// Subscribe a URL to events. The answer carries the signing secret (`whsec_…`,
/// Standard Webhooks); each delivery is a POST with `webhook-id`,
/// `webhook-timestamp` and `webhook-signature` headers. The URL must reach a public
/// address (422 `url`, naming why). 409 `webhook_limit` past 20 endpoints.
#[utoipa::path(post, path = "/webhooks", security(("bearer" = ["org.settings"])), tag = "webhooks",
    request_body = EndpointInput,
    responses((status = 201, body = EndpointWithSecret, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_webhook(caller: Caller, ApiJson(input): ApiJson<EndpointInput>) -> AppResult<Response> {
    let allow = caller.config.notify.webhook_allow_private_hosts;
    let made = super::create(&caller.db, (&caller.cipher, allow), &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/webhooks/{}", made.endpoint.id), made))
}

/// An endpoint with its signing secret. With a personal token: `administration:write`.
#[utoipa::path(get, path = "/webhooks/{id}", security(("bearer" = ["org.settings"])), tag = "webhooks",
    params(("id" = i64, Path)), responses((status = 200, body = EndpointWithSecret)))]
async fn get_webhook(caller: Caller, Id(id): Id) -> AppResult<Json<EndpointWithSecret>> {
    // The signing key lets its holder forge events: a read-only token may not see it.
    caller.current.user.require_scope(ApiArea::Administration, Level::Write)?;
    Ok(Json(super::get(&caller.db, &caller.cipher, caller.org, id).await?))
}

/// Change an endpoint: its URL, description, events, or turn it off and on
/// (turning it on again clears its failures).
#[utoipa::path(patch, path = "/webhooks/{id}", security(("bearer" = ["org.settings"])), tag = "webhooks",
    params(("id" = i64, Path)), request_body = EndpointPatch,
    responses((status = 200, body = Endpoint), (status = 422, body = Problem)))]
async fn update_webhook(
    caller: Caller,
    Id(id): Id,
    ApiJson(patch): ApiJson<EndpointPatch>,
) -> AppResult<Json<Endpoint>> {
    let allow = caller.config.notify.webhook_allow_private_hosts;
    Ok(Json(super::update(&caller.db, allow, &caller.actor, id, &patch).await?))
}

/// Delete an endpoint and its delivery log.
#[utoipa::path(delete, path = "/webhooks/{id}", security(("bearer" = ["org.settings"])), tag = "webhooks",
    params(("id" = i64, Path)), responses((status = 204)))]
async fn delete_webhook(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    super::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveryQuery {
    /// Deliveries older than this one (its id): the next page.
    #[param(value_type = Option<i64>)]
    before: Option<String>,
    /// At most this many, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// An endpoint's delivery log, newest first: each delivery's event, body,
/// status, attempts, the receiver's last answer and how long it took.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", security(("bearer" = ["org.settings"])), tag = "webhooks",
    params(("id" = i64, Path), DeliveryQuery), responses((status = 200, body = [Delivery])))]
async fn list_webhook_deliveries(
    caller: Caller,
    Id(id): Id,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> AppResult<Json<Vec<Delivery>>> {
    let before = match query.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => {
            Some(text.parse::<i64>().map_err(|_| AppError::validation("before", Msg::new("field.not_a_number")))?)
        }
    };
    let page = crate::platform::pagination::PageRequest::parse(query.limit.as_deref(), None)?;
    Ok(Json(super::deliveries(&caller.db, caller.org, id, before, page.limit).await?))
}

/// Send a `ping` event to the endpoint now (through the queue, like any delivery).
#[utoipa::path(post, path = "/webhooks/{id}/ping", security(("bearer" = ["org.settings"])), tag = "webhooks",
    params(("id" = i64, Path)), responses((status = 202, body = Delivery)))]
async fn ping_webhook(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let delivery = super::ping(&caller.db, caller.org, id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}

/// Send a delivery's message again: the same `webhook-id` and body, signed anew.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/replay", security(("bearer" = ["org.settings"])), tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)), responses((status = 202, body = Delivery)))]
async fn replay_webhook_delivery(caller: Caller, IdPair(id, delivery_id): IdPair) -> AppResult<Response> {
    let delivery = super::replay(&caller.db, caller.org, id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}
