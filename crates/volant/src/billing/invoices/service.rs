//! Invoices and credit notes under the French rules (Code de commerce L441-9,
//! CGI art. 242 nonies A): a draft may change and has no number; issuing it takes
//! the next number of the organization's one chronological sequence (a counter row
//! in the invoice's own transaction: no gap, no duplicate), dates it today, and
//! freezes its content, its seller and buyer and its legal mentions; the database
//! refuses any later change or deletion. A mistake is corrected by a credit note,
//! numbered in its own sequence.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::entity::{counter, deposit, invoice, line, payment};
pub use super::model::{
    Buyer, CustomerKind, DepositOf, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, InvoiceSummary, Payment,
    PaymentInput, PaymentKind, PaymentMethod, PaymentState, Seller, SourceKind,
};
use super::model::{Parts, Settlement, assemble, summary};
pub use super::settings::{BillingSettings, BillingSettingsInput, settings, update_settings};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service::{self as organizations, Organization};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::{Locale, Msg};
use crate::platform::lines::{LineInput, LineKind, ValidLine, percent_bp, priced, totals_minor, validate_lines};
use crate::platform::money::{self, Currency};
use crate::platform::numbering::format_number;
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::workshop::clients::service::{self as clients, Client, ClientKind};
use crate::workshop::history::service as history;
use crate::workshop::quotes::service as quotes;

pub const AUDIT_ENTITY: &str = "invoice";

impl tenant::Owned for invoice::Entity {
    const ORGANIZATION_ID: invoice::Column = invoice::Column::OrganizationId;
    const ID: invoice::Column = invoice::Column::Id;
}

/// An invoice typed by hand (POST), or a draft's new content (PUT).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct InvoiceInput {
    /// The client invoiced.
    #[schema(required = true, nullable = false)]
    pub client_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    /// When the work was done or the goods delivered; the issue date when absent.
    pub service_date: Option<NaiveDate>,
    pub notes: Option<String>,
    /// The organization's payment terms when absent.
    pub payment_terms: Option<String>,
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

/// A deposit asked on an accepted quote.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DepositInput {
    /// Percent of the quote's accepted total, e.g. 30 (up to 2 decimals).
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = String, required = true, example = "30")]
    pub percent: Option<rust_decimal::Decimal>,
}

/// What a credit note says of itself.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CreditInput {
    /// Why the invoice is corrected (printed on the credit note).
    pub reason: Option<String>,
}

// ---------------------------------------------------------------- reading

/// The lines, payments, credit notes and schedules of `ids`, four queries whatever their number.
async fn parts_of_many(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Parts>> {
    let mut parts: HashMap<i64, Parts> = ids
        .iter()
        .map(|id| {
            let parts = Parts {
                lines: Vec::new(),
                payments: Vec::new(),
                credit_notes: Vec::new(),
                instalments: Vec::new(),
                deposit: None,
            };
            (*id, parts)
        })
        .collect();
    let lines = line::Entity::find()
        .filter(line::Column::InvoiceId.is_in(ids.iter().copied()))
        .order_by_asc(line::Column::InvoiceId)
        .order_by_asc(line::Column::Position)
        .all(db)
        .await?;
    for l in lines {
        parts.entry(l.invoice_id).and_modify(|p| p.lines.push(l));
    }
    let payments = payment::Entity::find()
        .filter(payment::Column::InvoiceId.is_in(ids.iter().copied()))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?;
    for p in payments {
        parts.entry(p.invoice_id).and_modify(|parts| parts.payments.push(p));
    }
    let credit_notes: Vec<(i64, i64, Option<i64>)> = invoice::Entity::find()
        .select_only()
        .columns([invoice::Column::Id, invoice::Column::TotalInclMinor, invoice::Column::CreditedInvoiceId])
        .filter(invoice::Column::CreditedInvoiceId.is_in(ids.iter().copied()))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .order_by_asc(invoice::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    for (id, total, credited) in credit_notes {
        if let Some(p) = credited.and_then(|c| parts.get_mut(&c)) {
            p.credit_notes.push((id, total));
        }
    }
    for row in super::instalments::rows_of(db, ids.iter().copied()).await? {
        parts.entry(row.invoice_id).and_modify(|p| p.instalments.push(row));
    }
    let deposits =
        deposit::Entity::find().filter(deposit::Column::DepositInvoiceId.is_in(ids.iter().copied())).all(db).await?;
    for row in deposits {
        parts.entry(row.deposit_invoice_id).and_modify(|p| p.deposit = Some(row));
    }
    Ok(parts)
}

async fn parts_of(db: &impl ConnectionTrait, id: i64) -> AppResult<Parts> {
    parts_of_many(db, &[id])
        .await?
        .remove(&id)
        .ok_or_else(|| AppError::Internal("invoice parts not assembled".to_owned()))
}

/// A customer's invoices and credit notes (issued ones and drafts), newest first,
/// in full: what a candidate's file and portal show of what was bought and paid.
pub async fn of_customer(
    db: &impl ConnectionTrait,
    org: OrgId,
    kind: CustomerKind,
    customer_id: i64,
) -> AppResult<Vec<Invoice>> {
    let rows = tenant::scoped::<invoice::Entity>(org)
        .filter(invoice::Column::CustomerKind.eq(kind))
        .filter(invoice::Column::CustomerId.eq(customer_id))
        .order_by_desc(invoice::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let today = organizations::today(db, org).await?;
    let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
    let mut parts = parts_of_many(db, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let p = parts.remove(&m.id).ok_or_else(|| AppError::Internal("invoice parts not assembled".to_owned()))?;
            Ok(assemble(m, p, today))
        })
        .collect()
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Invoice> {
    let m = tenant::find::<invoice::Entity>(db, org, id).await?;
    let today = organizations::today(db, org).await?;
    let parts = parts_of(db, id).await?;
    Ok(assemble(m, parts, today))
}

/// The invoice made from a quote or from completed work, if there is one.
pub async fn find_by_source(
    db: &impl ConnectionTrait,
    org: OrgId,
    kind: SourceKind,
    source_id: i64,
) -> AppResult<Option<i64>> {
    Ok(tenant::scoped::<invoice::Entity>(org)
        .select_only()
        .column(invoice::Column::Id)
        .filter(invoice::Column::Kind.eq(InvoiceKind::Invoice))
        .filter(invoice::Column::SourceKind.eq(kind))
        .filter(invoice::Column::SourceId.eq(source_id))
        .into_tuple()
        .one(db)
        .await?)
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub kind: Option<InvoiceKind>,
    pub status: Option<InvoiceStatus>,
    pub client_id: Option<i64>,
    pub due: Option<Due>,
    /// A number (or part of one) or the buyer's name.
    pub q: Option<String>,
}

/// Issued invoices by what remains to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Something is still due.
    Unpaid,
    /// Something is due and the due date has passed.
    Overdue,
}

/// The SQL of an invoice's balance due (total − received + refunded − credited),
/// the same computation as [`Settlement::balance_minor`].
pub(super) const BALANCE_SQL: &str = "(invoices.total_incl_minor \
    - COALESCE((SELECT SUM(CASE WHEN p.kind = 'payment' THEN p.amount_minor ELSE -p.amount_minor END) \
        FROM payments p WHERE p.invoice_id = invoices.id), 0) \
    - COALESCE((SELECT SUM(c.total_incl_minor) FROM invoices c \
        WHERE c.credited_invoice_id = invoices.id AND c.status = 'issued'), 0))";

fn matching(org: OrgId, filter: &InvoiceFilter, today: NaiveDate) -> sea_orm::Select<invoice::Entity> {
    let mut query = tenant::scoped::<invoice::Entity>(org);
    if let Some(kind) = filter.kind {
        query = query.filter(invoice::Column::Kind.eq(kind));
    }
    if let Some(status) = filter.status {
        query = query.filter(invoice::Column::Status.eq(status));
    }
    if let Some(client_id) = filter.client_id {
        query = query
            .filter(invoice::Column::CustomerKind.eq(CustomerKind::Client))
            .filter(invoice::Column::CustomerId.eq(client_id));
    }
    if let Some(due) = filter.due {
        query = query
            .filter(invoice::Column::Kind.eq(InvoiceKind::Invoice))
            .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
            .filter(Expr::cust(format!("{BALANCE_SQL} > 0")));
        if due == Due::Overdue {
            query = query.filter(invoice::Column::DueDate.lt(today));
        }
    }
    let term = crate::platform::search::search_term(filter.q.as_deref().unwrap_or_default());
    if !term.is_empty() {
        // Wildcards are dropped, not escaped: a search of only `%` matches nothing special.
        let text = term.to_uppercase().replace(['%', '_', '\\'], "");
        if !text.is_empty() {
            let upper = |column| Expr::expr(sea_orm::sea_query::Func::upper(Expr::col(column)));
            query = query.filter(
                sea_orm::Condition::any()
                    .add(upper(invoice::Column::Number).like(format!("%{text}%")))
                    .add(upper(invoice::Column::BuyerName).like(format!("%{text}%"))),
            );
        }
    }
    query
}

/// How many invoices match the filter.
pub async fn count(db: &impl ConnectionTrait, org: OrgId, filter: &InvoiceFilter) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let today = organizations::today(db, org).await?;
    Ok(matching(org, filter, today).count(db).await?)
}

/// What the payments and credit notes of these invoices come to, in two queries.
async fn settlements(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Settlement>> {
    let mut by_invoice: HashMap<i64, Settlement> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_invoice);
    }
    let sums: Vec<(i64, PaymentKind, i64)> = payment::Entity::find()
        .select_only()
        .column(payment::Column::InvoiceId)
        .column(payment::Column::Kind)
        .column_as(payment::Column::AmountMinor.sum().cast_as("BIGINT"), "amount")
        .filter(payment::Column::InvoiceId.is_in(ids.iter().copied()))
        .group_by(payment::Column::InvoiceId)
        .group_by(payment::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    for (id, kind, amount) in sums {
        let entry = by_invoice.entry(id).or_default();
        match kind {
            PaymentKind::Payment => entry.received_minor += amount,
            PaymentKind::Refund => entry.refunded_minor += amount,
        }
    }
    let credits: Vec<(i64, i64)> = invoice::Entity::find()
        .select_only()
        .column(invoice::Column::CreditedInvoiceId)
        .column_as(invoice::Column::TotalInclMinor.sum().cast_as("BIGINT"), "amount")
        .filter(invoice::Column::CreditedInvoiceId.is_in(ids.iter().copied()))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .group_by(invoice::Column::CreditedInvoiceId)
        .into_tuple()
        .all(db)
        .await?;
    for (id, amount) in credits {
        by_invoice.entry(id).or_default().credited_minor += amount;
    }
    Ok(by_invoice)
}

/// A page of the organization's invoices and credit notes, the newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &InvoiceFilter,
    page: &PageRequest,
) -> AppResult<Page<InvoiceSummary>> {
    let today = organizations::today(db, org).await?;
    let rows = page.keyset(matching(org, filter, today), invoice::Column::Id, Order::Desc).all(db).await?;
    let page = Page::from_rows(rows, page, |m| m.id);
    let ids: Vec<i64> = page.items.iter().map(|m| m.id).collect();
    let mut settled = settlements(db, &ids).await?;
    Ok(page.map(|m| {
        let settlement = settled.remove(&m.id).unwrap_or_default();
        summary(m, settlement, today)
    }))
}

