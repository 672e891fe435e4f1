//! Online payment through a provider: Volant asks the provider for a payment
//! page for what is due on an invoice, e-mails its link to the buyer, and the
//! provider calls back when it is paid. The callback is signed with the secret
//! shared with the provider (HMAC-SHA256 of the raw body) and names the request
//! by our reference: a forged one is refused, a replayed one changes nothing
//! (the request is claimed once, and a transaction reference is recorded once).

use std::future::Future;
use std::pin::Pin;

use chrono::Utc;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::entity::payment_request;
use super::model::{PaymentInput, PaymentMethod};
use super::service::get;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify;
use crate::platform::config::PaymentsConfig;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::money::{self, Currency};
use crate::platform::tenant::{self, OrgId};

pub const AUDIT_ENTITY: &str = "payment_request";

/// The header a provider signs its callbacks in: `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "x-volant-signature";

impl tenant::Owned for payment_request::Entity {
    const ORGANIZATION_ID: payment_request::Column = payment_request::Column::OrganizationId;
    const ID: payment_request::Column = payment_request::Column::Id;
}

/// What the provider is asked to collect.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentOrder {
    /// Ours, unique: the callback names it.
    pub reference: String,
    pub amount: String,
    pub currency: String,
    pub description: String,
    pub email: Option<String>,
    /// Where the provider reports the payment.
    pub callback_url: String,
}

/// The provider's answer: its id for the payment and the page to pay on.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentPage {
    pub id: Option<String>,
    pub url: String,
}

pub type Requesting<'a> = Pin<Box<dyn Future<Output = Result<PaymentPage, String>> + Send + 'a>>;

/// A payment provider: makes payment pages and signs its callbacks.
pub trait PaymentProvider: Send + Sync {
    fn request<'a>(&'a self, order: &'a PaymentOrder) -> Requesting<'a>;

    /// Whether `signature` is the provider's for `body`.
    fn verify(&self, body: &[u8], signature: &str) -> bool;
}

/// Any provider with an HTTP API: the order POSTed as JSON (signed like the
/// callbacks, with the reference as `Idempotency-Key`), `{ "id", "url" }` back.
pub struct HttpProvider {
    client: reqwest::Client,
    url: String,
    secret: String,
}

impl HttpProvider {
    pub fn new(url: String, secret: String) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client, url, secret })
    }
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length: this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl PaymentProvider for HttpProvider {
    fn request<'a>(&'a self, order: &'a PaymentOrder) -> Requesting<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(order).map_err(|e| e.to_string())?;
            let response = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", &order.reference)
                .header(SIGNATURE_HEADER, sign(&self.secret, &body))
                .body(body)
                .send()
                .await
                .map_err(|e| format!("payment provider unreachable: {e}"))?;
            let status = response.status();
            if !status.is_success() {
                let detail: String = response.text().await.unwrap_or_default().chars().take(200).collect();
                return Err(format!("payment provider answered {status}: {detail}"));
            }
            let page: PaymentPage =
                response.json().await.map_err(|e| format!("payment provider's answer unreadable: {e}"))?;
            if !(page.url.starts_with("https://") || page.url.starts_with("http://")) {
                return Err("payment provider's page is not an http(s) address".to_owned());
            }
            Ok(page)
        })
    }

    fn verify(&self, body: &[u8], signature: &str) -> bool {
        let Some(hex_part) = signature.trim().strip_prefix("sha256=") else { return false };
        let Ok(expected) = hex::decode(hex_part) else { return false };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()) else { return false };
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&expected).is_ok()
    }
}

/// The provider the configuration names, if any.
pub fn provider(config: &PaymentsConfig) -> AppResult<Option<HttpProvider>> {
    match (&config.url, &config.secret) {
        (Some(url), Some(secret)) => {
            HttpProvider::new(url.clone(), secret.clone()).map(Some).map_err(AppError::Internal)
        }
        _ => Ok(None),
    }
}

