//! Documents and photos attached to the business's objects: a vehicle's
//! registration certificate, an intervention's photos, a candidate's identity
//! documents. Owners are reached only through their domains' service functions
//! (does it exist in this organization, are its documents frozen); their pages
//! load the documents' panel, and deleting an owner deletes its documents in the
//! same transaction ([`service::forget_owner`]). See docs/files.md.

pub mod api;
pub mod entity;
pub mod model;
pub mod serve;
pub mod service;
pub mod web;

use crate::identity::auth::web_pages::Page;
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::web::Module;

pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    api::router()
}

pub fn pages() -> Vec<Page> {
    web::pages()
}

/// The documents to renew, beside the vehicles (and linked from the candidates' list).
pub fn menu() -> Vec<MenuEntry> {
    vec![MenuEntry::new(Module::Workshop, "nav.documents", "/documents/expiring", Audience::May(Permission::FleetRead))]
}

/// Blobs of deleted documents, and of uploads that never finished, removed once a
/// day; documents coming to their expiry notified to the managers.
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry, state: &AppState) {
    const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let (db, files) = (state.db.clone(), state.files.clone());
    registry
        .handle("documents.cleanup", move |_job| {
            let (db, files) = (db.clone(), files.clone());
            async move {
                service::cleanup(&db, &files, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every("documents.cleanup", DAILY);
    // Hourly, like maintenance alerts: a notice goes once per document and date.
    const HOURLY: std::time::Duration = std::time::Duration::from_secs(3600);
    let (db, cipher) = (state.db.clone(), state.cipher.clone());
    registry
        .handle("documents.expiry_notices", move |_job| {
            let (db, cipher) = (db.clone(), cipher.clone());
            async move {
                service::notify_expiring(&db, &cipher, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every("documents.expiry_notices", HOURLY);
}