// ---------------------------------------------------------------- drafts

/// A draft about to be written.
struct Draft {
    kind: InvoiceKind,
    /// The organization's currency, or for a credit note the invoice's.
    currency: Option<Currency>,
    buyer: Buyer,
    vehicle: Option<(i64, String)>,
    /// The garage of the vehicle (a credit note: the invoice's).
    garage_id: Option<i64>,
    source: Option<(SourceKind, i64)>,
    credited_invoice_id: Option<i64>,
    service_date: Option<NaiveDate>,
    notes: Option<String>,
    payment_terms: Option<String>,
    lines: Vec<ValidLine>,
    /// For each line, the deposit invoice it deducts (missing: none).
    deducting: Vec<Option<i64>>,
    is_deposit: bool,
    /// The quote whose standing deposits this final invoice deducts (read and
    /// claimed in its transaction, under the quote's lock).
    deduct_quote: Option<i64>,
}

/// The buyer as a client's file has it now.
fn buyer_of(client: &Client) -> Buyer {
    Buyer {
        kind: CustomerKind::Client,
        id: client.id,
        name: client.display_name().to_owned(),
        address: client.address.clone(),
        email: client.email.clone(),
        tax_id: client.tax_id.clone(),
        is_business: client.kind == ClientKind::Company,
    }
}

