//! The customer's link to an issued invoice (like a quote's): a page where the
//! buyer reads it, sees what is left to pay and downloads its PDF. The link's
//! token is the invoice's id and an HMAC of it under an instance secret: every
//! e-mail about the invoice (sending, each reminder) carries the same link
//! without storing it, and no other invoice's token can be derived from it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use sha2::Sha256;

use super::entity::invoice;
use super::model::{Invoice, InvoiceKind, InvoiceStatus};
use super::service::get as get_invoice;
use crate::identity::auth::web_pages::Routes;
use crate::identity::organizations::service::{self as organizations, Organization};
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::{self, Tr};
use crate::platform::money::format_plain;
use crate::platform::secrets;
use crate::platform::tenant::OrgId;
use crate::platform::web::{PageCtx, WebResult};

/// The instance secret the links are signed with (shared by every instance).
const LINK_SECRET: &str = "invoice_links";

fn mac(secret: &[u8], id: i64) -> AppResult<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| AppError::Internal(e.to_string()))?;
    mac.update(format!("invoice-link:{id}").as_bytes());
    Ok(mac)
}

/// The token of an invoice's link: `{id}-{hex HMAC}`.
pub async fn token(db: &impl ConnectionTrait, id: i64) -> AppResult<String> {
    let secret = secrets::ensure(db, LINK_SECRET).await?;
    Ok(format!("{id}-{}", hex::encode(mac(&secret, id)?.finalize().into_bytes())))
}

/// The address of an invoice's page for its customer.
pub async fn url(db: &impl ConnectionTrait, public_url: &str, id: i64) -> AppResult<String> {
    Ok(format!("{public_url}/f/{}", token(db, id).await?))
}

/// The issued invoice or credit note a token names (404 for anything else,
/// checked in constant time).
pub async fn by_token(db: &impl ConnectionTrait, token: &str) -> AppResult<(OrgId, Invoice)> {
    let (id, signature) = token.split_once('-').ok_or(AppError::NotFound)?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let signature = hex::decode(signature).map_err(|_| AppError::NotFound)?;
    let secret = secrets::ensure(db, LINK_SECRET).await?;
    mac(&secret, id)?.verify_slice(&signature).map_err(|_| AppError::NotFound)?;
    let org: i64 = invoice::Entity::find_by_id(id)
        .select_only()
        .column(invoice::Column::OrganizationId)
        .into_tuple()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let org = OrgId::new(org);
    let invoice = get_invoice(db, org, id).await?;
    if invoice.status != InvoiceStatus::Issued {
        return Err(AppError::NotFound);
    }
    Ok((org, invoice))
}

pub fn routes() -> Routes {
    vec![("/f/{token}", get(show)), ("/f/{token}/pdf", get(pdf))]
}

#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/share.html")]
struct SharePage {
    page: PageCtx,
    token: String,
    organization: Organization,
    invoice: Invoice,
    title: String,
    issue_date: String,
    due_date: String,
    /// (description, quantity, total excluding tax)
    lines: Vec<(String, String, String)>,
    total_excl: String,
    total_vat: String,
    total_incl: String,
    paid: String,
    balance: String,
    state_label: String,
}

async fn show(State(state): State<AppState>, mut page: PageCtx, Path(token): Path<String>) -> WebResult<SharePage> {
    let (org, invoice) = by_token(&state.db, &token).await?;
    let organization = organizations::get(&state.db, org).await?;
    // The organization's language, not the visitor's.
    page.tr = Tr(organization.locale);
    let tr = page.tr;
    let money = |amount| invoice.currency.format(amount);
    let title = match (invoice.kind, invoice.deposit.is_some()) {
        (InvoiceKind::CreditNote, _) => tr.t("invoice.kind.credit_note"),
        (InvoiceKind::Invoice, true) => tr.t("invoice.kind.deposit"),
        (InvoiceKind::Invoice, false) => tr.t("invoice.kind.invoice"),
    }
    .to_owned();
    let lines = invoice
        .lines
        .iter()
        .map(|l| (l.description.clone(), format_plain(l.quantity), money(l.total_excl_tax)))
        .collect();
    Ok(SharePage {
        title,
        issue_date: invoice.issue_date.map(i18n::date).unwrap_or_default(),
        due_date: invoice.due_date.map(i18n::date).unwrap_or_default(),
        lines,
        total_excl: money(invoice.totals.excl_tax),
        total_vat: money(invoice.totals.vat_total),
        total_incl: money(invoice.totals.incl_tax),
        paid: money(invoice.paid),
        balance: money(invoice.balance_due.max(rust_decimal::Decimal::ZERO)),
        state_label: tr.t(invoice.payment_state.label_key()).to_owned(),
        page,
        token,
        organization,
        invoice,
    })
}

async fn pdf(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let (org, invoice) = by_token(&state.db, &token).await?;
    let (name, bytes) = super::pdf::pdf(&state.db, org, invoice.id).await?;
    Ok(crate::platform::http::respond::pdf_response(&name, bytes, false))
}
