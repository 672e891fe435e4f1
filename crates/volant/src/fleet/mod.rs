//! Fleet: garages and their vehicles (seeds 000 and 001).

pub mod demo;
pub mod garages;
pub mod vehicles;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::{self, Access, Page};

use crate::identity::{self, roles::Permission};
use crate::platform::AppState;

/// The fleet API: signed-in users only, reading with `FleetRead`, writing with `FleetWrite`.
pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new().merge(garages::api::router()).merge(vehicles::api::router());
    identity::guard(routes, state, Permission::FleetRead, Permission::FleetWrite)
}

/// The fleet pages, behind sign-in and the same permissions as the API.
pub fn pages() -> Vec<Page> {
    let routes = garages::web::routes().into_iter().chain(vehicles::web::routes());
    web_pages::pages(Access::guarded(Permission::FleetRead, Permission::FleetWrite), routes)
}
