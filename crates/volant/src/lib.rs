//! Volant: operations software for garage networks and driving schools.
//!
//! Business domains (`fleet`, …) over a thin `platform` layer; see `DESIGN.md`.

pub mod fleet;
pub mod identity;
pub mod platform;

use std::sync::Arc;

use axum::Router;

use crate::platform::AppState;
use crate::platform::config::Config;
use crate::platform::db::{self, DbSettings};

pub use crate::platform::http::router::api as api_router;

/// Connects to the configured database, brings its schema up to date and
/// returns the application's state.
pub async fn init_state(config: Config) -> Result<AppState, sea_orm::DbErr> {
    let settings = DbSettings::new(config.database_url.clone(), config.db_max_connections);
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let default_org = identity::organizations::service::ensure_default(&db)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(format!("default organization: {e}")))?;
    Ok(AppState { db, config: Arc::new(config), default_org })
}

/// The whole HTTP application over an existing state (what tests drive).
pub fn build_app(state: AppState) -> Router {
    platform::http::router::build(state)
}