fn not_configured() -> AppError {
    AppError::conflict("payments_not_configured", Msg::new("payment_link.not_configured"))
}

/// A payment page asked for an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentRequest {
    pub id: i64,
    pub invoice_id: i64,
    pub reference: String,
    /// The page the buyer pays on.
    pub url: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub currency: Currency,
    /// `open` until the provider reports it paid.
    pub status: String,
    pub created_at: chrono::DateTime<Utc>,
    pub paid_at: Option<chrono::DateTime<Utc>>,
}

fn request_of(m: payment_request::Model) -> PaymentRequest {
    PaymentRequest {
        id: m.id,
        invoice_id: m.invoice_id,
        reference: m.reference,
        url: m.url,
        amount: money::from_minor(m.amount_minor, m.currency.decimals()),
        currency: m.currency,
        status: m.status,
        created_at: m.created_at,
        paid_at: m.paid_at,
    }
}

/// An invoice's payment requests, newest first.
pub async fn requests_of(db: &impl ConnectionTrait, org: OrgId, invoice_id: i64) -> AppResult<Vec<PaymentRequest>> {
    Ok(tenant::scoped::<payment_request::Entity>(org)
        .filter(payment_request::Column::InvoiceId.eq(invoice_id))
        .order_by_desc(payment_request::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(request_of)
        .collect())
}

/// Asks the provider for a page to pay what is due now on an invoice, records
/// it and e-mails its link to the buyer (409 `payments_not_configured` without
/// a provider, `nothing_due` when nothing is, `buyer_without_email`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn request_link<C: Writer>(
    db: &C,
    actor: &Actor,
    provider: Option<&dyn PaymentProvider>,
    public_url: &str,
    invoice_id: i64,
) -> AppResult<PaymentRequest> {
    let invoice = get(db, actor.org, invoice_id).await?;
    let Some(provider) = provider else { return Err(not_configured()) };
    let today = organizations::today(db, actor.org).await?;
    let amount = invoice.suggested_payment(today);
    if !invoice.can_pay() || amount <= Decimal::ZERO {
        return Err(AppError::conflict("nothing_due", Msg::new("payment_link.nothing_due")));
    }
    let Some(email) = invoice.buyer.email.clone() else {
        return Err(AppError::conflict("buyer_without_email", Msg::new("invoice.buyer_without_email")));
    };
    let organization = organizations::get(db, actor.org).await?;
    let number = invoice.number.clone().unwrap_or_default();
    let reference = format!("VOL-{}-{}-{}", actor.org.get(), invoice.id, crate::platform::secrets::random_token(6)?);
    let order = PaymentOrder {
        reference: reference.clone(),
        amount: amount.to_string(),
        currency: invoice.currency.code().to_owned(),
        description: format!("{} {number}", organization.name),
        email: Some(email.clone()),
        callback_url: format!("{public_url}/api/v1/billing/payment-callback"),
    };
    let page = provider.request(&order).await.map_err(|detail| {
        tracing::warn!(%detail, "payment provider refused the request");
        AppError::conflict("provider_unavailable", Msg::new("payment_link.provider_unavailable"))
    })?;
    let tr = organization.locale;
    let subject = tr.format("payment_link.email_subject", &[("number", &number), ("organization", &organization.name)]);
    let body = tr
        .format(
            "payment_link.email_body",
            &[
                ("buyer", &invoice.buyer.name),
                ("number", &number),
                ("amount", &invoice.currency.format(amount)),
                ("url", &page.url),
                ("organization", &organization.name),
            ],
        )
        .replace("\\n", "\n");
    let minor = money::to_minor(amount, invoice.decimals()).unwrap_or_default();
    db::write(db, async |txn| {
        let saved = payment_request::ActiveModel {
            organization_id: Set(actor.org.get()),
            invoice_id: Set(invoice.id),
            reference: Set(reference.clone()),
            provider_id: Set(page.id.clone()),
            url: Set(page.url.clone()),
            amount_minor: Set(minor),
            currency: Set(invoice.currency),
            status: Set("open".to_owned()),
            payment_id: Set(None),
            created_at: Set(Utc::now()),
            paid_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let notice = notify::Notice::new(notify::Event::InvoiceSent, subject, body).email(Some(email));
        notify::send(txn, actor.org, notice).await?;
        let made = request_of(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, made.id), None, Some(&made)).await?;
        Ok(made)
    })
    .await
}

