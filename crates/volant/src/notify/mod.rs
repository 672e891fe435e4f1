//! Notifications: what the other modules tell people (a quote sent, a lesson
//! moved, a result validated…), recorded with the change that causes it and
//! delivered by jobs through each person's chosen channels: in-app (the bell,
//! live over Server-Sent Events), e-mail (SMTP, or `.eml` files by default) and
//! SMS (an HTTP provider, or the log by default).

pub mod api;
pub mod email;
pub mod model;
pub mod outbox;
pub mod service;
pub mod sms;
pub mod unsubscribe;
pub mod web;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

pub use model::{Attachment, Channel, Event, Notice};
pub use service::send;

use crate::identity::{self, roles::Permission};
use crate::platform::AppState;
use crate::platform::jobs::Registry;

pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    identity::guard(api::own_router(), state, Permission::OwnProfile, Permission::OwnProfile)
        .merge(identity::guard(api::consents_router(), state, Permission::ContactConsents, Permission::ContactConsents))
        .merge(identity::guard(api::operations_router(), state, Permission::Operations, Permission::Operations))
        .merge(identity::guard(
            crate::platform::status::api_router(),
            state,
            Permission::Operations,
            Permission::Operations,
        ))
}

pub fn web_router(state: &AppState) -> axum::Router<AppState> {
    use identity::auth::web_pages::guard;
    guard(web::own_router(), state, Permission::OwnProfile, Permission::OwnProfile)
        .merge(guard(web::consents_router(), state, Permission::ContactConsents, Permission::ContactConsents))
        .merge(guard(web::operations_router(), state, Permission::Operations, Permission::Operations))
        .merge(guard(crate::platform::status::web_router(), state, Permission::Operations, Permission::Operations))
        .merge(unsubscribe::router())
}

/// The delivery jobs: e-mails through the configured transport, SMS through the provider.
pub fn register_jobs(registry: &mut Registry, state: &AppState) -> Result<(), String> {
    let postman = Arc::new(email::Postman::from_config(
        &state.config.notify,
        &state.config.public_url,
        unsubscribe::key(&state.signing_key),
    )?);
    let provider = sms::provider(&state.config.notify)?;
    let db = state.db.clone();
    registry.handle(service::EMAIL_JOB, move |job| {
        let (db, postman) = (db.clone(), postman.clone());
        async move { email::deliver(&db, &postman, &job).await }
    });
    let db = state.db.clone();
    registry.handle(service::SMS_JOB, move |job| {
        let (db, provider) = (db.clone(), provider.clone());
        async move { sms::deliver(&db, provider.as_ref(), &job).await }
    });
    Ok(())
}
