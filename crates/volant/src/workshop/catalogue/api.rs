//! JSON API for the workshop's catalogue, under `/api/v1/catalogue`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, CatalogueItem, CatalogueItemInput};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::{Paged, created};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_items, create_item)).routes(routes!(get_item, replace_item, delete_item))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Items with a description word starting with each word of this.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// The catalogue of parts and labour, oldest first (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/catalogue", security(("bearer" = ["workshop.read"])), tag = "catalogue", params(CatalogueQuery),
    responses((status = 200, body = [CatalogueItem]), (status = 400, body = Problem)))]
async fn list_items(caller: Caller, ApiQuery(query): ApiQuery<CatalogueQuery>, paged: Paged) -> AppResult<Response> {
    let page = service::list(&caller.db, caller.org, query.q.as_deref(), paged.request.clone()).await?;
    Ok(paged.respond(page))
}

/// Add a part or labour at its usual price (409 when the description is already in the catalogue).
#[utoipa::path(post, path = "/catalogue", security(("bearer" = ["workshop.write"])), tag = "catalogue", request_body = CatalogueItemInput,
    responses((status = 201, body = CatalogueItem, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_item(caller: Caller, ApiJson(input): ApiJson<CatalogueItemInput>) -> AppResult<Response> {
    let item = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/catalogue/{}", item.id), item))
}

#[utoipa::path(get, path = "/catalogue/{id}", security(("bearer" = ["workshop.read"])), tag = "catalogue", params(("id" = i64, Path)),
    responses((status = 200, body = CatalogueItem), (status = 404, body = Problem)))]
async fn get_item(caller: Caller, Id(id): Id) -> AppResult<Json<CatalogueItem>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Replace every field of an item (quotes already written keep their lines).
#[utoipa::path(put, path = "/catalogue/{id}", security(("bearer" = ["workshop.write"])), tag = "catalogue", params(("id" = i64, Path)), request_body = CatalogueItemInput,
    responses((status = 200, body = CatalogueItem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_item(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<CatalogueItemInput>,
) -> AppResult<Json<CatalogueItem>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

/// Remove an item (quotes already written keep their lines).
#[utoipa::path(delete, path = "/catalogue/{id}", security(("bearer" = ["workshop.write"])), tag = "catalogue", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_item(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    service::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
