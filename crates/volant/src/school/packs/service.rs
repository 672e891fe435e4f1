//! Packs (forfaits) and their sale. A pack is a price and a number of driving
//! hours (e.g. "Forfait B 20 h + code"); selling it to a candidate, in one
//! transaction: records the sale, has billing issue its invoice (paid at once
//! or in instalments), and adds its hours to those the candidate has bought.
//! Cancelling a sale credits the invoice and takes the hours back. What a
//! candidate bought, paid and still owes is read from billing.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{pack, sale};
use crate::billing::invoices::instalments::{MAX_INSTALMENTS, Part};
use crate::billing::invoices::service::{
    self as invoices, Buyer, CreditInput, CustomerKind, Invoice, InvoiceKind, InvoiceStatus, Sale, SourceKind,
};
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::lines::{LineInput, LineKind, percent_bp, unit_price_e4};
use crate::platform::money::{self, Currency};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::school::candidates::service as candidates;
use crate::school::planning::service as planning;

pub const AUDIT_PACK: &str = "school_pack";
pub const AUDIT_SALE: &str = "pack_sale";

/// Most of a pack sold at once (e.g. 40 single hours).
const MAX_QUANTITY: i64 = 100;

impl tenant::Owned for pack::Entity {
    const ORGANIZATION_ID: pack::Column = pack::Column::OrganizationId;
    const ID: pack::Column = pack::Column::Id;
}

impl tenant::Owned for sale::Entity {
    const ORGANIZATION_ID: sale::Column = sale::Column::OrganizationId;
    const ID: sale::Column = sale::Column::Id;
}

/// A pack of the school's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Pack {
    pub id: i64,
    #[schema(example = "Forfait B 20 h + code")]
    pub name: String,
    pub description: Option<String>,
    /// Driving time it gives, in minutes.
    #[schema(example = 1200)]
    pub driving_minutes: i32,
    /// Excluding tax, as on the invoice line.
    #[schema(value_type = String, example = "991.67")]
    pub unit_price: Decimal,
    /// Percent (0 for a VAT-exempt school, whatever was set).
    #[schema(value_type = String, example = "20")]
    pub vat_rate: Decimal,
    /// What the candidate pays, tax included, computed as the invoice will.
    #[schema(value_type = String, example = "1190.00")]
    pub price_incl_tax: Decimal,
    #[schema(value_type = String)]
    pub currency: Currency,
    /// Offered for sale (an old pack is kept for the sales that name it).
    pub active: bool,
}

/// A pack as created or changed (PUT replaces every field).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PackInput {
    #[schema(required = true, nullable = false, example = "Forfait B 20 h + code")]
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(required = true, nullable = false, example = 1200)]
    pub driving_minutes: Option<i32>,
    /// Excluding tax, up to 4 decimals; or give `price_incl_tax`.
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "991.6667")]
    pub unit_price: Option<Decimal>,
    /// The price including tax, as a school displays it: the unit price is derived
    /// from it to 4 decimals, so any quantity sold comes to that price times the
    /// quantity (3 hours at 55.00 are 165.00, not 164.99). Ignored when `unit_price` is given.
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "1190")]
    pub price_incl_tax: Option<Decimal>,
    /// Percent; the organization's first rate when absent.
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "20")]
    pub vat_rate: Option<Decimal>,
    /// Default true.
    pub active: Option<bool>,
}

/// A pack sold to a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PackSale {
    pub id: i64,
    pub candidate_id: i64,
    pub pack_id: Option<i64>,
    /// What was sold, as invoiced.
    pub label: String,
    /// Driving minutes it added to the candidate's hours.
    pub minutes: i32,
    pub invoice_id: Option<i64>,
    /// 1: paid at once.
    pub instalments: i32,
    pub sold_on: NaiveDate,
    /// Set when cancelled (the invoice credited, the hours taken back).
    pub cancelled_at: Option<chrono::DateTime<Utc>>,
    pub credit_note_id: Option<i64>,
}