/// A vehicle as an invoice prints it, and its garage.
async fn vehicle_of(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<((i64, String), i64)> {
    let v = vehicles::get(db, org, id).await?;
    Ok(((v.id, format!("{} · {} {}", v.license_plate, v.brand, v.model)), v.garage_id))
}

/// A vehicle's label and garage, split as a draft takes them.
fn split(vehicle: Option<((i64, String), i64)>) -> (Option<(i64, String)>, Option<i64>) {
    match vehicle {
        Some((vehicle, garage)) => (Some(vehicle), Some(garage)),
        None => (None, None),
    }
}

/// Lines of a VAT-exempt organization carry no VAT.
fn exempt_lines(mut lines: Vec<ValidLine>, vat_exempt: bool) -> Vec<ValidLine> {
    if vat_exempt {
        for line in &mut lines {
            line.vat_rate = rust_decimal::Decimal::ZERO;
            line.vat_rate_bp = 0;
        }
    }
    lines
}

/// The rows of `lines` (each deducting `deducting[i]`, if any) and their totals,
/// which deposits deducted may not turn negative (409 `deposits_exceed_invoice`).
fn line_rows(
    invoice_id: i64,
    lines: &[ValidLine],
    deducting: &[Option<i64>],
    decimals: u32,
) -> AppResult<(Vec<line::ActiveModel>, money::Totals)> {
    let priced = priced(lines, decimals)?;
    let totals = money::totals(priced.iter().map(|p| (p.total, p.line.vat_rate)), decimals);
    // A rate may go below zero (work at another rate than its deposit); the invoice may not.
    let zero = rust_decimal::Decimal::ZERO;
    if totals.incl_tax < zero || totals.vat_total < zero || totals.excl_tax < zero {
        return Err(AppError::conflict_on(
            "lines",
            "deposits_exceed_invoice",
            Msg::new("invoice.deposits_exceed_invoice"),
        ));
    }
    let rows = priced
        .into_iter()
        .enumerate()
        .map(|(i, p)| line::ActiveModel {
            invoice_id: Set(invoice_id),
            position: Set(p.position),
            kind: Set(p.line.kind),
            description: Set(p.line.description.clone()),
            quantity_milli: Set(p.line.quantity_milli),
            unit: Set(p.line.unit.clone()),
            unit_price_e4: Set(p.line.unit_price_e4),
            vat_rate_bp: Set(p.line.vat_rate_bp),
            discount_bp: Set(p.line.discount_bp),
            total_excl_minor: Set(p.total_minor),
            deposit_invoice_id: Set(deducting.get(i).copied().flatten()),
            ..Default::default()
        })
        .collect();
    Ok((rows, totals))
}

/// Writes a draft and its lines in the caller's transaction.
async fn insert_draft(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    organization: &Organization,
    settings: &BillingSettings,
    mut draft: Draft,
) -> AppResult<i64> {
    let currency = draft.currency.unwrap_or(organization.currency);
    let decimals = currency.decimals();
    if let Some(quote_id) = draft.deduct_quote {
        // Deposits asked, credited or deducted meanwhile wait for this draft (or it for them).
        db::lock_keys(txn, vec![quote_lock(quote_id)]).await?;
        draft.deducting.resize(draft.lines.len(), None);
        deductions(txn, actor.org, organization.locale, quote_id, &mut draft.lines, &mut draft.deducting).await?;
    }
    let lines = exempt_lines(draft.lines, settings.vat_exempt);
    let (_, totals) = line_rows(0, &lines, &draft.deducting, decimals)?;
    let (excl, vat, incl) = totals_minor(&totals, decimals)?;
    let buyer = draft.buyer;
    let now = Utc::now();
    let refused = match draft.kind {
        InvoiceKind::Invoice => AppError::conflict("already_invoiced", Msg::new("invoice.already_invoiced")),
        InvoiceKind::CreditNote => AppError::conflict("already_credited", Msg::new("invoice.already_credited")),
    };
    let saved = invoice::ActiveModel {
        organization_id: Set(actor.org.get()),
        kind: Set(draft.kind),
        status: Set(InvoiceStatus::Draft),
        customer_kind: Set(buyer.kind),
        customer_id: Set(buyer.id),
        buyer_name: Set(buyer.name),
        buyer_address: Set(buyer.address),
        buyer_email: Set(buyer.email),
        buyer_tax_id: Set(buyer.tax_id),
        buyer_is_business: Set(buyer.is_business),
        vehicle_id: Set(draft.vehicle.as_ref().map(|v| v.0)),
        garage_id: Set(draft.garage_id),
        vehicle_label: Set(draft.vehicle.map(|v| v.1)),
        source_kind: Set(draft.source.map(|s| s.0)),
        source_id: Set(draft.source.map(|s| s.1)),
        credited_invoice_id: Set(draft.credited_invoice_id),
        service_date: Set(draft.service_date),
        currency: Set(currency),
        notes: Set(draft.notes),
        payment_terms: Set(draft.payment_terms.or_else(|| settings.payment_terms.clone())),
        late_penalty_rate_bp: Set(rate_bp(settings)),
        vat_exempt: Set(settings.vat_exempt),
        total_excl_minor: Set(excl),
        total_vat_minor: Set(vat),
        total_incl_minor: Set(incl),
        created_at: Set(now),
        updated_at: Set(now),
        is_deposit: Set(draft.is_deposit),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|err| refused.if_refused(err, Constraint::is_unique))?;
    let (rows, _) = line_rows(saved.id, &lines, &draft.deducting, decimals)?;
    if !rows.is_empty() {
        line::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    if draft.kind == InvoiceKind::Invoice {
        claim_deposits(txn, saved.id, &draft.deducting).await?;
    }
    Ok(saved.id)
}

fn rate_bp(settings: &BillingSettings) -> i32 {
    money::to_scaled(settings.late_penalty_rate, 2).and_then(|bp| i32::try_from(bp).ok()).unwrap_or_default()
}

struct ValidInput {
    client_id: i64,
    vehicle_id: Option<i64>,
    service_date: Option<NaiveDate>,
    notes: Option<String>,
    payment_terms: Option<String>,
    lines: Vec<ValidLine>,
}

fn validate(input: &InvoiceInput) -> AppResult<ValidInput> {
    let mut v = Validator::new();
    let client_id = v.required("client_id", input.client_id);
    let notes = v.optional_long_text("notes", input.notes.as_deref(), 5000);
    let payment_terms = v.optional_long_text("payment_terms", input.payment_terms.as_deref(), 2000);
    let lines = validate_lines(&mut v, &input.lines);
    v.finish()?;
    Ok(ValidInput {
        client_id: client_id.unwrap_or_default(),
        vehicle_id: input.vehicle_id,
        service_date: input.service_date,
        notes,
        payment_terms,
        lines,
    })
}

/// The client and vehicle, which must be the organization's (422 naming the field).
async fn references(
    db: &impl ConnectionTrait,
    org: OrgId,
    valid: &ValidInput,
) -> AppResult<(Buyer, Option<((i64, String), i64)>)> {
    let mut v = Validator::new();
    let client =
        v.found("client_id", clients::get(db, org, valid.client_id).await, Msg::new("quote.client_unknown"))?;
    let vehicle = match valid.vehicle_id {
        Some(id) => v.found("vehicle_id", vehicle_of(db, org, id).await, Msg::new("quote.vehicle_unknown"))?,
        None => None,
    };
    v.finish()?;
    let client = client.ok_or_else(|| AppError::Internal("validator accepted a missing client".to_owned()))?;
    Ok((buyer_of(&client), vehicle))
}

/// A draft typed by hand.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &InvoiceInput) -> AppResult<Invoice> {
    let valid = validate(input)?;
    let (buyer, vehicle) = references(db, actor.org, &valid).await?;
    let (vehicle, garage_id) = split(vehicle);
    let draft = Draft {
        kind: InvoiceKind::Invoice,
        currency: None,
        buyer,
        vehicle,
        garage_id,
        source: None,
        credited_invoice_id: None,
        service_date: valid.service_date,
        notes: valid.notes,
        payment_terms: valid.payment_terms,
        lines: valid.lines,
        deducting: Vec::new(),
        is_deposit: false,
        deduct_quote: None,
    };
    write_draft(db, actor, draft).await
}

async fn write_draft<C: Writer>(db: &C, actor: &Actor, draft: Draft) -> AppResult<Invoice> {
    let organization = organizations::get(db, actor.org).await?;
    let settings = settings(db, actor.org).await?;
    db::write(db, async |txn| {
        let id = insert_draft(txn, actor, &organization, &settings, draft).await?;
        let full = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), None, Some(&full)).await?;
        Ok(full)
    })
    .await
}

/// Lines read back from another document, checked again as if typed.
fn lines_from(lines: impl Iterator<Item = LineInput>) -> AppResult<Vec<ValidLine>> {
    let inputs: Vec<LineInput> = lines.collect();
    let mut v = Validator::new();
    let valid = validate_lines(&mut v, &inputs);
    v.finish()?;
    Ok(valid)
}

/// A draft of an accepted quote: its accepted lines, its client and vehicle. A
/// quote is invoiced once (409 `already_invoiced`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn from_quote<C: Writer>(db: &C, actor: &Actor, quote_id: i64) -> AppResult<Invoice> {
    let quote = quotes::get(db, actor.org, quote_id).await?;
    if !quote.status.can_carry_out() {
        return Err(AppError::conflict("quote_not_accepted", Msg::new("invoice.quote_not_accepted")));
    }
    let buyer = buyer_of(&clients::get(db, actor.org, quote.client_id).await?);
    let (vehicle, garage_id) = match quote.vehicle_id {
        Some(id) => split(Some(vehicle_of(db, actor.org, id).await?)),
        None => (None, None),
    };
    let lines = lines_from(quote.accepted_lines().map(LineInput::from))?;
    let draft = Draft {
        kind: InvoiceKind::Invoice,
        currency: None,
        buyer,
        vehicle,
        garage_id,
        source: Some((SourceKind::Quote, quote.id)),
        credited_invoice_id: None,
        service_date: None,
        notes: Some(format!("{} {}", crate::platform::i18n::current().text("invoice.from_quote"), quote.number)),
        payment_terms: None,
        lines,
        deducting: Vec::new(),
        is_deposit: false,
        deduct_quote: Some(quote.id),
    };
    write_draft(db, actor, draft).await
}

