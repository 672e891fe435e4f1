//! Fleet: garages and their vehicles (seeds 000 and 001).

pub mod demo;
pub mod garages;
pub mod vehicles;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::web::Module;

/// The fleet API (each operation declares its permission: `fleet.read`, `fleet.write`).
pub fn api_router() -> OpenApiRouter<AppState> {
    garages::api::router().merge(vehicles::api::router())
}

/// The fleet pages, behind sign-in and the same permissions as the API.
pub fn pages() -> Vec<Page> {
    let routes = garages::web::routes().into_iter().chain(vehicles::web::routes());
    web_pages::pages(Access::guarded(Permission::FleetRead, Permission::FleetWrite), routes)
}

/// The fleet's navigation entries (Atelier).
pub fn menu() -> Vec<MenuEntry> {
    let fleet = Audience::May(Permission::FleetRead);
    vec![
        MenuEntry::new(Module::Workshop, "nav.garages", "/garages", fleet),
        MenuEntry::new(Module::Workshop, "nav.vehicles", "/vehicles", fleet),
    ]
}