/// What a provider reports.
#[derive(Debug, Deserialize)]
struct Callback {
    reference: String,
    /// `paid`; anything else is acknowledged and ignored.
    status: String,
    amount: String,
    /// The provider's transaction: recorded as the payment's reference.
    transaction_id: String,
    /// `card` (default) or `mobile_money` with its operator.
    method: Option<String>,
    operator: Option<String>,
}

/// What a callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// The invoice's payment was recorded.
    Recorded,
    /// Already recorded (a replay): nothing changed.
    AlreadyRecorded,
    /// Not a payment (`status` other than `paid`): nothing changed.
    Ignored,
}

/// Handles a provider's callback: 401 unless signed with the shared secret,
/// 404 for an unknown reference, 422 for an amount other than the one asked;
/// a payment is recorded once however often the callback comes.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn callback<C: Writer>(
    db: &C,
    provider: Option<&dyn PaymentProvider>,
    body: &[u8],
    signature: Option<&str>,
) -> AppResult<CallbackOutcome> {
    let Some(provider) = provider else { return Err(AppError::NotFound) };
    if !signature.is_some_and(|s| provider.verify(body, s)) {
        tracing::warn!("payment callback with a missing or wrong signature refused");
        return Err(AppError::Unauthorized);
    }
    let report: Callback = serde_json::from_slice(body)
        .map_err(|_| AppError::validation("body", Msg::new("payment_link.callback_unreadable")))?;
    if report.status != "paid" {
        return Ok(CallbackOutcome::Ignored);
    }
    let request = payment_request::Entity::find()
        .filter(payment_request::Column::Reference.eq(report.reference.as_str()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if request.status == "paid" {
        return Ok(CallbackOutcome::AlreadyRecorded);
    }
    let decimals = request.currency.decimals();
    let amount = crate::platform::lines::parse_decimal(&report.amount)
        .filter(|a| money::to_minor(*a, decimals) == Some(request.amount_minor))
        .ok_or_else(|| AppError::validation("amount", Msg::new("payment_link.amount_mismatch")))?;
    let mobile = report.method.as_deref() == Some("mobile_money");
    let org = OrgId::new(request.organization_id);
    let actor = Actor::system(org);
    let input = PaymentInput {
        method: Some(if mobile { PaymentMethod::MobileMoney } else { PaymentMethod::Card }),
        provider: if mobile { report.operator.clone().or(Some("Mobile money".to_owned())) } else { None },
        reference: Some(report.transaction_id.clone()),
        amount: Some(amount),
        note: Some(format!("Paiement en ligne {}", request.reference)),
        ..PaymentInput::default()
    };
    db::write(db, async |txn| {
        let claimed = payment_request::Entity::update_many()
            .col_expr(payment_request::Column::Status, Expr::value("paid"))
            .col_expr(payment_request::Column::PaidAt, Expr::value(Utc::now()))
            .filter(payment_request::Column::Id.eq(request.id))
            .filter(payment_request::Column::Status.eq("open"))
            .exec(txn)
            .await?;
        if claimed.rows_affected == 0 {
            return Ok(CallbackOutcome::AlreadyRecorded);
        }
        let recorded = super::payments::record(txn, &actor, request.invoice_id, &input).await;
        match recorded {
            Ok(_) => Ok(CallbackOutcome::Recorded),
            // The same transaction recorded by hand or by an earlier request.
            Err(AppError::Conflict { .. }) => Ok(CallbackOutcome::AlreadyRecorded),
            Err(err) => Err(err),
        }
    })
    .await
}
