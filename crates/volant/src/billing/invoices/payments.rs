//! Payments and refunds against an issued invoice: cash, card, cheque, transfer,
//! mobile money (provider and transaction reference kept). A payment is never
//! changed or deleted (the database refuses it): a mistake is corrected by a
//! refund. What is due is always total − received + refunded − credited
//! ([`super::model::Settlement`]); more than is due may be received (the
//! customer then holds a credit), never more refunded than was received.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::entity::payment;
use super::model::{Invoice, Payment, PaymentInput, PaymentKind, PaymentMethod, PaymentState};
use super::service::{AUDIT_ENTITY, get};
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::money::{self, Currency};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// Largest single payment, in major units (a thousand million).
const MAX_AMOUNT: i64 = 1_000_000_000;

struct ValidPayment {
    kind: PaymentKind,
    method: PaymentMethod,
    provider: Option<String>,
    reference: Option<String>,
    amount_minor: i64,
    received_on: NaiveDate,
    note: Option<String>,
}

fn validate(input: &PaymentInput, currency: Currency, today: NaiveDate) -> AppResult<ValidPayment> {
    let mut v = Validator::new();
    let method = v.required("method", input.method);
    let provider = v.optional_text("provider", input.provider.as_deref(), 40);
    if method == Some(PaymentMethod::MobileMoney) && provider.is_none() {
        v.add("provider", Msg::new("payment.provider_required"));
    }
    let provider = provider.filter(|_| method == Some(PaymentMethod::MobileMoney));
    let reference = v.optional_text("reference", input.reference.as_deref(), 120);
    let amount = v.required("amount", input.amount);
    let decimals = currency.decimals();
    let amount_minor = amount.and_then(|a| {
        let minor = (a.normalize().scale() <= decimals && a > Decimal::ZERO)
            .then(|| money::to_minor(a, decimals))
            .flatten()
            .filter(|m| *m <= MAX_AMOUNT * 10_i64.pow(decimals));
        if minor.is_none() {
            v.add("amount", Msg::new("payment.amount_invalid").arg("decimals", decimals));
        }
        minor
    });
    let received_on = input.received_on.unwrap_or(today);
    if received_on > today {
        v.add("received_on", Msg::new("payment.in_future"));
    }
    let note = v.optional_long_text("note", input.note.as_deref(), 1000);
    v.finish()?;
    match (method, amount_minor) {
        (Some(method), Some(amount_minor)) => Ok(ValidPayment {
            kind: input.kind.unwrap_or(PaymentKind::Payment),
            method,
            provider,
            reference,
            amount_minor,
            received_on,
            note,
        }),
        _ => Err(AppError::Internal("validator accepted a missing payment field".to_owned())),
    }
}

/// Records a payment or a refund on an issued invoice; returns the invoice as it
/// now stands. A transaction reference (card, mobile money) is recorded once.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record<C: Writer>(db: &C, actor: &Actor, invoice_id: i64, input: &PaymentInput) -> AppResult<Invoice> {
    let today = organizations::today(db, actor.org).await?;
    let invoice = get(db, actor.org, invoice_id).await?;
    let valid = validate(input, invoice.currency, today)?;
    if !invoice.can_pay() {
        return Err(AppError::conflict("invoice_not_payable", Msg::new("payment.invoice_not_payable")));
    }
    db::write(db, async |txn| {
        // Read again in the transaction: a refund cannot exceed what was received,
        // even against a concurrent one (SQLite writes one at a time; PostgreSQL
        // takes the invoice's payments in order below).
        if valid.kind == PaymentKind::Refund {
            lock_invoice(txn, invoice_id).await?;
        }
        let before = get(txn, actor.org, invoice_id).await?;
        if valid.kind == PaymentKind::Refund {
            let paid = money::to_minor(before.paid, before.decimals()).unwrap_or_default();
            if valid.amount_minor > paid {
                return Err(AppError::validation(
                    "amount",
                    Msg::new("payment.refund_too_large").arg("paid", before.currency.format(before.paid)),
                ));
            }
        }
        let saved = payment::ActiveModel {
            organization_id: Set(actor.org.get()),
            invoice_id: Set(invoice_id),
            kind: Set(valid.kind),
            method: Set(valid.method),
            provider: Set(valid.provider.clone()),
            reference: Set(valid.reference.clone()),
            amount_minor: Set(valid.amount_minor),
            currency: Set(before.currency),
            received_on: Set(valid.received_on),
            note: Set(valid.note.clone()),
            recorded_by: Set(actor.user_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict_on("reference", "payment_reference_taken", Msg::new("payment.reference_taken"))
                .if_refused(err, Constraint::is_unique)
        })?;
        let after = get(txn, actor.org, invoice_id).await?;
        audit::record_change(txn, actor, ("payment", saved.id), None, Some(&Payment::from(saved))).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, invoice_id), Some(&before), Some(&after)).await?;
        // Told once, when this payment settles it.
        if matches!(after.payment_state, PaymentState::Paid | PaymentState::Overpaid)
            && !matches!(before.payment_state, PaymentState::Paid | PaymentState::Overpaid)
        {
            let data = super::service::webhook_data(&after);
            crate::notify::webhooks::emit(txn, actor.org, crate::notify::webhooks::WebhookEvent::InvoicePaid, data)
                .await?;
        }
        tracing::info!(invoice_id, kind = valid.kind.as_str(), "payment recorded");
        Ok(after)
    })
    .await
}