/// A sale as entered.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SaleInput {
    #[schema(required = true, nullable = false)]
    pub pack_id: Option<i64>,
    /// How many of the pack (default 1; up to 2 decimals, e.g. 1.5 single hours).
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "1")]
    pub quantity: Option<Decimal>,
    /// Paid in this many monthly instalments (1 to 12; default 1: at once).
    #[schema(minimum = 1, maximum = 12, example = 3)]
    pub instalments: Option<u32>,
    /// A key of the client's choosing (up to 64 characters): the same key again
    /// answers the sale already made instead of selling twice.
    pub idempotency_key: Option<String>,
    /// The first instalment's date (between 60 days ago and a year ahead); today
    /// when absent. Paid at once, the invoice falls due under the payment terms.
    pub first_due_on: Option<NaiveDate>,
}

/// Why a sale is cancelled (printed on the credit note).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CancelInput {
    pub reason: Option<String>,
}

/// What a candidate bought, paid and still owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Account {
    #[schema(value_type = String)]
    pub currency: Currency,
    /// Invoiced to the candidate, less credit notes (tax included).
    #[schema(value_type = String)]
    pub bought: Decimal,
    /// Received, less refunds.
    #[schema(value_type = String)]
    pub paid: Decimal,
    /// Still to pay in all (negative: the candidate holds a credit).
    #[schema(value_type = String)]
    pub balance: Decimal,
    /// Of it, what has fallen due: instalments due to date, and invoices without a schedule.
    #[schema(value_type = String)]
    pub due_now: Decimal,
    /// The next instalment not yet due with something to pay.
    pub next_instalment: Option<NextInstalment>,
    pub sales: Vec<PackSale>,
    /// Invoices and credit notes, newest first.
    pub invoices: Vec<Invoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NextInstalment {
    pub invoice_id: i64,
    pub due_on: NaiveDate,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// What prices are shown in, and whether VAT is charged at all (a VAT-exempt
/// school's invoices charge none, whatever the pack's rate).
#[derive(Clone, Copy)]
struct Pricing {
    currency: Currency,
    vat_exempt: bool,
}

async fn pricing(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Pricing> {
    Ok(Pricing {
        currency: organizations::get(db, org).await?.currency,
        vat_exempt: invoices::settings(db, org).await?.vat_exempt,
    })
}

fn pack_of(m: pack::Model, pricing: Pricing) -> Pack {
    let currency = pricing.currency;
    let decimals = currency.decimals();
    let unit_price = money::from_scaled(m.unit_price_e4, 4);
    let vat_rate = match pricing.vat_exempt {
        true => Decimal::ZERO,
        false => money::from_scaled(i64::from(m.vat_rate_bp), 2),
    };
    let line = money::line_total(Decimal::ONE, unit_price, Decimal::ZERO, decimals);
    Pack {
        id: m.id,
        name: m.name,
        description: m.description,
        driving_minutes: m.driving_minutes,
        unit_price: unit_price.normalize(),
        vat_rate: vat_rate.normalize(),
        price_incl_tax: money::totals([(line, vat_rate)], decimals).incl_tax,
        currency,
        active: m.active,
    }
}

fn sale_of(m: sale::Model) -> PackSale {
    PackSale {
        id: m.id,
        candidate_id: m.candidate_id,
        pack_id: m.pack_id,
        label: m.label,
        minutes: m.minutes,
        invoice_id: m.invoice_id,
        instalments: m.instalments,
        sold_on: m.sold_on,
        cancelled_at: m.cancelled_at,
        credit_note_id: m.credit_note_id,
    }
}

/// The catalogue by name; `active_only` for what may be sold.
pub async fn list(db: &impl ConnectionTrait, org: OrgId, active_only: bool) -> AppResult<Vec<Pack>> {
    let pricing = pricing(db, org).await?;
    let mut query = tenant::scoped::<pack::Entity>(org).order_by_asc(pack::Column::Name).order_by_asc(pack::Column::Id);
    if active_only {
        query = query.filter(pack::Column::Active.eq(true));
    }
    Ok(query.all(db).await?.into_iter().map(|m| pack_of(m, pricing)).collect())
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Pack> {
    let pricing = pricing(db, org).await?;
    Ok(pack_of(tenant::find::<pack::Entity>(db, org, id).await?, pricing))
}

struct ValidPack {
    name: String,
    description: Option<String>,
    driving_minutes: i32,
    unit_price_e4: i64,
    vat_rate_bp: i32,
    active: bool,
}

async fn validate(db: &impl ConnectionTrait, org: OrgId, input: &PackInput) -> AppResult<ValidPack> {
    let organization = organizations::get(db, org).await?;
    let mut v = Validator::new();
    let name = v.required_text("name", input.name.as_deref(), 120);
    let description = v.optional_long_text("description", input.description.as_deref(), 1000);
    let driving_minutes = v.required("driving_minutes", input.driving_minutes);
    if driving_minutes.is_some_and(|m| !(0..=60_000).contains(&m)) {
        v.add("driving_minutes", Msg::new("school.out_of_range").arg("min", 0).arg("max", 60_000));
    }
    let standard = organization.vat_rates.first().and_then(|r| r.parse::<Decimal>().ok()).unwrap_or(Decimal::from(20));
    let rate = input.vat_rate.unwrap_or(standard);
    let excluding = match (input.unit_price, input.price_incl_tax) {
        (Some(price), _) => Some(price),
        (None, Some(incl)) => incl
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|scaled| scaled.checked_div(Decimal::ONE_HUNDRED + rate))
            .map(|p| p.round_dp(4))
            .or(Some(Decimal::NEGATIVE_ONE)),
        (None, _) => None,
    };
    let unit_price = v.required("unit_price", excluding).and_then(|p| unit_price_e4(&mut v, "unit_price", p));
    let vat_rate = percent_bp(&mut v, "vat_rate", rate);
    v.finish()?;
    let (Some(name), Some(driving_minutes), Some(unit_price_e4), Some(vat_rate_bp)) =
        (name, driving_minutes, unit_price, vat_rate)
    else {
        return Err(AppError::Internal("validator accepted a missing field".to_owned()));
    };
    Ok(ValidPack {
        name,
        description,
        driving_minutes,
        unit_price_e4,
        vat_rate_bp,
        active: input.active.unwrap_or(true),
    })
}

fn name_taken(err: sea_orm::DbErr) -> AppError {
    AppError::conflict_on("name", "duplicate_pack_name", Msg::new("pack.name_taken"))
        .if_refused(err, Constraint::is_unique)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &PackInput) -> AppResult<Pack> {
    let valid = validate(db, actor.org, input).await?;
    db::write(db, async |txn| {
        let now = Utc::now();
        let saved = pack::ActiveModel {
            organization_id: Set(actor.org.get()),
            name: Set(valid.name),
            description: Set(valid.description),
            driving_minutes: Set(valid.driving_minutes),
            unit_price_e4: Set(valid.unit_price_e4),
            vat_rate_bp: Set(valid.vat_rate_bp),
            active: Set(valid.active),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(name_taken)?;
        let after = get(txn, actor.org, saved.id).await?;
        audit::record_change(txn, actor, (AUDIT_PACK, saved.id), None, Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// Replaces a pack's content; sales already made keep what they were sold at.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(db: &C, actor: &Actor, id: i64, input: &PackInput) -> AppResult<Pack> {
    let before = get(db, actor.org, id).await?;
    let valid = validate(db, actor.org, input).await?;
    db::write(db, async |txn| {
        pack::ActiveModel {
            id: Set(id),
            name: Set(valid.name),
            description: Set(valid.description),
            driving_minutes: Set(valid.driving_minutes),
            unit_price_e4: Set(valid.unit_price_e4),
            vat_rate_bp: Set(valid.vat_rate_bp),
            active: Set(valid.active),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
        .update(txn)
        .await
        .map_err(name_taken)?;
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_PACK, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// A candidate's sales, newest first.
pub async fn sales_of(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<Vec<PackSale>> {
    Ok(tenant::scoped::<sale::Entity>(org)
        .filter(sale::Column::CandidateId.eq(candidate_id))
        .order_by_desc(sale::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(sale_of)
        .collect())
}

/// Sells a pack to a candidate: the sale, its invoice issued (with its schedule
/// when paid in instalments) and the candidate's hours, in one transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sell<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    candidate_id: i64,
    input: &SaleInput,
) -> AppResult<(PackSale, Invoice)> {
    let candidate = candidates::get(db, cipher, actor.org, candidate_id).await?;
    let today = organizations::today(db, actor.org).await?;
    let mut v = Validator::new();
    let pack_id = v.required("pack_id", input.pack_id);
    let pack = match pack_id {
        Some(id) => v.found("pack_id", get(db, actor.org, id).await, Msg::new("pack.unknown"))?,
        None => None,
    };
    if pack.as_ref().is_some_and(|p| !p.active) {
        v.add("pack_id", Msg::new("pack.inactive"));
    }
    let quantity = input.quantity.unwrap_or(Decimal::ONE);
    if quantity <= Decimal::ZERO || quantity > Decimal::from(MAX_QUANTITY) || quantity.scale() > 2 {
        v.add("quantity", Msg::new("pack.quantity_invalid").arg("max", MAX_QUANTITY));
    }
    let count = input.instalments.unwrap_or(1);
    if !(1..=MAX_INSTALMENTS).contains(&count) {
        v.add("instalments", Msg::new("instalment.count_invalid").arg("max", MAX_INSTALMENTS));
    }
    let key = v.optional_text("idempotency_key", input.idempotency_key.as_deref(), 64);
    let first_due = input.first_due_on.unwrap_or(today);
    let earliest = today.checked_sub_days(chrono::Days::new(60)).unwrap_or(today);
    let latest = today.checked_add_days(chrono::Days::new(365)).unwrap_or(today);
    if !(earliest..=latest).contains(&first_due) {
        v.add("first_due_on", Msg::new("instalment.first_due_invalid"));
    }
    v.finish()?;
    if let Some(made) = sale_by_key(db, actor.org, candidate_id, key.as_deref()).await? {
        return Ok(made);
    }
    let pack = pack.ok_or_else(|| AppError::Internal("validator accepted a missing pack".to_owned()))?;
    let minutes = (Decimal::from(pack.driving_minutes) * quantity).round().to_i32().unwrap_or(i32::MAX);
    let buyer = buyer_of(&candidate);
    let line = LineInput {
        kind: Some(LineKind::Other),
        description: Some(pack.name.clone()),
        quantity: Some(quantity),
        unit: None,
        unit_price: Some(pack.unit_price),
        vat_rate: Some(pack.vat_rate),
        discount: None,
    };
    let label = match quantity == Decimal::ONE {
        true => pack.name.clone(),
        false => format!("{} × {}", money::format_plain(quantity), pack.name),
    };
    let sold = db::write(db, async |txn| {
        let made = NewSale {
            candidate_id,
            pack_id: pack.id,
            label: label.clone(),
            minutes,
            instalments: count,
            sold_on: today,
            idempotency_key: key.clone(),
            buyer: buyer.clone(),
            lines: vec![line.clone()],
            notes: pack.description.clone(),
            first_due,
            service_date: None,
            funded: Vec::new(),
        };
        let (sold, invoice) = record_sale(txn, actor, made).await?;
        candidates::add_bought_minutes(txn, actor.org, candidate_id, minutes).await?;
        Ok((sold, invoice))
    })
    .await;
    match sold {
        // The same key sold concurrently: the sale that won is the answer.
        Err(AppError::Conflict { code: "sale_in_progress", .. }) => {
            sale_by_key(db, actor.org, candidate_id, key.as_deref())
                .await?
                .ok_or_else(|| AppError::conflict("sale_in_progress", Msg::new("pack.sale_in_progress")))
        }
        other => other,
    }
}

/// How a contract's pack is paid: in `instalments` monthly parts from
/// `first_due`, after the parts its funders pay.
pub struct ContractPayment {
    pub instalments: u32,
    pub first_due: NaiveDate,
    pub funded: Vec<Part>,
}

/// Sells one of `pack_id` to a candidate in the caller's transaction, as a
/// signed training contract or amendment does: the sale, its invoice with the
/// funders' parts in its schedule, the candidate's hours.
pub async fn sell_in(
    txn: &sea_orm::DatabaseTransaction,
    cipher: &FieldCipher,
    actor: &Actor,
    candidate_id: i64,
    pack_id: i64,
    payment: ContractPayment,
) -> AppResult<(PackSale, Invoice)> {
    let candidate = candidates::get(txn, cipher, actor.org, candidate_id).await?;
    let pack = get(txn, actor.org, pack_id).await?;
    if !pack.active {
        return Err(AppError::conflict_on("pack_id", "pack_inactive", Msg::new("pack.inactive")));
    }
    let made = NewSale {
        candidate_id,
        pack_id: pack.id,
        label: pack.name.clone(),
        minutes: pack.driving_minutes,
        instalments: payment.instalments,
        sold_on: organizations::today(txn, actor.org).await?,
        idempotency_key: None,
        buyer: buyer_of(&candidate),
        lines: vec![LineInput {
            kind: Some(LineKind::Other),
            description: Some(pack.name.clone()),
            quantity: Some(Decimal::ONE),
            unit: None,
            unit_price: Some(pack.unit_price),
            vat_rate: Some(pack.vat_rate),
            discount: None,
        }],
        notes: pack.description.clone(),
        first_due: payment.first_due,
        service_date: None,
        funded: payment.funded,
    };
    let sold = record_sale(txn, actor, made).await?;
    candidates::add_bought_minutes(txn, actor.org, candidate_id, pack.driving_minutes).await?;
    Ok(sold)
}

/// The sale already made under this key, with its invoice (404 for another
/// candidate's: a key names one sale).
async fn sale_by_key(
    db: &impl ConnectionTrait,
    org: OrgId,
    candidate_id: i64,
    key: Option<&str>,
) -> AppResult<Option<(PackSale, Invoice)>> {
    let Some(key) = key else { return Ok(None) };
    let Some(found) = tenant::scoped::<sale::Entity>(org).filter(sale::Column::IdempotencyKey.eq(key)).one(db).await?
    else {
        return Ok(None);
    };
    if found.candidate_id != candidate_id {
        return Err(AppError::conflict_on("idempotency_key", "key_used", Msg::new("pack.key_used")));
    }
    let sale = sale_of(found);
    let Some(invoice_id) = sale.invoice_id else { return Ok(None) };
    Ok(Some((sale, invoices::get(db, org, invoice_id).await?)))
}

/// Cancels a sale: its invoice credited in full, its hours taken back (409
/// `sale_cancelled` the second time, even concurrently).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn cancel<C: Writer>(
    db: &C,
    actor: &Actor,
    candidate_id: i64,
    sale_id: i64,
    input: &CancelInput,
) -> AppResult<PackSale> {
    let before = sale_of(tenant::find::<sale::Entity>(db, actor.org, sale_id).await?);
    if before.candidate_id != candidate_id {
        return Err(AppError::NotFound);
    }
    let cancelled = || AppError::conflict("sale_cancelled", Msg::new("pack.sale_cancelled"));
    if before.cancelled_at.is_some() {
        return Err(cancelled());
    }
    db::write(db, async |txn| {
        let claimed = sale::Entity::update_many()
            .col_expr(sale::Column::CancelledAt, Expr::value(Utc::now()))
            .filter(sale::Column::OrganizationId.eq(actor.org.get()))
            .filter(sale::Column::Id.eq(sale_id))
            .filter(sale::Column::CancelledAt.is_null())
            .exec(txn)
            .await?;
        if claimed.rows_affected == 0 {
            return Err(cancelled());
        }
        if let Some(invoice_id) = before.invoice_id {
            let credit = invoices::credit_in(txn, actor, invoice_id, &CreditInput { reason: input.reason.clone() })
                .await
                .map_err(|err| match err {
                    AppError::Conflict { code: "already_credited", .. } => cancelled(),
                    other => other,
                })?;
            sale::Entity::update_many()
                .col_expr(sale::Column::CreditNoteId, Expr::value(credit.id))
                .filter(sale::Column::Id.eq(sale_id))
                .exec(txn)
                .await?;
        }
        candidates::add_bought_minutes(txn, actor.org, candidate_id, -before.minutes).await?;
        let after = sale_of(tenant::find::<sale::Entity>(txn, actor.org, sale_id).await?);
        audit::record_change(txn, actor, (AUDIT_SALE, sale_id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// What a candidate bought, paid and owes, from their invoices.
pub async fn account(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<Account> {
    let organization = organizations::get(db, org).await?;
    let today = organization.today()?;
    let currency = organization.currency;
    let invoices = invoices::of_customer(db, org, CustomerKind::Candidate, candidate_id).await?;
    let sales = sales_of(db, org, candidate_id).await?;
    let issued = invoices.iter().filter(|i| i.kind == InvoiceKind::Invoice && i.status == InvoiceStatus::Issued);
    let (mut bought, mut paid, mut balance, mut due_now) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut next_instalment: Option<NextInstalment> = None;
    for invoice in issued {
        bought += invoice.totals.incl_tax - invoice.credited;
        paid += invoice.paid;
        balance += invoice.balance_due;
        due_now += invoice.due_to_date(today);
        if let Some(i) = invoice.next_instalment(today)
            && next_instalment.as_ref().is_none_or(|n| i.due_on < n.due_on)
        {
            next_instalment = Some(NextInstalment { invoice_id: invoice.id, due_on: i.due_on, amount: i.outstanding });
        }
    }
    Ok(Account { currency, bought, paid, balance, due_now, next_instalment, sales, invoices })
}

/// A sale about to be written, and what its invoice says.
struct NewSale {
    candidate_id: i64,
    pack_id: i64,
    label: String,
    minutes: i32,
    instalments: u32,
    sold_on: NaiveDate,
    idempotency_key: Option<String>,
    buyer: Buyer,
    lines: Vec<LineInput>,
    notes: Option<String>,
    first_due: NaiveDate,
    service_date: Option<NaiveDate>,
    funded: Vec<Part>,
}

/// Writes a sale and has billing invoice it, in the caller's transaction: the
/// sale row, its invoice issued (source: the sale), the link, the audit record.
/// The hours are the caller's to add. A key already taken is 409 `sale_in_progress`.
async fn record_sale(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    made: NewSale,
) -> AppResult<(PackSale, Invoice)> {
    let saved = sale::ActiveModel {
        organization_id: Set(actor.org.get()),
        candidate_id: Set(made.candidate_id),
        pack_id: Set(Some(made.pack_id)),
        label: Set(made.label),
        minutes: Set(made.minutes),
        invoice_id: Set(None),
        instalments: Set(i32::try_from(made.instalments).unwrap_or(1)),
        sold_on: Set(made.sold_on),
        sold_by: Set(actor.user_id),
        cancelled_at: Set(None),
        credit_note_id: Set(None),
        idempotency_key: Set(made.idempotency_key),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|err| {
        AppError::conflict("sale_in_progress", Msg::new("pack.sale_in_progress")).if_refused(err, Constraint::is_unique)
    })?;
    let sold = Sale {
        buyer: made.buyer,
        source: (SourceKind::PackSale, saved.id),
        lines: made.lines,
        notes: made.notes,
        instalments: made.instalments,
        first_due: made.first_due,
        service_date: made.service_date,
        funded: made.funded,
    };
    let invoice = invoices::sell_in(txn, actor, sold).await?;
    sale::Entity::update_many()
        .col_expr(sale::Column::InvoiceId, Expr::value(invoice.id))
        .filter(sale::Column::Id.eq(saved.id))
        .exec(txn)
        .await?;
    let sold = sale_of(tenant::find::<sale::Entity>(txn, actor.org, saved.id).await?);
    audit::record_change(txn, actor, (AUDIT_SALE, saved.id), None, Some(&sold)).await?;
    Ok((sold, invoice))
}

/// The candidate as their invoices name them.
fn buyer_of(candidate: &candidates::Candidate) -> Buyer {
    Buyer {
        kind: CustomerKind::Candidate,
        id: candidate.summary.id,
        name: candidate.summary.full_name(),
        address: candidate.address.clone(),
        email: candidate.summary.email.clone(),
        tax_id: None,
        is_business: false,
    }
}

/// One line of a statement: a lesson's time beyond the hours bought.
fn statement_line(
    lesson: &planning::TakenLesson,
    minutes: i32,
    hourly: &Pack,
    zone: chrono_tz::Tz,
    tr: crate::platform::i18n::Locale,
) -> LineInput {
    let day = tr.date(lesson.starts_at.with_timezone(&zone).date_naive());
    let key = match lesson.status {
        planning::LessonStatus::Done => "pack.statement.lesson",
        planning::LessonStatus::NoShow => "pack.statement.no_show",
        _ => "pack.statement.late_cancellation",
    };
    let mut description = tr.format(key, &[("date", &day)]);
    if minutes < lesson.minutes {
        // The lesson that crossed the hours bought: only its part beyond.
        description.push(' ');
        description.push_str(&tr.format("pack.statement.part", &[("time", &planning::format_duration(minutes))]));
    }
    LineInput {
        kind: Some(LineKind::Other),
        description: Some(description),
        quantity: Some((Decimal::from(minutes) / Decimal::from(60)).round_dp(3)),
        unit: Some("h".to_owned()),
        unit_price: Some(hourly.unit_price),
        vat_rate: Some(hourly.vat_rate),
        discount: None,
    }
}

/// Invoices the driving time a candidate took beyond the hours bought — lessons
/// done, missed or cancelled late, oldest first, each a line at the price of the
/// school's one-hour pack — and adds that time to their hours, in one
/// transaction; recorded as a sale of that pack (cancelled like one). 409
/// `nothing_beyond` when nothing is owed, `no_hourly_pack` without a one-hour pack
/// on sale, `hours_changed` when the hours moved meanwhile (two statements at once
/// make one invoice).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn invoice_statement<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    candidate_id: i64,
) -> AppResult<(PackSale, Invoice)> {
    let candidate = candidates::get(db, cipher, actor.org, candidate_id).await?;
    let bought = candidate.summary.hours.bought_minutes;
    let Some(hourly) = list(db, actor.org, true).await?.into_iter().find(|p| p.driving_minutes == 60) else {
        return Err(AppError::conflict("no_hourly_pack", Msg::new("pack.statement.no_hourly_pack")));
    };
    let organization = organizations::get(db, actor.org).await?;
    let (zone, tr, today) = (organization.zone()?, organization.locale, organization.today()?);
    let mut taken = 0;
    let mut beyond = 0;
    let mut lines = Vec::new();
    let mut last_lesson = None;
    for lesson in planning::taken_lessons(db, actor.org, candidate_id).await? {
        let start = taken;
        taken += lesson.minutes;
        let minutes = taken - Ord::max(start, bought);
        if minutes > 0 {
            beyond += Ord::min(minutes, lesson.minutes);
            lines.push(statement_line(&lesson, Ord::min(minutes, lesson.minutes), &hourly, zone, tr));
            last_lesson = Some(lesson.starts_at.with_timezone(&zone).date_naive());
        }
    }
    if beyond == 0 {
        return Err(AppError::conflict("nothing_beyond", Msg::new("pack.statement.nothing_beyond")));
    }
    let label = tr.format("pack.statement.label", &[("time", &planning::format_duration(beyond))]);
    let buyer = buyer_of(&candidate);
    db::write(db, async |txn| {
        candidates::add_bought_minutes_from(txn, actor.org, candidate_id, bought, beyond).await?;
        let made = NewSale {
            candidate_id,
            pack_id: hourly.id,
            label: label.clone(),
            minutes: beyond,
            instalments: 1,
            sold_on: today,
            idempotency_key: None,
            buyer: buyer.clone(),
            lines: lines.clone(),
            notes: Some(label.clone()),
            first_due: today,
            service_date: last_lesson,
            funded: Vec::new(),
        };
        let (sold, invoice) = record_sale(txn, actor, made).await?;
        Ok((sold, invoice))
    })
    .await
}