/// A draft of completed work: its lines, the vehicle and its owner then, the day
/// it was done. Work is invoiced once (409 `already_invoiced`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn from_intervention<C: Writer>(db: &C, actor: &Actor, intervention_id: i64) -> AppResult<Invoice> {
    let work = history::get(db, actor.org, intervention_id).await?;
    if work.in_progress {
        return Err(AppError::conflict("work_in_progress", Msg::new("invoice.work_in_progress")));
    }
    let Some(client_id) = work.client_id else {
        return Err(AppError::conflict("work_without_client", Msg::new("invoice.work_without_client")));
    };
    if work.lines.is_empty() {
        return Err(AppError::conflict("work_without_lines", Msg::new("invoice.work_without_lines")));
    }
    let buyer = buyer_of(&clients::get(db, actor.org, client_id).await?);
    let (vehicle, garage_id) = split(Some(vehicle_of(db, actor.org, work.vehicle_id).await?));
    let lines = lines_from(work.lines.iter().map(LineInput::from))?;
    // Work carried out from a quote is that quote's job: invoiced once, whichever
    // of the two the invoice is made from, and its deposits deducted.
    let source = match work.quote_id {
        Some(quote_id) => (SourceKind::Quote, quote_id),
        None => (SourceKind::Intervention, work.id),
    };
    let draft = Draft {
        kind: InvoiceKind::Invoice,
        currency: None,
        buyer,
        vehicle,
        garage_id,
        source: Some(source),
        credited_invoice_id: None,
        service_date: Some(work.performed_on),
        notes: Some(work.description.clone()).filter(|d| !d.trim().is_empty()),
        payment_terms: None,
        lines,
        deducting: Vec::new(),
        is_deposit: false,
        deduct_quote: work.quote_id,
    };
    write_draft(db, actor, draft).await
}

fn not_draft() -> AppError {
    AppError::conflict("invoice_issued", Msg::new("invoice.issued_immutable"))
}

