//! Fleet: garages and their vehicles (seeds 000 and 001).

pub mod demo;
pub mod garages;
pub mod vehicles;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::platform::AppState;

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(garages::api::router()).merge(vehicles::api::router())
}

pub fn web_router() -> Router<AppState> {
    Router::new().merge(garages::web::router()).merge(vehicles::web::router())
}
