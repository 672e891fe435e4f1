//! Fleet: garages and their vehicles (seeds 000 and 001).

pub mod demo;
pub mod garages;
pub mod vehicles;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::identity::{self, roles::Permission};
use crate::platform::AppState;

/// The fleet API: signed-in users only, reading with `FleetRead`, writing with `FleetWrite`.
pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new().merge(garages::api::router()).merge(vehicles::api::router());
    identity::guard(routes, state, Permission::FleetRead, Permission::FleetWrite)
}

/// The fleet pages, behind sign-in and the same permissions as the API.
pub fn web_router(state: &AppState) -> Router<AppState> {
    let routes = Router::new().merge(garages::web::router()).merge(vehicles::web::router());
    identity::auth::web_pages::guard(routes, state, Permission::FleetRead, Permission::FleetWrite)
}