/// Replaces a draft's content (409 once issued).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &InvoiceInput) -> AppResult<Invoice> {
    let before = get(db, actor.org, id).await?;
    if !before.status.can_edit() || before.kind != InvoiceKind::Invoice {
        return Err(not_draft());
    }
    let valid = validate(input)?;
    let (buyer, vehicle) = references(db, actor.org, &valid).await?;
    let (vehicle, garage_id) = split(vehicle);
    let settings = settings(db, actor.org).await?;
    let decimals = before.decimals();
    // The deposits deducted stay deducted, after the lines typed: they are this buyer's.
    let deducts = before.lines.iter().any(|l| l.deposit_invoice_id.is_some());
    if deducts && buyer.id != before.buyer.id {
        return Err(AppError::conflict_on(
            "client_id",
            "deposits_of_another_client",
            Msg::new("invoice.deposits_of_another_client"),
        ));
    }
    let mut lines = valid.lines;
    let mut deducting = vec![None; lines.len()];
    for kept in before.lines.iter().filter(|l| l.deposit_invoice_id.is_some()) {
        lines.push(as_valid(kept)?);
        deducting.push(kept.deposit_invoice_id);
    }
    let lines = exempt_lines(lines, settings.vat_exempt);
    let (rows, totals) = line_rows(id, &lines, &deducting, decimals)?;
    let (excl, vat, incl) = totals_minor(&totals, decimals)?;
    db::write(db, async |txn| {
        use invoice::Column as C;
        let updated = invoice::Entity::update_many()
            .col_expr(C::CustomerId, Expr::value(buyer.id))
            .col_expr(C::BuyerName, Expr::value(buyer.name.clone()))
            .col_expr(C::BuyerAddress, Expr::value(buyer.address.clone()))
            .col_expr(C::BuyerEmail, Expr::value(buyer.email.clone()))
            .col_expr(C::BuyerTaxId, Expr::value(buyer.tax_id.clone()))
            .col_expr(C::BuyerIsBusiness, Expr::value(buyer.is_business))
            .col_expr(C::VehicleId, Expr::value(vehicle.as_ref().map(|v| v.0)))
            .col_expr(C::VehicleLabel, Expr::value(vehicle.as_ref().map(|v| v.1.clone())))
            .col_expr(C::GarageId, Expr::value(garage_id))
            .col_expr(C::ServiceDate, Expr::value(valid.service_date))
            .col_expr(C::Notes, Expr::value(valid.notes.clone()))
            .col_expr(C::PaymentTerms, Expr::value(valid.payment_terms.clone().or(settings.payment_terms.clone())))
            .col_expr(C::TotalExclMinor, Expr::value(excl))
            .col_expr(C::TotalVatMinor, Expr::value(vat))
            .col_expr(C::TotalInclMinor, Expr::value(incl))
            .col_expr(C::VatExempt, Expr::value(settings.vat_exempt))
            .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
            .filter(C::OrganizationId.eq(actor.org.get()))
            .filter(C::Id.eq(id))
            .filter(C::Status.eq(InvoiceStatus::Draft))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(not_draft());
        }
        line::Entity::delete_many().filter(line::Column::InvoiceId.eq(id)).exec(txn).await?;
        if !rows.is_empty() {
            line::Entity::insert_many(rows).exec_without_returning(txn).await?;
        }
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// Deletes a draft (an issued invoice is never deleted: 409).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let before = get(db, actor.org, id).await?;
    db::write(db, async |txn| {
        let deleted = invoice::Entity::delete_many()
            .filter(invoice::Column::OrganizationId.eq(actor.org.get()))
            .filter(invoice::Column::Id.eq(id))
            .filter(invoice::Column::Status.eq(InvoiceStatus::Draft))
            .exec(txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(not_draft());
        }
        let owner = crate::documents::model::Owner { kind: crate::documents::model::OwnerKind::Invoice, id };
        crate::documents::service::forget_owner(txn, actor.org, owner).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None::<&Invoice>).await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------- deposits

/// A line as stored, to be written again (a credit note's copy, a deduction kept).
fn as_valid(l: &InvoiceLine) -> AppResult<ValidLine> {
    let scaled = |value: rust_decimal::Decimal, scale| {
        money::to_scaled(value, scale).ok_or_else(|| AppError::Internal("stored line out of its scale".to_owned()))
    };
    let bp = |value| scaled(value, 2).and_then(|v| i32::try_from(v).map_err(|e| AppError::Internal(e.to_string())));
    Ok(ValidLine {
        kind: l.kind,
        description: l.description.clone(),
        quantity_milli: scaled(l.quantity, 3)?,
        unit: l.unit.clone(),
        unit_price_e4: scaled(l.unit_price, 4)?,
        vat_rate_bp: bp(l.vat_rate)?,
        discount_bp: bp(l.discount)?,
        quantity: l.quantity,
        unit_price: l.unit_price,
        vat_rate: l.vat_rate,
        discount: l.discount,
    })
}

/// A quote's deposits with their invoices, in the order they were asked.
async fn deposit_rows(
    db: &impl ConnectionTrait,
    org: OrgId,
    quote_id: i64,
) -> AppResult<Vec<(deposit::Model, Invoice)>> {
    let rows = deposit::Entity::find()
        .filter(deposit::Column::OrganizationId.eq(org.get()))
        .filter(deposit::Column::QuoteId.eq(quote_id))
        .order_by_asc(deposit::Column::Position)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.deposit_invoice_id).collect();
    let invoices =
        tenant::scoped::<invoice::Entity>(org).filter(invoice::Column::Id.is_in(ids.clone())).all(db).await?;
    let today = organizations::today(db, org).await?;
    let mut parts = parts_of_many(db, &ids).await?;
    let mut by_id: HashMap<i64, Invoice> = HashMap::new();
    for m in invoices {
        let p = parts.remove(&m.id).ok_or_else(|| AppError::Internal("invoice parts not assembled".to_owned()))?;
        by_id.insert(m.id, assemble(m, p, today));
    }
    Ok(rows.into_iter().filter_map(|r| by_id.remove(&r.deposit_invoice_id).map(|i| (r, i))).collect())
}

/// The deposit invoices asked on a quote (issued, credited or not), oldest first.
pub async fn deposits_of_quote(db: &impl ConnectionTrait, org: OrgId, quote_id: i64) -> AppResult<Vec<Invoice>> {
    Ok(deposit_rows(db, org, quote_id).await?.into_iter().map(|(_, invoice)| invoice).collect())
}

/// The lock of a quote's deposits and final invoice (billing's namespace: 0xB1
/// in the top byte): asking a deposit, drafting the final invoice and crediting a
/// deposit of the same quote run one after the other.
fn quote_lock(quote_id: i64) -> i64 {
    (0xB1_i64 << 56) | (1 << 48) | (quote_id & 0xFFFF_FFFF_FFFF)
}

/// Appends to a final invoice's lines one line of quantity −1 per line of each
/// deposit of the quote not yet deducted nor credited (its price and VAT rate),
/// so the invoice asks only for what remains and its VAT is the remainder's.
async fn deductions(
    txn: &impl ConnectionTrait,
    org: OrgId,
    tr: crate::platform::i18n::Locale,
    quote_id: i64,
    lines: &mut Vec<ValidLine>,
    deducting: &mut Vec<Option<i64>>,
) -> AppResult<()> {
    for (row, deposit) in deposit_rows(txn, org, quote_id).await? {
        if row.deducted_in_invoice_id.is_some() || !deposit.credit_note_ids.is_empty() {
            continue;
        }
        let (Some(number), Some(date)) = (deposit.number.as_deref(), deposit.issue_date) else { continue };
        // The VAT column tells the lines of a deposit at several rates apart.
        let description = tr.format("invoice.deposit.deduction", &[("number", number), ("date", &tr.date(date))]);
        for l in &deposit.lines {
            lines.push(ValidLine {
                kind: LineKind::Other,
                description: description.clone(),
                quantity_milli: -1000,
                quantity: -rust_decimal::Decimal::ONE,
                ..as_valid(l)?
            });
            deducting.push(Some(deposit.id));
        }
    }
    Ok(())
}

/// Marks the deposits a new invoice deducts as deducted by it: each once, and
/// never one a credit note cancelled (409 `deposit_already_deducted`).
async fn claim_deposits(txn: &impl ConnectionTrait, invoice_id: i64, deducting: &[Option<i64>]) -> AppResult<()> {
    let mut ids: Vec<i64> = deducting.iter().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for deposit_id in ids {
        let claimed = deposit::Entity::update_many()
            .col_expr(deposit::Column::DeductedInInvoiceId, Expr::value(invoice_id))
            .filter(deposit::Column::DepositInvoiceId.eq(deposit_id))
            .filter(deposit::Column::DeductedInInvoiceId.is_null())
            .filter(Expr::cust(
                "NOT EXISTS (SELECT 1 FROM invoices c WHERE c.credited_invoice_id = invoice_deposits.deposit_invoice_id \
                 AND c.status = 'issued')",
            ))
            .exec(txn)
            .await?;
        if claimed.rows_affected == 0 {
            return Err(AppError::conflict("deposit_already_deducted", Msg::new("invoice.deposit_already_deducted")));
        }
    }
    Ok(())
}

/// A deposit's lines: for each VAT rate of the quote, what the deposits asked so
/// far and this one come to together (that rate's base × their percentages,
/// rounded once) less what the standing deposits already invoiced at that rate —
/// so deposits reaching 100 % invoice the quote to the cent, never one more.
fn deposit_lines(
    bases: &money::Totals,
    standing: &[&Invoice],
    percent_bp: i32,
    decimals: u32,
    label: &str,
) -> AppResult<Vec<ValidLine>> {
    let cumulative = rust_decimal::Decimal::new(i64::from(percent_bp), 2);
    let mut lines = Vec::new();
    for share in bases.vat.iter().filter(|share| share.base > rust_decimal::Decimal::ZERO) {
        let target = money::round_money(share.base * cumulative / rust_decimal::Decimal::ONE_HUNDRED, decimals);
        let already: rust_decimal::Decimal = standing
            .iter()
            .flat_map(|invoice| invoice.lines.iter())
            .filter(|l| l.vat_rate == share.rate)
            .map(|l| l.total_excl_tax)
            .sum();
        let amount = target - already;
        if amount <= rust_decimal::Decimal::ZERO {
            continue;
        }
        let (Some(price_e4), Some(rate_bp)) = (money::to_scaled(amount, 4), money::to_scaled(share.rate, 2)) else {
            return Err(AppError::Internal("deposit amount out of scale".to_owned()));
        };
        lines.push(ValidLine {
            kind: LineKind::Other,
            description: label.to_owned(),
            quantity_milli: 1000,
            unit: None,
            unit_price_e4: price_e4,
            vat_rate_bp: i32::try_from(rate_bp).unwrap_or_default(),
            discount_bp: 0,
            quantity: rust_decimal::Decimal::ONE,
            unit_price: amount,
            vat_rate: share.rate,
            discount: rust_decimal::Decimal::ZERO,
        });
    }
    Ok(lines)
}

/// Invoices a deposit (facture d'acompte) of `percent` % of an accepted quote,
/// issued at once: one line per VAT rate of the quote's accepted lines (that
/// rate's share of the deposit, excluding tax), so its VAT is the quote's. The
/// quote's final invoice deducts it. Refused once the quote is invoiced (409
/// `already_invoiced`) or when the deposits would pass its total (409
/// `deposits_exceed_quote`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn deposit<C: Writer>(db: &C, actor: &Actor, quote_id: i64, input: &DepositInput) -> AppResult<Invoice> {
    let mut v = Validator::new();
    let percent = v.required("percent", input.percent);
    let percent_bp = percent.and_then(|p| percent_bp(&mut v, "percent", p));
    if percent_bp == Some(0) {
        v.add("percent", Msg::new("invoice.deposit.percent_invalid"));
    }
    v.finish()?;
    let (Some(percent), Some(percent_bp)) = (percent, percent_bp) else {
        return Err(AppError::Internal("validator accepted a missing percent".to_owned()));
    };
    let quote = quotes::get(db, actor.org, quote_id).await?;
    if !quote.status.can_carry_out() {
        return Err(AppError::conflict("quote_not_accepted", Msg::new("invoice.quote_not_accepted")));
    }
    let organization = organizations::get(db, actor.org).await?;
    let settings = settings(db, actor.org).await?;
    let decimals = organization.currency.decimals();
    let accepted = exempt_lines(lines_from(quote.accepted_lines().map(LineInput::from))?, settings.vat_exempt);
    let bases = money::totals(priced(&accepted, decimals)?.iter().map(|p| (p.total, p.line.vat_rate)), decimals);
    // In the organization's language, like the rest of the invoice.
    let tr = organization.locale;
    let label =
        tr.format("invoice.deposit.line", &[("percent", &money::format_plain(percent)), ("number", &quote.number)]);
    let buyer = buyer_of(&clients::get(db, actor.org, quote.client_id).await?);
    let (vehicle, garage_id) = match quote.vehicle_id {
        Some(id) => split(Some(vehicle_of(db, actor.org, id).await?)),
        None => (None, None),
    };
    db::write(db, async |txn| {
        db::lock_keys(txn, vec![quote_lock(quote.id)]).await?;
        if find_by_source(txn, actor.org, SourceKind::Quote, quote.id).await?.is_some() {
            return Err(AppError::conflict("already_invoiced", Msg::new("invoice.already_invoiced")));
        }
        let asked = deposit_rows(txn, actor.org, quote.id).await?;
        let standing: Vec<(&deposit::Model, &Invoice)> =
            asked.iter().filter(|(_, invoice)| invoice.credit_note_ids.is_empty()).map(|(r, i)| (r, i)).collect();
        let standing_bp: i32 = standing.iter().map(|(row, _)| row.percent_bp).sum();
        if standing_bp + percent_bp > 10_000 {
            let left = money::from_scaled(Ord::max(i64::from(10_000 - standing_bp), 0), 2);
            return Err(AppError::conflict_on(
                "percent",
                "deposits_exceed_quote",
                Msg::new("invoice.deposit.exceeds_quote").arg("left", money::format_plain(left)),
            ));
        }
        let invoices: Vec<&Invoice> = standing.iter().map(|(_, invoice)| *invoice).collect();
        let lines = deposit_lines(&bases, &invoices, standing_bp + percent_bp, decimals, &label)?;
        if lines.is_empty() {
            return Err(AppError::conflict_on("percent", "deposit_too_small", Msg::new("invoice.deposit.too_small")));
        }
        let position = asked.iter().map(|(row, _)| row.position).max().unwrap_or(0) + 1;
        let draft = Draft {
            kind: InvoiceKind::Invoice,
            currency: None,
            buyer: buyer.clone(),
            vehicle: vehicle.clone(),
            garage_id,
            source: None,
            credited_invoice_id: None,
            service_date: None,
            notes: None,
            payment_terms: None,
            lines,
            deducting: Vec::new(),
            is_deposit: true,
            deduct_quote: None,
        };
        let id = insert_draft(txn, actor, &organization, &settings, draft).await?;
        // Two deposits asked at once take the same place: the second is refused.
        deposit::ActiveModel {
            deposit_invoice_id: Set(id),
            organization_id: Set(actor.org.get()),
            quote_id: Set(quote.id),
            position: Set(position),
            percent_bp: Set(percent_bp),
            deducted_in_invoice_id: Set(None),
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict("deposit_concurrent", Msg::new("invoice.deposit.concurrent"))
                .if_refused(err, Constraint::is_unique)
        })?;
        issue_in(txn, actor, id, None).await
    })
    .await
}

