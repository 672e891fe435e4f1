//! Billing: invoices and credit notes under the French rules (one unbroken
//! numbering per organization, issued documents frozen, corrections by credit
//! note), their PDF with the Factur-X data embedded, and payments. Used by the
//! workshop (an accepted quote, completed work, or lines typed by hand) and by the
//! school (a pack sold, paid in instalments) through service functions; it reads
//! no other domain's tables.

pub mod demo;
pub mod invoices;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::Page;
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::web::Module;

/// The billing API (`billing.read`, `billing.write`, `payments.record`).
pub fn api_router() -> OpenApiRouter<AppState> {
    invoices::api::router()
}

/// The billing pages behind sign-in, and the customers' invoice links (open:
/// the link's token is the credential).
pub fn pages() -> Vec<Page> {
    let mut pages = invoices::web::pages();
    pages.extend(crate::identity::auth::web_pages::secret_link_pages(invoices::share::routes()));
    pages
}

/// Billing's navigation entry, for garages and schools alike.
pub fn menu() -> Vec<MenuEntry> {
    vec![MenuEntry::new(Module::Billing, "nav.invoices", "/invoices", Audience::May(Permission::BillingRead))]
}

/// Billing's scheduled job: unpaid invoices and instalments fallen due are
/// reminded once an hour across all instances (each step once: see
/// [`invoices::reminders`] and [`invoices::instalments`]).
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry, state: &AppState) {
    const HOURLY: std::time::Duration = std::time::Duration::from_secs(3600);
    let db = state.db.clone();
    // Links in e-mails sent by a job point at the configured public address.
    let public_url = state.config.public_url.clone();
    registry
        .handle("billing.remind_unpaid", move |_job| {
            let (db, public_url) = (db.clone(), public_url.clone());
            async move {
                let now = chrono::Utc::now();
                invoices::reminders::remind_unpaid(&db, now, &public_url).await?;
                invoices::instalments::remind_due(&db, now).await?;
                Ok(())
            }
        })
        .every("billing.remind_unpaid", HOURLY);
}
