//! Fleet: garages and their vehicles (seeds 000 and 001).

pub mod demo;
pub mod garages;
pub mod vehicles;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use futures_util::future::BoxFuture;

use crate::platform::error::AppResult;
use crate::platform::tenant::{self, OrgId};
use crate::platform::web::{Module, WelcomeStep};

/// The fleet API (each operation declares its permission: `fleet.read`, `fleet.write`).
pub fn api_router() -> OpenApiRouter<AppState> {
    garages::api::router().merge(vehicles::api::router())
}

/// The fleet pages, behind sign-in and the same permissions as the API.
pub fn pages() -> Vec<Page> {
    use Permission::{FleetRead, FleetWrite};
    let routes = garages::web::routes().into_iter().chain(vehicles::web::routes());
    let forms = garages::web::form_routes().into_iter().chain(vehicles::web::form_routes());
    let mut pages = web_pages::pages(Access::guarded(FleetRead, FleetWrite), routes);
    // A form's page opens only for those who may send it.
    pages.extend(web_pages::pages(Access::guarded(FleetWrite, FleetWrite), forms));
    pages
}

/// The fleet's navigation entries (Atelier).
pub fn menu() -> Vec<MenuEntry> {
    let fleet = Audience::May(Permission::FleetRead);
    vec![
        MenuEntry::new(Module::Workshop, "nav.garages", "/garages", fleet),
        MenuEntry::new(Module::Workshop, "nav.vehicles", "/vehicles", fleet),
    ]
}

/// The fleet's first steps: a garage, then a vehicle.
pub fn welcome_steps(state: &AppState, org: OrgId) -> BoxFuture<'_, AppResult<Vec<WelcomeStep>>> {
    Box::pin(async move {
        let db = &state.db;
        Ok(vec![
            WelcomeStep::new(
                Module::Workshop,
                "welcome.first_garage",
                ("/garages/new", Permission::FleetWrite),
                tenant::has_any::<garages::entity::Entity>(db, org).await?,
            ),
            WelcomeStep::new(
                Module::Workshop,
                "welcome.first_vehicle",
                ("/vehicles/new", Permission::FleetWrite),
                tenant::has_any::<vehicles::entity::Entity>(db, org).await?,
            ),
        ])
    })
}
