//! Workshop (seed 004, GestionPro): clients and their vehicles, quotes (devis)
//! with their PDF and the customer's approval.

pub mod clients;
pub mod dashboard;
pub mod demo;
pub mod exports;
pub mod history;
pub mod maintenance;
pub mod quotes;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::identity::{self, roles::Permission};
use crate::platform::AppState;

/// The workshop API: reading with `WorkshopRead`, writing with `WorkshopWrite`.
pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new()
        .merge(clients::api::router())
        .merge(quotes::api::router())
        .merge(maintenance::api::router())
        .merge(dashboard::api::router())
        .merge(exports::api::router());
    let history = history::api::router();
    identity::guard(routes, state, Permission::WorkshopRead, Permission::WorkshopWrite).merge(identity::guard(
        history,
        state,
        Permission::WorkshopRead,
        Permission::InterventionsRecord,
    ))
}

/// The workshop pages behind sign-in, and the clients' share-link pages (open: the
/// link's secret is the credential).
pub fn web_router(state: &AppState) -> Router<AppState> {
    let routes = Router::new()
        .merge(clients::web::router())
        .merge(quotes::web::router())
        .merge(maintenance::web::router())
        .merge(dashboard::web::router())
        .merge(exports::api::web_router());
    let recording = history::web::router();
    identity::auth::web_pages::guard(routes, state, Permission::WorkshopRead, Permission::WorkshopWrite)
        .merge(identity::auth::web_pages::guard(
            recording,
            state,
            Permission::WorkshopRead,
            Permission::InterventionsRecord,
        ))
        .merge(quotes::share::router())
}

/// How often the workshop's periodic tasks look for work. Each task is idempotent
/// (a conditional UPDATE), so several instances running it at once agree.
const PERIODIC_TASKS_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs the workshop's periodic tasks in the server process: sent quotes past their
/// validity date become expired (checked hourly, so within an hour of midnight UTC),
/// and every vehicle's maintenance alerts are recomputed.
pub fn spawn_periodic_tasks(db: sea_orm::DatabaseConnection) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PERIODIC_TASKS_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let today = chrono::Utc::now().date_naive();
            if let Err(err) = quotes::service::expire_past_due(&db, today).await {
                tracing::error!(error = %err, "expiring past-due quotes failed");
            }
            if let Err(err) = maintenance::service::refresh_all(&db, today).await {
                tracing::error!(error = %err, "computing maintenance alerts failed");
            }
        }
    })
}