// ---------------------------------------------------------------- issuing

/// Takes the organization's next number of `kind` for `year`: increments the
/// counter row in the caller's transaction (inserting it at 1 the first time).
/// Concurrent issues queue on that row until commit: no gap, no duplicate.
async fn next_sequence(txn: &impl ConnectionTrait, org: OrgId, kind: InvoiceKind, year: i32) -> AppResult<i64> {
    let statement = Query::insert()
        .into_table(counter::Entity)
        .columns([
            counter::Column::OrganizationId,
            counter::Column::Kind,
            counter::Column::Year,
            counter::Column::LastNumber,
        ])
        .values_panic([org.get().into(), kind.as_str().into(), year.into(), 1_i64.into()])
        .on_conflict(
            OnConflict::columns([counter::Column::OrganizationId, counter::Column::Kind, counter::Column::Year])
                .value(counter::Column::LastNumber, Expr::col((counter::Entity, counter::Column::LastNumber)).add(1))
                .to_owned(),
        )
        .returning_col(counter::Column::LastNumber)
        .to_owned();
    let row = txn
        .query_one(&statement)
        .await?
        .ok_or_else(|| AppError::Internal("invoice counter returned nothing".to_owned()))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// The legal mentions an issued document carries, in the organization's language.
fn mentions(
    tr: Locale,
    kind: InvoiceKind,
    settings: &BillingSettings,
    currency: Currency,
    buyer_is_business: bool,
    credited: Option<(&str, NaiveDate)>,
    reason: Option<&str>,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some((number, date)) = credited {
        parts.push(tr.format("invoice.mention.credit_of", &[("number", number), ("date", &tr.date(date))]));
        if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
            parts.push(tr.format("invoice.mention.reason", &[("reason", reason.trim())]));
        }
    }
    if settings.vat_exempt {
        parts.push(tr.text("invoice.mention.vat_exempt").to_owned());
    }
    if kind == InvoiceKind::Invoice {
        let rate = money::format_plain(settings.late_penalty_rate);
        parts.push(tr.format("invoice.mention.late_penalty", &[("rate", &rate)]));
        if buyer_is_business && currency == Currency::EUR {
            parts.push(tr.text("invoice.mention.recovery_indemnity").to_owned());
        }
        if buyer_is_business {
            parts.push(tr.text("invoice.mention.no_discount").to_owned());
        }
    }
    if let Some(extra) = settings.mentions.as_deref().filter(|m| !m.trim().is_empty()) {
        parts.push(extra.trim().to_owned());
    }
    parts.join("\n")
}

/// The seller's identity the law asks every invoice to print (Code de commerce
/// L441-9, CGI ann. II art. 242 nonies A): an address, a registration number, and a
/// VAT number unless VAT-exempt (in the euro area, where the intra-community number applies).
fn seller_complete(organization: &Organization, vat_exempt: bool) -> AppResult<()> {
    let blank = |value: &Option<String>| value.as_deref().is_none_or(|v| v.trim().is_empty());
    let tr = crate::platform::i18n::current();
    let mut missing = Vec::new();
    if blank(&organization.address) {
        missing.push(tr.text("invoice.seller_field.address"));
    }
    if blank(&organization.registration_number) {
        missing.push(tr.text("invoice.seller_field.registration_number"));
    }
    if !vat_exempt && organization.currency == Currency::EUR && blank(&organization.vat_number) {
        missing.push(tr.text("invoice.seller_field.vat_number"));
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(AppError::conflict(
        "seller_incomplete",
        Msg::new("invoice.seller_incomplete").arg("missing", missing.join(", ")),
    ))
}

/// Issues a draft in the caller's transaction: the buyer is read again, the seller
/// copied from the organization, the number taken, the document dated today (in the
/// organization's zone) and frozen.
async fn issue_in(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: i64,
    reason: Option<&str>,
) -> AppResult<Invoice> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // The draft as checked below is the draft issued: a concurrent edit waits.
        tenant::scoped::<invoice::Entity>(actor.org)
            .filter(invoice::Column::Id.eq(id))
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    let before = get(txn, actor.org, id).await?;
    if !before.status.can_edit() {
        return Err(not_draft());
    }
    if before.lines.is_empty() {
        return Err(AppError::conflict_on("lines", "invoice_empty", Msg::new("invoice.empty")));
    }
    let organization = organizations::get(txn, actor.org).await?;
    let mut settings = settings(txn, actor.org).await?;
    if before.kind == InvoiceKind::CreditNote {
        // A credit note says what the invoice it corrects said of VAT.
        settings.vat_exempt = before.vat_exempt;
    }
    if before.vat_exempt != settings.vat_exempt {
        // Lines drafted without VAT would be issued as zero-rated, with no reason given.
        return Err(AppError::conflict("vat_settings_changed", Msg::new("invoice.vat_settings_changed")));
    }
    if settings.vat_exempt && before.lines.iter().any(|l| !l.vat_rate.is_zero()) {
        return Err(AppError::conflict_on("lines", "vat_on_exempt", Msg::new("invoice.vat_on_exempt")));
    }
    seller_complete(&organization, settings.vat_exempt)?;
    let today = organization.today()?;
    // An invoice's buyer is read again (a client deleted since keeps the draft's); a
    // credit note's is the invoice's.
    let buyer = match (before.kind, before.buyer.kind) {
        (InvoiceKind::Invoice, CustomerKind::Client) => {
            clients::get(txn, actor.org, before.buyer.id).await.ok().map(|c| buyer_of(&c))
        }
        _ => None,
    }
    .unwrap_or_else(|| before.buyer.clone());
    let credited = match before.credited_invoice_id {
        Some(credited_id) => {
            let original = tenant::find::<invoice::Entity>(txn, actor.org, credited_id).await?;
            original.number.zip(original.issue_date)
        }
        None => None,
    };
    let year = today.year();
    let sequence = next_sequence(txn, actor.org, before.kind, year).await?;
    let format = match before.kind {
        InvoiceKind::Invoice => &settings.invoice_number_format,
        InvoiceKind::CreditNote => &settings.credit_note_number_format,
    };
    let prefix = if before.kind == InvoiceKind::Invoice { "FAC" } else { "AV" };
    let number = format_number(format, year, sequence).unwrap_or_else(|| format!("{prefix}-{year}-{sequence:05}"));
    let due_date = match (before.kind, before.instalments.iter().map(|i| i.due_on).max()) {
        // Paid in instalments: due in full with the latest one.
        (InvoiceKind::Invoice, Some(last)) => std::cmp::max(last, today),
        (InvoiceKind::Invoice, None) => {
            today.checked_add_days(Days::new(u64::try_from(settings.payment_terms_days).unwrap_or(0))).unwrap_or(today)
        }
        (InvoiceKind::CreditNote, _) => today,
    };
    let text = mentions(
        organization.locale,
        before.kind,
        &settings,
        before.currency,
        buyer.is_business,
        credited.as_ref().map(|(n, d)| (n.as_str(), *d)),
        reason,
    );
    let now = Utc::now();
    use invoice::Column as C;
    let updated = invoice::Entity::update_many()
        .col_expr(C::Status, Expr::value(InvoiceStatus::Issued))
        .col_expr(C::Number, Expr::value(number))
        .col_expr(C::Year, Expr::value(year))
        .col_expr(C::Sequence, Expr::value(sequence))
        .col_expr(C::IssueDate, Expr::value(today))
        .col_expr(C::ServiceDate, Expr::value(before.service_date.unwrap_or(today)))
        .col_expr(C::DueDate, Expr::value(due_date))
        .col_expr(C::BuyerName, Expr::value(buyer.name))
        .col_expr(C::BuyerAddress, Expr::value(buyer.address))
        .col_expr(C::BuyerEmail, Expr::value(buyer.email))
        .col_expr(C::BuyerTaxId, Expr::value(buyer.tax_id))
        .col_expr(C::BuyerIsBusiness, Expr::value(buyer.is_business))
        .col_expr(C::LatePenaltyRateBp, Expr::value(rate_bp(&settings)))
        .col_expr(C::VatExempt, Expr::value(settings.vat_exempt))
        .col_expr(C::SellerName, Expr::value(organization.name.clone()))
        .col_expr(C::SellerAddress, Expr::value(organization.address.clone()))
        .col_expr(C::SellerRegistration, Expr::value(organization.registration_number.clone()))
        .col_expr(C::SellerVatNumber, Expr::value(organization.vat_number.clone()))
        .col_expr(C::Mentions, Expr::value(Some(text).filter(|t| !t.is_empty())))
        .col_expr(C::IssuedAt, Expr::value(now))
        .col_expr(C::IssuedBy, Expr::value(actor.user_id))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::OrganizationId.eq(actor.org.get()))
        .filter(C::Id.eq(id))
        .filter(C::Status.eq(InvoiceStatus::Draft))
        .exec(txn)
        .await
        .map_err(|err| {
            // A number taken by hand-made data (or a format mapping two sequences to one number).
            AppError::conflict("duplicate_invoice_number", Msg::new("invoice.number_taken"))
                .if_refused(err, Constraint::is_unique)
        })?;
    if updated.rows_affected == 0 {
        return Err(not_draft());
    }
    let after = get(txn, actor.org, id).await?;
    audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    let event = crate::notify::webhooks::WebhookEvent::InvoiceIssued;
    crate::notify::webhooks::emit(txn, actor.org, event, webhook_data(&after)).await?;
    tracing::info!(invoice_id = id, number = after.number.as_deref().unwrap_or_default(), "invoice issued");
    Ok(after)
}

