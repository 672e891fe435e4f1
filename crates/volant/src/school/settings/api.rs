//! JSON API for the school's settings.

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self as settings, SchoolSettings};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::ApiJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

#[utoipa::path(get, operation_id = "get_school_settings", path = "/school/settings", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = SchoolSettings)))]
async fn get_settings(caller: Caller) -> AppResult<Json<SchoolSettings>> {
    Ok(Json(settings::get(&caller.db, caller.org).await?))
}

#[utoipa::path(put, operation_id = "update_school_settings", path = "/school/settings", security(("bearer" = ["school.write"])), tag = "school", request_body = SchoolSettings,
    responses((status = 200, body = SchoolSettings), (status = 422, body = Problem)))]
async fn update_settings(caller: Caller, ApiJson(input): ApiJson<SchoolSettings>) -> AppResult<Json<SchoolSettings>> {
    Ok(Json(settings::update(&caller.db, &caller.actor, &input).await?))
}
