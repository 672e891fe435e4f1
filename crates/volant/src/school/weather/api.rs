//! JSON API for lesson weather: the school's thresholds, and a lesson's forecast.

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, LessonWeather, WeatherSettings};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::school::access::Viewer;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_weather_settings, update_weather_settings)).routes(routes!(lesson_weather))
}

#[utoipa::path(get, path = "/school/weather/settings", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = WeatherSettings)))]
async fn get_weather_settings(caller: Caller) -> AppResult<Json<WeatherSettings>> {
    Ok(Json(service::settings(&caller.db, caller.org).await?))
}

/// The weather thresholds: above a `medium` one a lesson is a medium risk, above a `high` one a high risk.
#[utoipa::path(put, path = "/school/weather/settings", security(("bearer" = ["school.write"])), tag = "school", request_body = WeatherSettings,
    responses((status = 200, body = WeatherSettings), (status = 422, body = Problem)))]
async fn update_weather_settings(
    caller: Caller,
    ApiJson(input): ApiJson<WeatherSettings>,
) -> AppResult<Json<WeatherSettings>> {
    Ok(Json(service::update_settings(&caller.db, &caller.actor, &input).await?))
}

/// A lesson's weather as last assessed (every 30 minutes for the coming seven
/// days); 404 while there is none (no weather service, a meeting
/// point not on the map, a lesson beyond the forecast).
#[utoipa::path(get, path = "/school/lessons/{id}/weather", security(("bearer" = ["school.planning"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = LessonWeather), (status = 404, body = Problem)))]
async fn lesson_weather(caller: Caller, Id(id): Id) -> AppResult<Json<LessonWeather>> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    crate::school::planning::service::get(&caller.db, caller.org, viewer, id).await?;
    let mut found = service::of_lessons(&caller.db, caller.org, &[id]).await?;
    found.remove(&id).map(Json).ok_or(AppError::NotFound)
}