/// Issues a draft: it takes its number and never changes again.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn issue<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<Invoice> {
    db::write(db, async |txn| issue_in(txn, actor, id, None).await).await
}

/// Corrects an issued invoice by a credit note of its whole amount, issued at
/// once in the credit notes' sequence. An invoice is credited once (409 after).
/// A pack sold by the school is cancelled from the school (which takes back its
/// hours and credits the invoice through [`credit_in`]): 409 `cancel_the_sale` here.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn credit<C: Writer>(db: &C, actor: &Actor, id: i64, input: &CreditInput) -> AppResult<Invoice> {
    let original = get(db, actor.org, id).await?;
    if original.source_kind == Some(SourceKind::PackSale) {
        return Err(AppError::conflict("cancel_the_sale", Msg::new("invoice.cancel_the_sale")));
    }
    db::write(db, async |txn| credit_in(txn, actor, id, input).await).await
}

/// [`credit`] in the caller's transaction, whatever the invoice was made from.
pub async fn credit_in(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: i64,
    input: &CreditInput,
) -> AppResult<Invoice> {
    let mut v = Validator::new();
    let reason = v.optional_long_text("reason", input.reason.as_deref(), 1000);
    v.finish()?;
    // A deposit is credited under its quote's lock: never while a final invoice deducting it is drafted.
    if let Some(row) = deposit::Entity::find_by_id(id).one(txn).await? {
        db::lock_keys(txn, vec![quote_lock(row.quote_id)]).await?;
    }
    let original = get(txn, actor.org, id).await?;
    if original.kind != InvoiceKind::Invoice || original.status != InvoiceStatus::Issued {
        return Err(AppError::conflict("invoice_not_issued", Msg::new("invoice.credit_needs_issued")));
    }
    if let Some(final_id) = original.deposit.as_ref().and_then(|d| d.deducted_in_invoice_id) {
        // Deducted from the final invoice, the deposit is corrected with it.
        let deducting = get(txn, actor.org, final_id).await?;
        if deducting.credit_note_ids.is_empty() {
            return Err(AppError::conflict("deposit_deducted", Msg::new("invoice.deposit_deducted")));
        }
    }
    // Copied as stored: the deductions of deposits keep their negative quantity.
    let lines = original.lines.iter().map(as_valid).collect::<AppResult<Vec<_>>>()?;
    let deducting = original.lines.iter().map(|l| l.deposit_invoice_id).collect();
    let organization = organizations::get(txn, actor.org).await?;
    // The credit note keeps the original's VAT: the rates of the invoice it corrects.
    let settings = BillingSettings { vat_exempt: original.vat_exempt, ..settings(txn, actor.org).await? };
    let draft = Draft {
        kind: InvoiceKind::CreditNote,
        currency: Some(original.currency),
        buyer: original.buyer.clone(),
        vehicle: original.vehicle_id.zip(original.vehicle_label.clone()),
        garage_id: original.garage_id,
        source: None,
        credited_invoice_id: Some(original.id),
        service_date: original.service_date,
        notes: reason.clone(),
        payment_terms: None,
        lines,
        deducting,
        is_deposit: false,
        deduct_quote: None,
    };
    // One credit note per invoice: a unique index refuses a second one, even a concurrent one.
    let credit_id = insert_draft(txn, actor, &organization, &settings, draft).await?;
    issue_in(txn, actor, credit_id, reason.as_deref()).await
}

/// What another domain sells and invoices at once (a driving school's pack).
#[derive(Debug, Clone)]
pub struct Sale {
    pub buyer: Buyer,
    /// What is sold; invoiced once (409 `already_invoiced`).
    pub source: (SourceKind, i64),
    pub lines: Vec<LineInput>,
    pub notes: Option<String>,
    /// 1: paid under the usual terms; more: equal monthly instalments from `first_due`.
    pub instalments: u32,
    pub first_due: NaiveDate,
    /// When the service was rendered (the last lesson of a statement); the issue date when absent.
    pub service_date: Option<NaiveDate>,
    /// Parts paid by others than the buyer (a contract's funders), first in the
    /// schedule; the rest is the buyer's, in `instalments` parts.
    pub funded: Vec<super::instalments::Part>,
}

