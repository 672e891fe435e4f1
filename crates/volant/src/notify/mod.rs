//! Notifications: what the other modules tell people (a quote sent, a lesson
//! moved, a result validated…), recorded with the change that causes it and
//! delivered by jobs through each person's chosen channels: in-app (the bell,
//! live over Server-Sent Events), e-mail (SMTP, or `.eml` files by default) and
//! SMS (an HTTP provider, or the log by default).

pub mod api;
pub mod email;
pub mod entity;
pub mod mail_settings;
pub mod mail_web;
pub mod model;
pub mod outbox;
pub mod push;
pub mod service;
pub mod sms;
pub mod unsubscribe;
pub mod web;
pub mod webhooks;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

pub use model::{Attachment, Channel, Event, Notice};
pub use service::send;

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::{self, roles::Permission};
use crate::platform::AppState;
use crate::platform::jobs::Registry;
use futures_util::future::BoxFuture;

use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;
use crate::platform::web::{Module, WelcomeStep};

/// One's notifications and preferences, contacts' consents, the organization's
/// deliveries and jobs (each operation declares its permission).
pub fn api_router() -> OpenApiRouter<AppState> {
    api::router().merge(webhooks::api::router())
}

/// One's notifications; contacts' consents; the organization's deliveries and jobs;
/// the unsubscribe links (open).
pub fn pages() -> Vec<Page> {
    use Permission::{ContactConsents, Operations, OrgSettings, OwnProfile};
    [
        web_pages::pages(Access::guarded(OrgSettings, OrgSettings), mail_web::routes()),
        web_pages::pages(Access::guarded(OrgSettings, OrgSettings), webhooks::web::routes()),
        web_pages::pages(Access::guarded(OwnProfile, OwnProfile), web::own_routes()),
        web_pages::pages(Access::guarded(ContactConsents, ContactConsents), web::consents_routes()),
        web_pages::pages(Access::guarded(Operations, Operations), web::operations_routes()),
        web_pages::secret_link_pages(unsubscribe::routes()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Contacts' consents and the organization's jobs and deliveries (Administration).
pub fn menu() -> Vec<MenuEntry> {
    vec![
        MenuEntry::new(
            Module::Administration,
            "nav.consents",
            "/contacts/consents",
            Audience::May(Permission::ContactConsents),
        ),
        MenuEntry::new(Module::Administration, "nav.jobs", "/admin/jobs", Audience::May(Permission::Operations))
            .also(&["/admin/notifications", "/admin/status"]),
        MenuEntry::new(
            Module::Administration,
            "nav.webhooks",
            "/admin/webhooks",
            Audience::May(Permission::OrgSettings),
        ),
    ]
}

/// The jobs the caller sees and may retry: their organization's, and the
/// platform-wide ones for a platform operator only.
pub(crate) fn job_scope(current: &identity::auth::CurrentUser) -> crate::platform::jobs::JobScope {
    let org = current.user.org;
    if current.user.may(Permission::Platform) {
        crate::platform::jobs::JobScope::operator(org)
    } else {
        crate::platform::jobs::JobScope::organization(org)
    }
}

/// The delivery jobs: e-mails through the configured transport, SMS through the
/// provider, push messages through each device's push service, webhooks.
pub fn register_jobs(registry: &mut Registry, state: &AppState) -> Result<(), String> {
    let postman = Arc::new(email::Postman::from_config(
        &state.config.notify,
        (&state.config.public_url, unsubscribe::key(&state.signing_key)),
        state.cipher.clone(),
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
    let allow_private = state.config.notify.push_allow_private_hosts;
    let client = crate::platform::outbound::client("Volant push", std::time::Duration::from_secs(15), allow_private)?;
    let subject = push::Sender::subject_for(&state.config.public_url, &state.config.notify.mail_from);
    // The key is read at the first delivery (it was made at start).
    let sender: Arc<tokio::sync::OnceCell<push::Sender>> = Arc::default();
    let db = state.db.clone();
    registry.handle(service::PUSH_JOB, move |job| {
        let (db, sender, client, subject) = (db.clone(), sender.clone(), client.clone(), subject.clone());
        async move {
            let sender = sender
                .get_or_try_init(|| async {
                    let vapid = push::Vapid::load(&db).await?;
                    Ok::<_, crate::platform::jobs::JobError>(push::Sender { vapid, client, subject, allow_private })
                })
                .await?;
            push::deliver(&db, sender, &job).await
        }
    });
    let allow_private = state.config.notify.webhook_allow_private_hosts;
    let client = webhooks::client(allow_private)?;
    let (db, cipher) = (state.db.clone(), state.cipher.clone());
    registry.handle(webhooks::DELIVERY_JOB, move |job| {
        let (db, cipher, client) = (db.clone(), cipher.clone(), client.clone());
        async move { webhooks::deliver(&db, (&cipher, allow_private), &client, &job).await }
    });
    Ok(())
}

/// Mail's first step: a server to send through (the instance's or the
/// organization's own), so that e-mails are delivered, not only saved.
pub fn welcome_steps(state: &AppState, org: OrgId) -> BoxFuture<'_, AppResult<Vec<WelcomeStep>>> {
    Box::pin(async move {
        let delivers = mail_settings::delivers_email(&state.db, &state.config.notify, org).await?;
        Ok(vec![WelcomeStep::new(
            Module::Administration,
            "welcome.mail",
            ("/admin/mail", Permission::OrgSettings),
            delivers,
        )])
    })
}