/// Holds the invoice's row until commit (PostgreSQL), so that two refunds of the
/// same money cannot both pass the check; SQLite's single writer already does.
async fn lock_invoice(txn: &sea_orm::DatabaseTransaction, invoice_id: i64) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        use super::entity::invoice;
        invoice::Entity::find_by_id(invoice_id).lock_exclusive().one(txn).await?;
    }
    Ok(())
}

/// One method's line of a day's cash report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MethodTotal {
    pub method: PaymentMethod,
    /// Number of payments and refunds.
    pub count: u64,
    #[schema(value_type = String)]
    pub received: Decimal,
    #[schema(value_type = String)]
    pub refunded: Decimal,
    /// Received less refunded.
    #[schema(value_type = String)]
    pub net: Decimal,
}

/// Payments of the invoices of one garage (the cash report's and the journals' filter).
pub(super) fn of_garage(org: OrgId, garage: i64) -> sea_orm::sea_query::SimpleExpr {
    use super::entity::invoice;
    let invoices = sea_orm::sea_query::Query::select()
        .column(invoice::Column::Id)
        .from(invoice::Entity)
        .and_where(invoice::Column::OrganizationId.eq(org.get()))
        .and_where(invoice::Column::GarageId.eq(garage))
        .to_owned();
    payment::Column::InvoiceId.in_subquery(invoices)
}

/// One garage's line of a day's cash report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GarageTotal {
    /// Null: invoices of no garage (a counter sale, a school's pack).
    pub garage_id: Option<i64>,
    pub garage: Option<String>,
    pub count: u64,
    /// Received less refunded.
    #[schema(value_type = String)]
    pub net: Decimal,
}

/// The day's cash report (caisse): payments and refunds by method, and by garage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CashReport {
    pub day: NaiveDate,
    /// The garage reported on; null: the whole organization.
    pub garage_id: Option<i64>,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub methods: Vec<MethodTotal>,
    /// Each garage's share of the day (every garage with a payment; one when filtered).
    pub garages: Vec<GarageTotal>,
    #[schema(value_type = String)]
    pub net: Decimal,
    /// Every payment and refund of the day, in the order recorded.
    pub payments: Vec<Payment>,
}

/// Most payments one day's report lists.
const REPORT_MAX: u64 = 5000;

/// The payments of `day` (of the invoices of `garage` when given), in four queries.
pub async fn cash_report(
    db: &impl ConnectionTrait,
    org: OrgId,
    day: NaiveDate,
    garage: Option<i64>,
) -> AppResult<CashReport> {
    use super::entity::invoice;
    let organization = organizations::get(db, org).await?;
    let currency = organization.currency;
    let mut query = payment::Entity::find()
        .filter(payment::Column::OrganizationId.eq(org.get()))
        .filter(payment::Column::ReceivedOn.eq(day));
    if let Some(garage) = garage {
        query = query.filter(of_garage(org, garage));
    }
    let rows = query.order_by_asc(payment::Column::Id).limit(REPORT_MAX).all(db).await?;
    let decimals = currency.decimals();
    let signed = |p: &payment::Model| if p.kind == PaymentKind::Refund { -p.amount_minor } else { p.amount_minor };
    let methods: Vec<MethodTotal> = PaymentMethod::ALL
        .into_iter()
        .filter_map(|method| {
            let of: Vec<&payment::Model> = rows.iter().filter(|p| p.method == method).collect();
            if of.is_empty() {
                return None;
            }
            let sum = |kind| of.iter().filter(|p| p.kind == kind).map(|p| p.amount_minor).sum::<i64>();
            let (received, refunded) = (sum(PaymentKind::Payment), sum(PaymentKind::Refund));
            Some(MethodTotal {
                method,
                count: of.len() as u64,
                received: money::from_minor(received, decimals),
                refunded: money::from_minor(refunded, decimals),
                net: money::from_minor(received - refunded, decimals),
            })
        })
        .collect();
    // Each payment's garage: its invoice's.
    let invoice_ids: Vec<i64> = rows.iter().map(|p| p.invoice_id).collect();
    let garage_of: std::collections::HashMap<i64, Option<i64>> = invoice::Entity::find()
        .select_only()
        .columns([invoice::Column::Id, invoice::Column::GarageId])
        .filter(invoice::Column::OrganizationId.eq(org.get()))
        .filter(invoice::Column::Id.is_in(invoice_ids))
        .into_tuple::<(i64, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut by_garage: std::collections::BTreeMap<Option<i64>, (u64, i64)> = std::collections::BTreeMap::new();
    for p in &rows {
        let entry = by_garage.entry(garage_of.get(&p.invoice_id).copied().flatten()).or_default();
        entry.0 += 1;
        entry.1 += signed(p);
    }
    let names = crate::fleet::garages::service::names(db, org, by_garage.keys().copied().flatten().collect()).await?;
    let mut garages: Vec<GarageTotal> = by_garage
        .into_iter()
        .map(|(garage_id, (count, net))| GarageTotal {
            garage_id,
            garage: garage_id.and_then(|id| names.get(&id).cloned()),
            count,
            net: money::from_minor(net, decimals),
        })
        .collect();
    // By name, the payments of no garage last.
    garages.sort_by(|a, b| (a.garage_id.is_none(), &a.garage).cmp(&(b.garage_id.is_none(), &b.garage)));
    let net = methods.iter().map(|m| m.net).sum();
    Ok(CashReport {
        day,
        garage_id: garage,
        currency,
        methods,
        garages,
        net,
        payments: rows.into_iter().map(Payment::from).collect(),
    })
}
