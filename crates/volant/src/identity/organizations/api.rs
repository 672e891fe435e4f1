//! `/api/v1/organization`: the caller's organization settings.

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Organization, OrganizationPatch};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::ApiJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_organization, patch_organization)).routes(routes!(
        get_logo,
        put_logo,
        delete_logo
    ))
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

/// Your organization's logo, as stored (every member; 404 without one).
#[utoipa::path(get, path = "/organization/logo", security(("bearer" = ["own_profile"])), tag = "organization",
    responses((status = 200, content_type = "image/png", body = Vec<u8>, description = "The image, PNG or JPEG"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_logo(caller: Caller) -> AppResult<Response> {
    let logo = super::logo::get(&caller.db, caller.org).await?.ok_or(AppError::NotFound)?;
    Ok(logo_response(logo))
}

/// The logo as an image answer: cached privately, the key names the version.
pub fn logo_response(logo: super::logo::Logo) -> Response {
    let headers = [
        (header::CONTENT_TYPE, logo.content_type),
        (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
        (header::ETAG, format!("\"{}\"", logo.key)),
    ];
    (headers, logo.bytes).into_response()
}

/// Set your organization's logo (administrators): the image itself as the body,
/// PNG or JPEG, at most 512 KiB. It is printed on quotes, e-mails and the
/// client's approval page.
#[utoipa::path(put, path = "/organization/logo", security(("bearer" = ["org.settings"])), tag = "organization",
    request_body(content = Vec<u8>, content_type = "image/png", description = "A PNG (`image/png`) or JPEG (`image/jpeg`) image"),
    responses((status = 204), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn put_logo(caller: Caller, headers: HeaderMap, body: Bytes) -> AppResult<StatusCode> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !matches!(essence.as_str(), "image/png" | "image/jpeg") {
        return Err(AppError::UnsupportedMediaType);
    }
    super::logo::set(&caller.db, &caller.actor, body.to_vec()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove your organization's logo (administrators).
#[utoipa::path(delete, path = "/organization/logo", security(("bearer" = ["org.settings"])), tag = "organization",
    responses((status = 204), (status = 403, body = Problem)))]
async fn delete_logo(caller: Caller) -> AppResult<StatusCode> {
    super::logo::remove(&caller.db, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