/// Invoices a sale in the caller's transaction: a draft of its lines, its
/// schedule when paid in instalments (the invoice falls due with the last), issued.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sell_in(txn: &sea_orm::DatabaseTransaction, actor: &Actor, sale: Sale) -> AppResult<Invoice> {
    let lines = lines_from(sale.lines.into_iter())?;
    if !(1..=super::instalments::MAX_INSTALMENTS).contains(&sale.instalments) {
        return Err(AppError::conflict_on(
            "instalments",
            "instalments_invalid",
            Msg::new("instalment.count_invalid").arg("max", super::instalments::MAX_INSTALMENTS),
        ));
    }
    let organization = organizations::get(txn, actor.org).await?;
    let settings = settings(txn, actor.org).await?;
    let draft = Draft {
        kind: InvoiceKind::Invoice,
        currency: None,
        buyer: sale.buyer,
        vehicle: None,
        garage_id: None,
        source: Some(sale.source),
        credited_invoice_id: None,
        service_date: sale.service_date,
        notes: sale.notes,
        payment_terms: None,
        lines,
        deducting: Vec::new(),
        is_deposit: false,
        deduct_quote: None,
    };
    let id = insert_draft(txn, actor, &organization, &settings, draft).await?;
    if sale.instalments > 1 || !sale.funded.is_empty() {
        let total = tenant::find::<invoice::Entity>(txn, actor.org, id).await?.total_incl_minor;
        let funded: i64 = sale.funded.iter().map(|p| p.amount_minor).sum();
        if funded > total {
            return Err(AppError::conflict_on(
                "funded",
                "funded_beyond_total",
                Msg::new("instalment.funded_beyond_total"),
            ));
        }
        let own = total - funded;
        if own > 0 && own < i64::from(sale.instalments) {
            return Err(AppError::conflict_on(
                "instalments",
                "amount_too_small",
                Msg::new("instalment.amount_too_small"),
            ));
        }
        // The buyer's parts first, then the funders': what is paid covers the
        // schedule in order, so the buyer's payments settle the buyer's parts.
        let mut schedule: Vec<super::instalments::Part> = Vec::new();
        if own > 0 {
            let parts = super::instalments::split(own, sale.instalments, sale.first_due);
            schedule.extend(parts.into_iter().map(|(due_on, amount_minor)| super::instalments::Part {
                due_on,
                amount_minor,
                payer: None,
            }));
        }
        let mut funded = sale.funded;
        funded.sort_by_key(|p| p.due_on);
        schedule.extend(funded);
        super::instalments::insert_schedule(txn, id, &schedule).await?;
    }
    issue_in(txn, actor, id, None).await
}

// ---------------------------------------------------------------- figures

/// What the business is owed and has collected, as the invoices page heads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ToSchema)]
pub struct BillingSummary {
    #[schema(value_type = String)]
    pub currency: Currency,
    /// Invoices less credit notes issued this month (including tax).
    #[schema(value_type = String)]
    pub invoiced_this_month: rust_decimal::Decimal,
    /// Payments less refunds received this month.
    #[schema(value_type = String)]
    pub collected_this_month: rust_decimal::Decimal,
    /// Still due on issued invoices.
    #[schema(value_type = String)]
    pub outstanding: rust_decimal::Decimal,
    /// Of which past its due date.
    #[schema(value_type = String)]
    pub overdue: rust_decimal::Decimal,
    pub overdue_count: i64,
    /// Days from issue to the last payment, on average, of the invoices issued in
    /// the last year and paid in full; null before any.
    pub average_days_to_pay: Option<i64>,
}

/// Most paid invoices the average days to pay is computed over.
const PAID_SAMPLE: u64 = 1000;

/// Days from issue to the last payment, on average, of the year's invoices paid in full.
async fn average_days_to_pay(db: &impl ConnectionTrait, org: OrgId, today: NaiveDate) -> AppResult<Option<i64>> {
    let since = today.checked_sub_days(Days::new(365)).unwrap_or(today);
    let paid: Vec<(i64, Option<NaiveDate>)> = tenant::scoped::<invoice::Entity>(org)
        .select_only()
        .columns([invoice::Column::Id, invoice::Column::IssueDate])
        .filter(invoice::Column::Kind.eq(InvoiceKind::Invoice))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .filter(invoice::Column::IssueDate.gte(since))
        .filter(Expr::cust(format!("{BALANCE_SQL} <= 0")))
        .order_by_desc(invoice::Column::Id)
        .limit(PAID_SAMPLE)
        .into_tuple()
        .all(db)
        .await?;
    if paid.is_empty() {
        return Ok(None);
    }
    let last: HashMap<i64, NaiveDate> = payment::Entity::find()
        .select_only()
        .column(payment::Column::InvoiceId)
        .column_as(payment::Column::ReceivedOn.max(), "last")
        .filter(payment::Column::InvoiceId.is_in(paid.iter().map(|(id, _)| *id)))
        .filter(payment::Column::Kind.eq(PaymentKind::Payment))
        .group_by(payment::Column::InvoiceId)
        .into_tuple::<(i64, NaiveDate)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // Invoices settled by a credit note alone were never paid: they do not count.
    let days: Vec<i64> =
        paid.iter().filter_map(|(id, issued)| Some(Ord::max((*last.get(id)? - (*issued)?).num_days(), 0))).collect();
    Ok((!days.is_empty()).then(|| days.iter().sum::<i64>() / i64::try_from(days.len()).unwrap_or(1)))
}

/// The organization's billing figures, in three queries.
pub async fn summary_figures(db: &impl ConnectionTrait, org: OrgId) -> AppResult<BillingSummary> {
    let organization = organizations::get(db, org).await?;
    let today = organization.today()?;
    let month = today.with_day(1).unwrap_or(today);
    let backend = db.get_database_backend();
    let sums = |sql: &str, values: Vec<sea_orm::Value>| db::statement(backend, sql, values);
    let invoiced = db
        .query_one_raw(sums(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'invoice' THEN total_incl_minor ELSE -total_incl_minor END), 0) AS BIGINT) \
             FROM invoices WHERE organization_id = $1 AND status = 'issued' AND issue_date >= $2",
            vec![org.get().into(), month.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or_default();
    let collected = db
        .query_one_raw(sums(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'payment' THEN amount_minor ELSE -amount_minor END), 0) AS BIGINT) \
             FROM payments WHERE organization_id = $1 AND received_on >= $2",
            vec![org.get().into(), month.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or_default();
    let owed = db
        .query_one_raw(sums(
            &format!(
                "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN due_date < $2 THEN balance ELSE 0 END), 0) AS BIGINT), \
                 CAST(COUNT(CASE WHEN due_date < $2 THEN 1 END) AS BIGINT) \
                 FROM (SELECT {BALANCE_SQL} AS balance, invoices.due_date AS due_date FROM invoices \
                 WHERE invoices.organization_id = $1 AND invoices.kind = 'invoice' AND invoices.status = 'issued') owed \
                 WHERE balance > 0"
            ),
            vec![org.get().into(), today.into()],
        ))
        .await?;
    let (outstanding, overdue, overdue_count) = match owed {
        Some(row) => {
            (row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<i64>(1)?, row.try_get_by_index::<i64>(2)?)
        }
        None => (0, 0, 0),
    };
    let currency = organization.currency;
    let amount = |minor| money::from_minor(minor, currency.decimals());
    Ok(BillingSummary {
        currency,
        invoiced_this_month: amount(invoiced),
        collected_this_month: amount(collected),
        outstanding: amount(outstanding),
        overdue: amount(overdue),
        overdue_count,
        average_days_to_pay: average_days_to_pay(db, org, today).await?,
    })
}

/// What a webhook says of an invoice (or credit note): its identity and amounts,
/// the customer by id; the rest through the API.
pub(crate) fn webhook_data(invoice: &Invoice) -> serde_json::Value {
    serde_json::json!({
        "invoice_id": invoice.id,
        "kind": invoice.kind,
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "customer": { "kind": invoice.buyer.kind, "id": invoice.buyer.id },
        "currency": invoice.currency.to_string(),
        "totals": invoice.totals,
        "paid": invoice.paid.to_string(),
        "balance_due": invoice.balance_due.to_string(),
        "payment_state": invoice.payment_state,
    })
}
