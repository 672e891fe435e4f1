//! `/api/v1/organization`: the caller's organization settings.

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Organization, OrganizationPatch};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::ApiJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_organization, patch_organization))
}

/// Your organization's settings (every member).
#[utoipa::path(get, path = "/organization", security(("bearer" = ["own_profile"])), tag = "organization",
    responses((status = 200, body = Organization), (status = 401, body = Problem)))]
async fn get_organization(caller: Caller) -> AppResult<Json<Organization>> {
    Ok(Json(service::get(&caller.db, caller.org).await?))
}

/// Change your organization's settings (administrators).
#[utoipa::path(patch, path = "/organization", security(("bearer" = ["org.settings"])), tag = "organization", request_body = OrganizationPatch,
    responses((status = 200, body = Organization), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn patch_organization(
    caller: Caller,
    ApiJson(patch): ApiJson<OrganizationPatch>,
) -> AppResult<Json<Organization>> {
    Ok(Json(service::update(&caller.db, &caller.actor, patch).await?))
}
