//! Workshop (seed 004, GestionPro): clients and their vehicles, quotes (devis)
//! with their PDF and the customer's approval.

pub mod catalogue;
pub mod checkins;
pub mod clients;
pub mod dashboard;
pub mod demo;
pub mod exports;
pub mod history;
pub mod imports;
pub mod maintenance;
pub mod quotes;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::web::Module;

/// The workshop API (each operation declares its permission: `workshop.read`,
/// `workshop.write`, `interventions.record`).
pub fn api_router() -> OpenApiRouter<AppState> {
    clients::api::router()
        .merge(quotes::api::router())
        .merge(maintenance::api::router())
        .merge(dashboard::api::router())
        .merge(exports::api::router())
        .merge(history::api::router())
        .merge(catalogue::api::router())
        .merge(checkins::api::router())
}

/// The workshop pages behind sign-in, and the clients' share-link pages (open: the
/// link's secret is the credential).
pub fn pages() -> Vec<Page> {
    let routes = [
        clients::web::routes(),
        quotes::web::routes(),
        maintenance::web::routes(),
        dashboard::web::routes(),
        exports::api::web_routes(),
        catalogue::web::routes(),
    ];
    let mut pages = web_pages::pages(
        Access::guarded(Permission::WorkshopRead, Permission::WorkshopWrite),
        routes.into_iter().flatten(),
    );
    // A form's page opens only for those who may send it.
    let forms = [
        clients::web::form_routes(),
        clients::web::owner_routes(),
        quotes::web::form_routes(),
        maintenance::web::form_routes(),
        catalogue::web::form_routes(),
    ];
    pages.extend(web_pages::pages(
        Access::guarded(Permission::WorkshopWrite, Permission::WorkshopWrite),
        forms.into_iter().flatten(),
    ));
    pages.extend(web_pages::pages(
        Access::guarded(Permission::WorkshopRead, Permission::InterventionsRecord),
        history::web::routes().into_iter().chain(quotes::web::editor_routes()),
    ));
    pages.extend(web_pages::pages(
        Access::guarded(Permission::WorkshopRead, Permission::InterventionsRecord),
        checkins::web::routes(),
    ));
    pages.extend(web_pages::pages(
        Access::guarded(Permission::InterventionsRecord, Permission::InterventionsRecord),
        checkins::web::form_routes(),
    ));
    pages.extend(web_pages::secret_link_pages(quotes::share::routes()));
    pages
}

/// The workshop's navigation entries (Atelier).
pub fn menu() -> Vec<MenuEntry> {
    let workshop = Audience::May(Permission::WorkshopRead);
    vec![
        MenuEntry::new(Module::Workshop, "nav.dashboard", "/dashboard", workshop),
        MenuEntry::new(Module::Workshop, "nav.under_way", "/interventions", workshop),
        MenuEntry::new(Module::Workshop, "nav.clients", "/clients", workshop),
        MenuEntry::new(Module::Workshop, "nav.quotes", "/quotes", workshop),
        MenuEntry::new(Module::Workshop, "nav.alerts", "/alerts", workshop),
    ]
}

/// The workshop's scheduled jobs, each run once an hour across all instances:
/// sent quotes past their validity date become expired (so within an hour of
/// midnight UTC), and every vehicle's maintenance alerts are recomputed. Both
/// are idempotent (conditional UPDATEs, one alert per rule occurrence).
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry, state: &AppState) {
    const HOURLY: std::time::Duration = std::time::Duration::from_secs(3600);
    let db = state.db.clone();
    registry
        .handle("workshop.expire_quotes", move |_job| {
            let db = db.clone();
            async move {
                quotes::service::expire_past_due(&db, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every("workshop.expire_quotes", HOURLY);
    let db = state.db.clone();
    registry
        .handle("workshop.refresh_alerts", move |_job| {
            let db = db.clone();
            async move {
                maintenance::service::refresh_all(&db, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every("workshop.refresh_alerts", HOURLY);
}
