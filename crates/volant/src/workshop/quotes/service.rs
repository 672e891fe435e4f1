//! Quotes (devis): numbering, lines and totals, the status flow, the customer's
//! decision through a share link, duplication, expiry and sending by e-mail.
//!
//! Invariants held by the database: one number per organization and year
//! (unique indexes), taken from a counter row incremented in the quote's own
//! transaction, so numbers have neither gaps nor duplicates; a status change is a
//! conditional UPDATE, so two concurrent transitions cannot both win.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::entity::{line, quote, settings};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify;
use crate::platform::db::Writer;
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::i18n::Msg;
use crate::platform::money::{self, Totals};
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::secrets::{random_token, token_hash};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::workshop::clients::service as clients;

pub const AUDIT_ENTITY: &str = "quote";

/// Most lines a quote may have.
pub const MAX_LINES: usize = 300;
/// Quantities up to a million, unit prices up to a thousand million.
const MAX_QUANTITY: i64 = 1_000_000;
const MAX_UNIT_PRICE: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    Draft,
    Sent,
    Accepted,
    Rejected,
    Expired,
}

impl QuoteStatus {
    pub const ALL: [Self; 5] = [Self::Draft, Self::Sent, Self::Accepted, Self::Rejected, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sent => "sent",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Draft => "quote.status.draft",
            Self::Sent => "quote.status.sent",
            Self::Accepted => "quote.status.accepted",
            Self::Rejected => "quote.status.rejected",
            Self::Expired => "quote.status.expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Part,
    Labour,
    Other,
}

impl LineKind {
    pub const ALL: [Self; 3] = [Self::Part, Self::Labour, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Part => "part",
            Self::Labour => "labour",
            Self::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Part => "quote.kind.part",
            Self::Labour => "quote.kind.labour",
            Self::Other => "quote.kind.other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QuoteLine {
    pub id: i64,
    pub position: i32,
    pub kind: LineKind,
    pub description: String,
    #[schema(value_type = String, example = "1.5")]
    pub quantity: Decimal,
    pub unit: Option<String>,
    /// Excluding tax.
    #[schema(value_type = String, example = "33.33")]
    pub unit_price: Decimal,
    /// Percent.
    #[schema(value_type = String, example = "20")]
    pub vat_rate: Decimal,
    /// Percent off this line.
    #[schema(value_type = String, example = "0")]
    pub discount: Decimal,
    /// Quantity × unit price less the discount, rounded to the currency's minor unit.
    #[schema(value_type = String, example = "49.99")]
    pub total_excl_tax: Decimal,
    /// The client's decision on this line, once decided line by line.
    pub accepted: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VatLine {
    #[schema(value_type = String, example = "20")]
    pub rate: Decimal,
    #[schema(value_type = String)]
    pub base: Decimal,
    #[schema(value_type = String)]
    pub vat: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QuoteTotals {
    #[schema(value_type = String, example = "99.99")]
    pub excl_tax: Decimal,
    pub vat: Vec<VatLine>,
    #[schema(value_type = String, example = "20.00")]
    pub vat_total: Decimal,
    #[schema(value_type = String, example = "119.99")]
    pub incl_tax: Decimal,
}

impl From<Totals> for QuoteTotals {
    fn from(t: Totals) -> Self {
        Self {
            excl_tax: t.excl_tax,
            vat: t.vat.into_iter().map(|s| VatLine { rate: s.rate, base: s.base, vat: s.vat }).collect(),
            vat_total: t.vat_total,
            incl_tax: t.incl_tax,
        }
    }
}

/// A quote as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QuoteSummary {
    pub id: i64,
    /// e.g. `DEV-2026-0001`.
    pub number: String,
    pub client_id: i64,
    pub vehicle_id: Option<i64>,
    pub status: QuoteStatus,
    pub issue_date: NaiveDate,
    pub valid_until: NaiveDate,
    pub currency: String,
    #[schema(value_type = String)]
    pub total_excl_tax: Decimal,
    #[schema(value_type = String)]
    pub total_incl_tax: Decimal,
    pub created_at: chrono::DateTime<Utc>,
}

/// A quote with its lines and totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Quote {
    pub id: i64,
    pub number: String,
    pub client_id: i64,
    pub vehicle_id: Option<i64>,
    pub status: QuoteStatus,
    pub issue_date: NaiveDate,
    pub valid_until: NaiveDate,
    /// ISO 4217; amounts have this currency's number of decimals.
    pub currency: String,
    pub notes: Option<String>,
    pub terms: Option<String>,
    /// Whether the client may accept some lines and decline others.
    pub line_decisions: bool,
    pub lines: Vec<QuoteLine>,
    /// What the quote comes to: once accepted line by line, the accepted lines only.
    pub totals: QuoteTotals,
    /// The totals of every line, when the client declined some of them (else null).
    pub original_totals: Option<QuoteTotals>,
    pub sent_at: Option<chrono::DateTime<Utc>>,
    pub decided_at: Option<chrono::DateTime<Utc>>,
    /// Where the decision came from.
    pub decision_ip: Option<String>,
    /// The quote this one was duplicated from.
    pub duplicated_from: Option<i64>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Quote {
    pub fn decimals(&self) -> u32 {
        u32::from(organizations::currency_decimals(&self.currency).unwrap_or(2))
    }

    /// The lines the client accepted (all of them unless decided line by line).
    pub fn accepted_lines(&self) -> impl Iterator<Item = &QuoteLine> {
        self.lines.iter().filter(|l| l.accepted != Some(false))
    }
}

fn status_of(m: &quote::Model) -> QuoteStatus {
    QuoteStatus::parse(&m.status).unwrap_or(QuoteStatus::Draft)
}

fn summary(m: quote::Model) -> QuoteSummary {
    let decimals = u32::from(organizations::currency_decimals(&m.currency).unwrap_or(2));
    QuoteSummary {
        id: m.id,
        status: status_of(&m),
        number: m.number,
        client_id: m.client_id,
        vehicle_id: m.vehicle_id,
        issue_date: m.issue_date,
        valid_until: m.valid_until,
        total_excl_tax: money::from_minor(m.total_excl_minor, decimals),
        total_incl_tax: money::from_minor(m.total_incl_minor, decimals),
        currency: m.currency,
        created_at: m.created_at,
    }
}

fn assemble_lines(rows: Vec<line::Model>, decimals: u32) -> Vec<QuoteLine> {
    rows.into_iter()
        .map(|l| QuoteLine {
            id: l.id,
            position: l.position,
            kind: LineKind::parse(&l.kind).unwrap_or(LineKind::Other),
            description: l.description,
            quantity: money::from_scaled(l.quantity_milli, 3),
            unit: l.unit,
            unit_price: money::from_scaled(l.unit_price_e4, 4),
            vat_rate: money::from_scaled(i64::from(l.vat_rate_bp), 2),
            discount: money::from_scaled(i64::from(l.discount_bp), 2),
            total_excl_tax: money::from_minor(l.total_excl_minor, decimals),
            accepted: l.accepted,
        })
        .collect()
}

/// The totals of the lines a quote counts: after a partial acceptance, the accepted
/// ones (and the totals of all lines beside them); otherwise every line. Every place
/// that shows or sums a quote takes its totals from here or from the stored columns
/// written with it.
fn quote_totals(status: QuoteStatus, lines: &[QuoteLine], decimals: u32) -> (Totals, Option<Totals>) {
    let all = || money::totals(lines.iter().map(|l| (l.total_excl_tax, l.vat_rate)), decimals);
    let declined = lines.iter().any(|l| l.accepted == Some(false));
    if status == QuoteStatus::Accepted && declined {
        let accepted = lines.iter().filter(|l| l.accepted != Some(false));
        (money::totals(accepted.map(|l| (l.total_excl_tax, l.vat_rate)), decimals), Some(all()))
    } else {
        (all(), None)
    }
}

fn assemble(m: quote::Model, rows: Vec<line::Model>) -> Quote {
    let decimals = u32::from(organizations::currency_decimals(&m.currency).unwrap_or(2));
    let lines = assemble_lines(rows, decimals);
    let status = status_of(&m);
    let (totals, original) = quote_totals(status, &lines, decimals);
    Quote {
        id: m.id,
        status,
        number: m.number,
        client_id: m.client_id,
        vehicle_id: m.vehicle_id,
        issue_date: m.issue_date,
        valid_until: m.valid_until,
        currency: m.currency,
        notes: m.notes,
        terms: m.terms,
        line_decisions: m.line_decisions,
        lines,
        totals: totals.into(),
        original_totals: original.map(Into::into),
        sent_at: m.sent_at,
        decided_at: m.decided_at,
        decision_ip: m.decision_ip,
        duplicated_from: m.duplicated_from,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// A decimal from JSON: a string (`"33.33"`, or `"33,33"` as French people write
/// it) or a number, read from its text so that `33.33` stays exactly 33.33.
pub fn lenient_decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(serde::de::Error::custom("expected a decimal number or a string")),
    };
    parse_decimal(&text).map(Some).ok_or_else(|| serde::de::Error::custom(format!("not a decimal number: {text}")))
}

/// `"1 234,5"` or `"1234.5"` → 1234.5.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace() && *c != '\u{202f}').collect();
    if cleaned.is_empty() || cleaned.len() > 40 {
        return None;
    }
    Decimal::from_str(&cleaned.replace(',', ".")).ok().or_else(|| Decimal::from_scientific(&cleaned).ok())
}

/// One line of a quote as entered.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LineInput {
    /// `part`, `labour` or `other` (default).
    pub kind: Option<LineKind>,
    #[schema(required = true, example = "Vidange huile 5W30")]
    pub description: Option<String>,
    /// Default 1; up to 3 decimals.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<String>, example = "1")]
    pub quantity: Option<Decimal>,
    #[schema(example = "h")]
    pub unit: Option<String>,
    /// Excluding tax, up to 4 decimals.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = String, required = true, example = "33.33")]
    pub unit_price: Option<Decimal>,
    /// Percent, default 20.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<String>, example = "20")]
    pub vat_rate: Option<Decimal>,
    /// Percent off, default 0.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<String>, example = "0")]
    pub discount: Option<Decimal>,
}

/// A quote as entered (POST and PUT). Dates default to today and to the
/// organization's validity period.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QuoteInput {
    #[schema(required = true)]
    pub client_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    pub issue_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub notes: Option<String>,
    /// Payment and other terms; the organization's default when absent.
    pub terms: Option<String>,
    /// Let the client accept line by line; the organization's default when absent.
    pub line_decisions: Option<bool>,
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

/// A line of parts, labour or other, checked: its amounts within bounds and exact
/// in their stored units (shared by quotes and interventions).
pub(crate) struct ValidLine {
    pub kind: LineKind,
    pub description: String,
    pub quantity_milli: i64,
    pub unit: Option<String>,
    pub unit_price_e4: i64,
    pub vat_rate_bp: i32,
    pub discount_bp: i32,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    pub discount: Decimal,
}

struct ValidQuote {
    client_id: i64,
    vehicle_id: Option<i64>,
    issue_date: NaiveDate,
    valid_until: NaiveDate,
    notes: Option<String>,
    terms: Option<String>,
    line_decisions: bool,
    lines: Vec<ValidLine>,
}

fn percent_bp(v: &mut Validator, field: &str, value: Decimal) -> Option<i32> {
    let bp = money::to_scaled(value, 2).filter(|bp| (0..=10_000).contains(bp));
    match bp.and_then(|bp| i32::try_from(bp).ok()) {
        Some(bp) => Some(bp),
        None => {
            v.add(field, Msg::new("quote.percent_invalid"));
            None
        }
    }
}

/// Checks lines (every error recorded in `v`, each named `lines[i].field`) and
/// returns the valid ones. Bounds keep every product of quantity and price far
/// inside what a decimal holds.
pub(crate) fn validate_lines(v: &mut Validator, lines: &[LineInput]) -> Vec<ValidLine> {
    if lines.len() > MAX_LINES {
        v.add("lines", Msg::new("quote.too_many_lines").arg("max", MAX_LINES));
    }
    let mut valid = Vec::with_capacity(lines.len().min(MAX_LINES));
    for (i, l) in lines.iter().enumerate().take(MAX_LINES) {
        let field = |name: &str| format!("lines[{i}].{name}");
        let description = v.required_long_text(&field("description"), l.description.as_deref(), 500);
        let quantity = l.quantity.unwrap_or(Decimal::ONE);
        let quantity_milli = money::to_scaled(quantity, 3).filter(|q| *q > 0 && *q <= MAX_QUANTITY * 1000);
        if quantity_milli.is_none() {
            v.add(&field("quantity"), Msg::new("quote.quantity_invalid").arg("max", MAX_QUANTITY));
        }
        let unit_price = v.required(&field("unit_price"), l.unit_price);
        let unit_price_e4 = unit_price.and_then(|p| {
            let scaled = money::to_scaled(p, 4).filter(|p| *p >= 0 && *p <= MAX_UNIT_PRICE * 10_000);
            if scaled.is_none() {
                v.add(&field("unit_price"), Msg::new("quote.price_invalid").arg("max", MAX_UNIT_PRICE));
            }
            scaled
        });
        let vat_rate = l.vat_rate.unwrap_or(Decimal::from(20));
        let vat_rate_bp = percent_bp(v, &field("vat_rate"), vat_rate);
        let discount = l.discount.unwrap_or(Decimal::ZERO);
        let discount_bp = percent_bp(v, &field("discount"), discount);
        let unit = v.optional_text(&field("unit"), l.unit.as_deref(), 20);
        if let (
            Some(description),
            Some(quantity_milli),
            Some(unit_price),
            Some(unit_price_e4),
            Some(vat_rate_bp),
            Some(discount_bp),
        ) = (description, quantity_milli, unit_price, unit_price_e4, vat_rate_bp, discount_bp)
        {
            valid.push(ValidLine {
                kind: l.kind.unwrap_or(LineKind::Other),
                description,
                quantity_milli,
                unit,
                unit_price_e4,
                vat_rate_bp,
                discount_bp,
                quantity: quantity.normalize(),
                unit_price: unit_price.normalize(),
                vat_rate: vat_rate.normalize(),
                discount: discount.normalize(),
            });
        }
    }
    valid
}

fn validate(input: &QuoteInput, settings: &WorkshopSettings, today: NaiveDate) -> AppResult<ValidQuote> {
    let mut v = Validator::new();
    let client_id = v.required("client_id", input.client_id);
    let issue_date = input.issue_date.unwrap_or(today);
    let validity = u64::try_from(settings.quote_validity_days).unwrap_or(30);
    let valid_until =
        input.valid_until.unwrap_or_else(|| issue_date.checked_add_days(Days::new(validity)).unwrap_or(issue_date));
    if valid_until < issue_date {
        v.add("valid_until", Msg::new("quote.valid_until_before_issue"));
    }
    let notes = v.optional_long_text("notes", input.notes.as_deref(), 5000);
    let terms = match input.terms.as_deref() {
        Some(text) => v.optional_long_text("terms", Some(text), 5000),
        None => settings.quote_terms.clone(),
    };
    let lines = validate_lines(&mut v, &input.lines);
    v.finish()?;
    let client_id = client_id.ok_or_else(|| AppError::Internal("validator accepted a missing client".to_owned()))?;
    Ok(ValidQuote {
        client_id,
        vehicle_id: input.vehicle_id,
        issue_date,
        valid_until,
        notes,
        terms,
        line_decisions: input.line_decisions.unwrap_or(settings.line_decisions),
        lines,
    })
}

/// The client and vehicle must be the organization's (422 naming the field otherwise).
async fn check_references(db: &impl ConnectionTrait, org: OrgId, valid: &ValidQuote) -> AppResult<()> {
    let mut v = Validator::new();
    match clients::get(db, org, valid.client_id).await {
        Ok(_) => {}
        Err(AppError::NotFound) => v.add("client_id", Msg::new("quote.client_unknown")),
        Err(err) => return Err(err),
    }
    if let Some(vehicle_id) = valid.vehicle_id {
        match vehicles::get(db, org, vehicle_id).await {
            Ok(_) => {}
            Err(AppError::NotFound) => v.add("vehicle_id", Msg::new("quote.vehicle_unknown")),
            Err(err) => return Err(err),
        }
    }
    v.finish()
}

// ---------------------------------------------------------------- settings

/// How an organization's quotes are numbered and worded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkshopSettings {
    /// `{year}` and `{seq}` (or `{seq:4}`, zero-padded) are replaced; e.g. `DEV-{year}-{seq:4}`.
    pub quote_number_format: String,
    /// Days a quote stays valid by default.
    pub quote_validity_days: i32,
    /// Whether clients may accept quotes line by line by default.
    pub line_decisions: bool,
    /// Default terms printed on quotes.
    pub quote_terms: Option<String>,
    /// Legal mentions printed at the foot of every page (SIRET, insurance…).
    pub legal_mentions: Option<String>,
}

impl Default for WorkshopSettings {
    fn default() -> Self {
        Self {
            quote_number_format: "DEV-{year}-{seq:4}".to_owned(),
            quote_validity_days: 30,
            line_decisions: false,
            quote_terms: Some("Devis gratuit. Paiement à réception de facture.".to_owned()),
            legal_mentions: None,
        }
    }
}

pub async fn settings(db: &impl ConnectionTrait, org: OrgId) -> AppResult<WorkshopSettings> {
    Ok(match settings::Entity::find_by_id(org.get()).one(db).await? {
        Some(m) => WorkshopSettings {
            quote_number_format: m.quote_number_format,
            quote_validity_days: m.quote_validity_days,
            line_decisions: m.line_decisions,
            quote_terms: m.quote_terms,
            legal_mentions: m.legal_mentions,
        },
        None => WorkshopSettings::default(),
    })
}

pub async fn update_settings<C: Writer>(
    db: &C,
    actor: &Actor,
    input: &WorkshopSettings,
) -> AppResult<WorkshopSettings> {
    let mut v = Validator::new();
    let format = v.required_text("quote_number_format", Some(&input.quote_number_format), 60);
    if let Some(format) = &format
        && format_number(format, 2026, 1).is_none()
    {
        v.add("quote_number_format", Msg::new("quote.format_invalid"));
    }
    if !(1..=365).contains(&input.quote_validity_days) {
        v.add("quote_validity_days", Msg::new("quote.validity_invalid"));
    }
    let terms = v.optional_long_text("quote_terms", input.quote_terms.as_deref(), 5000);
    let legal = v.optional_long_text("legal_mentions", input.legal_mentions.as_deref(), 2000);
    v.finish()?;
    let before = settings(db, actor.org).await?;
    let after = WorkshopSettings {
        quote_number_format: format.unwrap_or_default(),
        quote_validity_days: input.quote_validity_days,
        line_decisions: input.line_decisions,
        quote_terms: terms,
        legal_mentions: legal,
    };
    let row = settings::ActiveModel {
        organization_id: Set(actor.org.get()),
        quote_number_format: Set(after.quote_number_format.clone()),
        quote_validity_days: Set(after.quote_validity_days),
        line_decisions: Set(after.line_decisions),
        quote_terms: Set(after.quote_terms.clone()),
        legal_mentions: Set(after.legal_mentions.clone()),
        updated_at: Set(Utc::now()),
    };
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(settings::Column::OrganizationId)
                .update_columns([
                    settings::Column::QuoteNumberFormat,
                    settings::Column::QuoteValidityDays,
                    settings::Column::LineDecisions,
                    settings::Column::QuoteTerms,
                    settings::Column::LegalMentions,
                    settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record_change(&txn, actor, ("workshop_settings", actor.org.get()), Some(&before), Some(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// `DEV-{year}-{seq:4}` → `DEV-2026-0042`; `None` when the format has no `{seq}`
/// or an unknown placeholder.
pub fn format_number(format: &str, year: i32, sequence: i64) -> Option<String> {
    let mut out = String::new();
    let mut rest = format;
    let mut has_sequence = false;
    while let Some(open) = rest.find('{') {
        if rest[..open].contains('}') {
            return None;
        }
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let placeholder = &rest[open + 1..close];
        match placeholder.split_once(':') {
            None if placeholder == "year" => out.push_str(&year.to_string()),
            None if placeholder == "seq" => {
                has_sequence = true;
                out.push_str(&sequence.to_string());
            }
            Some(("seq", width)) => {
                let width: usize = width.parse().ok().filter(|w| (1..=9).contains(w))?;
                has_sequence = true;
                out.push_str(&format!("{sequence:0width$}"));
            }
            _ => return None,
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    out.push_str(rest);
    has_sequence.then_some(out)
}

// ---------------------------------------------------------------- reading

fn scoped(org: OrgId) -> sea_orm::Select<quote::Entity> {
    quote::Entity::find().filter(quote::Column::OrganizationId.eq(org.get()))
}

async fn find(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<quote::Model> {
    scoped(org).filter(quote::Column::Id.eq(id)).one(db).await?.ok_or(AppError::NotFound)
}

async fn lines_of(db: &impl ConnectionTrait, quote_id: i64) -> AppResult<Vec<line::Model>> {
    Ok(line::Entity::find()
        .filter(line::Column::QuoteId.eq(quote_id))
        .order_by_asc(line::Column::Position)
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Quote> {
    let m = find(db, org, id).await?;
    let rows = lines_of(db, m.id).await?;
    Ok(assemble(m, rows))
}

/// The lines of these quotes (the organization's), by quote, in one query.
pub async fn lines_of_quotes(
    db: &impl ConnectionTrait,
    org: OrgId,
    quotes: &[QuoteSummary],
) -> AppResult<HashMap<i64, Vec<QuoteLine>>> {
    if quotes.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = quotes.iter().map(|q| q.id).collect();
    // Scoped through the quotes themselves: only this organization's ids were listed.
    let owned: Vec<i64> = scoped(org)
        .select_only()
        .column(quote::Column::Id)
        .filter(quote::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    let rows = line::Entity::find()
        .filter(line::Column::QuoteId.is_in(owned))
        .order_by_asc(line::Column::QuoteId)
        .order_by_asc(line::Column::Position)
        .all(db)
        .await?;
    let currencies: HashMap<i64, &str> = quotes.iter().map(|q| (q.id, q.currency.as_str())).collect();
    let mut by_quote: HashMap<i64, Vec<line::Model>> = HashMap::new();
    for row in rows {
        by_quote.entry(row.quote_id).or_default().push(row);
    }
    Ok(by_quote
        .into_iter()
        .map(|(quote_id, rows)| {
            let currency = currencies.get(&quote_id).copied().unwrap_or("EUR");
            let lines = assemble_lines(rows, u32::from(organizations::currency_decimals(currency).unwrap_or(2)));
            (quote_id, lines)
        })
        .collect())
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct QuoteFilter {
    pub status: Option<QuoteStatus>,
    pub client_id: Option<i64>,
    pub vehicle_id: Option<i64>,
}

/// A page of quotes, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &QuoteFilter,
    page: PageRequest,
) -> AppResult<Page<QuoteSummary>> {
    let mut query = scoped(org).order_by_desc(quote::Column::Id).limit(page.fetch_limit());
    if let Some(before) = page.after {
        query = query.filter(quote::Column::Id.lt(before));
    }
    if let Some(status) = filter.status {
        query = query.filter(quote::Column::Status.eq(status.as_str()));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(quote::Column::ClientId.eq(client_id));
    }
    if let Some(vehicle_id) = filter.vehicle_id {
        query = query.filter(quote::Column::VehicleId.eq(vehicle_id));
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(rows, page, |q| q.id).map(summary))
}

// ---------------------------------------------------------------- writing

/// Takes the organization's next number for `year`: increments the counter row in
/// the caller's transaction (inserting it at 1 the first time).
async fn next_sequence(txn: &impl ConnectionTrait, org: OrgId, year: i32) -> AppResult<i64> {
    use super::entity::counter;
    let statement = Query::insert()
        .into_table(counter::Entity)
        .columns([counter::Column::OrganizationId, counter::Column::Year, counter::Column::LastNumber])
        .values_panic([org.get().into(), year.into(), 1_i64.into()])
        .on_conflict(
            OnConflict::columns([counter::Column::OrganizationId, counter::Column::Year])
                .value(counter::Column::LastNumber, Expr::col((counter::Entity, counter::Column::LastNumber)).add(1))
                .to_owned(),
        )
        .returning_col(counter::Column::LastNumber)
        .to_owned();
    let row = txn
        .query_one(&statement)
        .await?
        .ok_or_else(|| AppError::Internal("quote counter returned nothing".to_owned()))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

fn line_rows(quote_id: i64, lines: &[ValidLine], decimals: u32) -> AppResult<(Vec<line::ActiveModel>, Totals)> {
    let mut rows = Vec::with_capacity(lines.len());
    let mut amounts = Vec::with_capacity(lines.len());
    for (position, l) in lines.iter().enumerate() {
        let total = money::line_total(l.quantity, l.unit_price, l.discount, decimals);
        let total_minor = money::to_minor(total, decimals).ok_or_else(|| {
            AppError::validation(&format!("lines[{position}].quantity"), Msg::new("quote.amount_too_large"))
        })?;
        amounts.push((total, l.vat_rate));
        rows.push(line::ActiveModel {
            quote_id: Set(quote_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            kind: Set(l.kind.as_str().to_owned()),
            description: Set(l.description.clone()),
            quantity_milli: Set(l.quantity_milli),
            unit: Set(l.unit.clone()),
            unit_price_e4: Set(l.unit_price_e4),
            vat_rate_bp: Set(l.vat_rate_bp),
            discount_bp: Set(l.discount_bp),
            total_excl_minor: Set(total_minor),
            accepted: Set(None),
            ..Default::default()
        });
    }
    Ok((rows, money::totals(amounts, decimals)))
}

fn totals_minor(totals: &Totals, decimals: u32) -> AppResult<(i64, i64, i64)> {
    let convert = |amount| {
        money::to_minor(amount, decimals)
            .ok_or_else(|| AppError::validation("lines", Msg::new("quote.amount_too_large")))
    };
    Ok((convert(totals.excl_tax)?, convert(totals.vat_total)?, convert(totals.incl_tax)?))
}

/// Creates a draft with the next number of its issue year.
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &QuoteInput) -> AppResult<Quote> {
    create_from(db, actor, input, None).await
}

async fn create_from<C: Writer>(
    db: &C,
    actor: &Actor,
    input: &QuoteInput,
    duplicated_from: Option<i64>,
) -> AppResult<Quote> {
    let settings = settings(db, actor.org).await?;
    let organization = organizations::get(db, actor.org).await?;
    let valid = validate(input, &settings, Utc::now().date_naive())?;
    check_references(db, actor.org, &valid).await?;
    let decimals = u32::from(organization.currency_decimals);
    // Amounts are checked before the number is taken.
    let (_, totals) = line_rows(0, &valid.lines, decimals)?;
    let (excl, vat, incl) = totals_minor(&totals, decimals)?;
    let now = Utc::now();
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let year = valid.issue_date.year();
    // The quote and its lines are written under a provisional number first; the
    // real one is taken last, so that concurrent creations of the organization,
    // which queue on its counter row until commit, wait as little as possible.
    let provisional = -i64::from(fastrand::u32(1..u32::MAX)) - i64::from(fastrand::u16(..)) * (1 << 32);
    let inserted = quote::ActiveModel {
        organization_id: Set(actor.org.get()),
        number: Set(format!("~{provisional}")),
        year: Set(year),
        sequence: Set(provisional),
        client_id: Set(valid.client_id),
        vehicle_id: Set(valid.vehicle_id),
        status: Set(QuoteStatus::Draft.as_str().to_owned()),
        issue_date: Set(valid.issue_date),
        valid_until: Set(valid.valid_until),
        currency: Set(organization.currency.clone()),
        notes: Set(valid.notes.clone()),
        terms: Set(valid.terms.clone()),
        total_excl_minor: Set(excl),
        total_vat_minor: Set(vat),
        total_incl_minor: Set(incl),
        line_decisions: Set(valid.line_decisions),
        share_token_hash: Set(None),
        share_expires_at: Set(None),
        sent_at: Set(None),
        decided_at: Set(None),
        decision_ip: Set(None),
        duplicated_from: Set(duplicated_from),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let saved = match inserted {
        Ok(saved) => saved,
        Err(err) => {
            txn.rollback().await?;
            return Err(match constraint_violation(&err) {
                Some(Constraint::ForeignKey(_)) => AppError::validation("client_id", Msg::new("quote.client_unknown")),
                _ => err.into(),
            });
        }
    };
    let (rows, _) = line_rows(saved.id, &valid.lines, decimals)?;
    if !rows.is_empty() {
        line::Entity::insert_many(rows).exec_without_returning(&txn).await?;
    }
    let mut full = get(&txn, actor.org, saved.id).await?;
    let sequence = next_sequence(&txn, actor.org, year).await?;
    let number = format_number(&settings.quote_number_format, year, sequence)
        .unwrap_or_else(|| format!("DEV-{year}-{sequence:04}"));
    let numbered = quote::Entity::update_many()
        .col_expr(quote::Column::Number, Expr::value(number.clone()))
        .col_expr(quote::Column::Sequence, Expr::value(sequence))
        .filter(quote::Column::Id.eq(saved.id))
        .exec(&txn)
        .await;
    if let Err(err) = numbered {
        txn.rollback().await?;
        return Err(match constraint_violation(&err) {
            // A number taken by hand-made data (or a format that maps two sequences
            // to one number) must not be silently reused.
            Some(Constraint::Unique(_)) => AppError::Conflict {
                code: "duplicate_quote_number",
                field: None,
                message: Msg::new("quote.number_taken"),
            },
            _ => err.into(),
        });
    }
    full.number = number;
    audit::record_change(&txn, actor, (AUDIT_ENTITY, full.id), None, Some(&full)).await?;
    txn.commit().await?;
    tracing::info!(quote_id = full.id, number = %full.number, "quote created");
    Ok(full)
}

/// Replaces a draft's content (409 once it has been sent).
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &QuoteInput) -> AppResult<Quote> {
    let current = find(db, actor.org, id).await?;
    let settings = settings(db, actor.org).await?;
    let valid = validate(input, &settings, current.issue_date)?;
    check_references(db, actor.org, &valid).await?;
    let decimals = u32::from(organizations::currency_decimals(&current.currency).unwrap_or(2));
    let (rows, totals) = line_rows(id, &valid.lines, decimals)?;
    let (excl, vat, incl) = totals_minor(&totals, decimals)?;
    if valid.issue_date.year() != current.year {
        return Err(AppError::validation("issue_date", Msg::new("quote.year_fixed").arg("year", current.year)));
    }
    let before = get(db, actor.org, id).await?;
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let updated = quote::Entity::update_many()
        .col_expr(quote::Column::ClientId, Expr::value(valid.client_id))
        .col_expr(quote::Column::VehicleId, Expr::value(valid.vehicle_id))
        .col_expr(quote::Column::IssueDate, Expr::value(valid.issue_date))
        .col_expr(quote::Column::ValidUntil, Expr::value(valid.valid_until))
        .col_expr(quote::Column::Notes, Expr::value(valid.notes.clone()))
        .col_expr(quote::Column::Terms, Expr::value(valid.terms.clone()))
        .col_expr(quote::Column::LineDecisions, Expr::value(valid.line_decisions))
        .col_expr(quote::Column::TotalExclMinor, Expr::value(excl))
        .col_expr(quote::Column::TotalVatMinor, Expr::value(vat))
        .col_expr(quote::Column::TotalInclMinor, Expr::value(incl))
        .col_expr(quote::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(quote::Column::OrganizationId.eq(actor.org.get()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.eq(QuoteStatus::Draft.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        txn.rollback().await?;
        return Err(not_editable(before.status));
    }
    line::Entity::delete_many().filter(line::Column::QuoteId.eq(id)).exec(&txn).await?;
    if !rows.is_empty() {
        line::Entity::insert_many(rows).exec_without_returning(&txn).await?;
    }
    let after = get(&txn, actor.org, id).await?;
    audit::record_change(&txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

fn not_editable(status: QuoteStatus) -> AppError {
    AppError::Conflict {
        code: "quote_not_editable",
        field: None,
        message: Msg::new("quote.not_editable")
            .arg("status", crate::platform::i18n::current().text(status.label_key())),
    }
}

fn illegal_transition(from: QuoteStatus, to: QuoteStatus) -> AppError {
    let locale = crate::platform::i18n::current();
    AppError::Conflict {
        code: "illegal_transition",
        field: None,
        message: Msg::new("quote.illegal_transition")
            .arg("from", locale.text(from.label_key()))
            .arg("to", locale.text(to.label_key())),
    }
}

/// A new draft with the same client, vehicle, lines and terms, dated today.
pub async fn duplicate<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<Quote> {
    let source = get(db, actor.org, id).await?;
    let input = QuoteInput {
        client_id: Some(source.client_id),
        vehicle_id: source.vehicle_id,
        issue_date: None,
        valid_until: None,
        notes: source.notes.clone(),
        terms: source.terms.clone(),
        line_decisions: Some(source.line_decisions),
        lines: source
            .lines
            .iter()
            .map(|l| LineInput {
                kind: Some(l.kind),
                description: Some(l.description.clone()),
                quantity: Some(l.quantity),
                unit: l.unit.clone(),
                unit_price: Some(l.unit_price),
                vat_rate: Some(l.vat_rate),
                discount: Some(l.discount),
            })
            .collect(),
    };
    create_from(db, actor, &input, Some(source.id)).await
}

/// A share link's secret, shown once: the database keeps only its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareLink {
    /// Path of the client's page, e.g. `/q/3f…`; prefix it with the site's address.
    pub path: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// How long a share link works after the quote's validity date.
const SHARE_GRACE_DAYS: u64 = 30;

fn new_share_link(valid_until: NaiveDate) -> AppResult<(String, ShareLink)> {
    let token = random_token(32)?;
    let last_day = Ord::max(valid_until, Utc::now().date_naive())
        .checked_add_days(Days::new(SHARE_GRACE_DAYS))
        .unwrap_or(valid_until);
    let expires_at = last_day.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
    let link = ShareLink { path: format!("/q/{token}"), expires_at };
    Ok((token_hash(&token), link))
}

/// Draft → sent, with a new share link for the client (any earlier link stops working).
pub async fn send<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<(Quote, ShareLink)> {
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let result = send_in(&txn, actor, id).await;
    finish(txn, result).await
}

async fn finish<T>(txn: sea_orm::DatabaseTransaction, result: AppResult<T>) -> AppResult<T> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Sends (or re-sends) within the caller's transaction: a draft becomes sent; a
/// sent quote gets a fresh link.
async fn send_in(txn: &sea_orm::DatabaseTransaction, actor: &Actor, id: i64) -> AppResult<(Quote, ShareLink)> {
    let before = get(txn, actor.org, id).await?;
    if before.lines.is_empty() {
        return Err(AppError::Conflict { code: "quote_empty", field: Some("lines"), message: Msg::new("quote.empty") });
    }
    let (hash, link) = new_share_link(before.valid_until)?;
    let now = Utc::now();
    let updated = quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Sent.as_str()))
        .col_expr(quote::Column::ShareTokenHash, Expr::value(hash))
        .col_expr(quote::Column::ShareExpiresAt, Expr::value(link.expires_at))
        .col_expr(quote::Column::SentAt, Expr::value(before.sent_at.unwrap_or(now)))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now))
        .filter(quote::Column::OrganizationId.eq(actor.org.get()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.is_in([QuoteStatus::Draft.as_str(), QuoteStatus::Sent.as_str()]))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(illegal_transition(before.status, QuoteStatus::Sent));
    }
    let after = get(txn, actor.org, id).await?;
    audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    Ok((after, link))
}

/// The client's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Decline,
}

/// A decision on a sent quote, by the client or recorded by the garage for them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DecisionInput {
    pub decision: Decision,
    /// When accepting a quote that allows it: the ids of the accepted lines (the
    /// others are declined). All lines when absent.
    pub accepted_line_ids: Option<Vec<i64>>,
}

/// Sent → accepted or rejected; the time and the deciding address are recorded.
/// Accepting line by line needs the quote to allow it and at least one line.
async fn decide_in(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: i64,
    input: &DecisionInput,
    today: NaiveDate,
) -> AppResult<Quote> {
    let before = get(txn, actor.org, id).await?;
    let to = match input.decision {
        Decision::Accept => QuoteStatus::Accepted,
        Decision::Decline => QuoteStatus::Rejected,
    };
    if before.status != QuoteStatus::Sent {
        return Err(illegal_transition(before.status, to));
    }
    if before.valid_until < today {
        return Err(illegal_transition(QuoteStatus::Expired, to));
    }
    let accepted: HashMap<i64, bool> = match (input.decision, &input.accepted_line_ids) {
        (Decision::Decline, _) => before.lines.iter().map(|l| (l.id, false)).collect(),
        (Decision::Accept, None) => before.lines.iter().map(|l| (l.id, true)).collect(),
        (Decision::Accept, Some(ids)) => {
            // As a set: `[a, a, a, a]` names one line, not four.
            let ids: std::collections::HashSet<i64> = ids.iter().copied().collect();
            if ids.is_empty() || ids.iter().any(|id| !before.lines.iter().any(|l| l.id == *id)) {
                return Err(AppError::validation("accepted_line_ids", Msg::new("quote.accepted_lines_invalid")));
            }
            if !before.line_decisions && ids.len() != before.lines.len() {
                return Err(AppError::validation("accepted_line_ids", Msg::new("quote.line_decisions_off")));
            }
            before.lines.iter().map(|l| (l.id, ids.contains(&l.id))).collect()
        }
    };
    let now = Utc::now();
    let updated = quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(to.as_str()))
        .col_expr(quote::Column::DecidedAt, Expr::value(now))
        .col_expr(quote::Column::DecisionIp, Expr::value(actor.ip.clone()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now))
        .filter(quote::Column::OrganizationId.eq(actor.org.get()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.eq(QuoteStatus::Sent.as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(illegal_transition(before.status, to));
    }
    for flag in [true, false] {
        let ids: Vec<i64> = accepted.iter().filter(|(_, a)| **a == flag).map(|(id, _)| *id).collect();
        if !ids.is_empty() {
            line::Entity::update_many()
                .col_expr(line::Column::Accepted, Expr::value(flag))
                .filter(line::Column::QuoteId.eq(id))
                .filter(line::Column::Id.is_in(ids))
                .exec(txn)
                .await?;
        }
    }
    let mut after = get(txn, actor.org, id).await?;
    if after.original_totals.is_some() {
        // Lists, sums and the dashboard read the stored totals: they count the accepted lines only.
        let decimals = after.decimals();
        let (totals, _) = quote_totals(after.status, &after.lines, decimals);
        let (excl, vat, incl) = totals_minor(&totals, decimals)?;
        quote::Entity::update_many()
            .col_expr(quote::Column::TotalExclMinor, Expr::value(excl))
            .col_expr(quote::Column::TotalVatMinor, Expr::value(vat))
            .col_expr(quote::Column::TotalInclMinor, Expr::value(incl))
            .filter(quote::Column::Id.eq(id))
            .exec(txn)
            .await?;
        after = get(txn, actor.org, id).await?;
    }
    audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    tracing::info!(quote_id = id, status = to.as_str(), "quote decided");
    Ok(after)
}

/// A decision as of `today` inside the caller's transaction (demo data records
/// past decisions with it).
pub(crate) async fn decide_on(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: i64,
    input: &DecisionInput,
    today: NaiveDate,
) -> AppResult<Quote> {
    decide_in(txn, actor, id, input, today).await
}

/// The garage records the client's decision (given by phone, in person…).
pub async fn decide<C: Writer>(db: &C, actor: &Actor, id: i64, input: &DecisionInput) -> AppResult<Quote> {
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let result = decide_in(&txn, actor, id, input, Utc::now().date_naive()).await;
    finish(txn, result).await
}

/// The quote a share link opens, if the link is known and has not expired.
pub async fn by_share_token(db: &impl ConnectionTrait, token: &str) -> AppResult<(OrgId, Quote)> {
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let m = quote::Entity::find()
        .filter(quote::Column::ShareTokenHash.eq(token_hash(token)))
        .one(db)
        .await?
        .filter(|m| m.share_expires_at.is_some_and(|at| at > Utc::now()))
        .ok_or(AppError::NotFound)?;
    let org = OrgId::new(m.organization_id);
    let rows = lines_of(db, m.id).await?;
    Ok((org, assemble(m, rows)))
}

/// The client decides through the share link; `ip` is where the answer came from.
pub async fn decide_by_token<C: Writer>(db: &C, token: &str, input: &DecisionInput, ip: String) -> AppResult<Quote> {
    let (org, quote) = by_share_token(db, token).await?;
    let actor = Actor { ip: Some(ip), ..Actor::system(org) };
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let result = decide_in(&txn, &actor, quote.id, input, Utc::now().date_naive()).await;
    finish(txn, result).await
}

/// Sent quotes whose validity date has passed become expired (the daily job).
/// Idempotent and safe to run on several instances at once.
pub async fn expire_past_due<C: Writer>(db: &C, today: NaiveDate) -> AppResult<u64> {
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let expired = quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Expired.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(quote::Column::Status.eq(QuoteStatus::Sent.as_str()))
        .filter(quote::Column::ValidUntil.lt(today))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    if expired.rows_affected > 0 {
        tracing::info!(count = expired.rows_affected, "quotes expired");
    }
    Ok(expired.rows_affected)
}

/// Quotes counted and summed (excluding tax, minor units) per status and issue day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStat {
    pub status: QuoteStatus,
    pub issue_date: NaiveDate,
    pub count: i64,
    pub total_excl_minor: i64,
}

/// The sum of a BIGINT column as a BIGINT (PostgreSQL would answer NUMERIC).
fn sum_minor() -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Alias, Func};
    Expr::expr(Func::cast_as(Func::sum(Expr::col(quote::Column::TotalExclMinor)), Alias::new("BIGINT")))
}

fn period(org: OrgId, from: NaiveDate, to: NaiveDate, vehicle_ids: Option<&[i64]>) -> sea_orm::Select<quote::Entity> {
    let mut query = scoped(org).filter(quote::Column::IssueDate.gte(from)).filter(quote::Column::IssueDate.lte(to));
    if let Some(ids) = vehicle_ids {
        query = query.filter(quote::Column::VehicleId.is_in(ids.iter().copied()));
    }
    query
}

/// Per status and day between two dates (at most a few thousand rows a year), for the dashboard.
pub async fn stats_by_day(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    vehicle_ids: Option<&[i64]>,
) -> AppResult<Vec<DayStat>> {
    let rows: Vec<(String, NaiveDate, i64, Option<i64>)> = period(org, from, to, vehicle_ids)
        .select_only()
        .column(quote::Column::Status)
        .column(quote::Column::IssueDate)
        .column_as(quote::Column::Id.count(), "count")
        .column_as(sum_minor(), "total")
        .group_by(quote::Column::Status)
        .group_by(quote::Column::IssueDate)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(status, issue_date, count, total)| {
            Some(DayStat {
                status: QuoteStatus::parse(&status)?,
                issue_date,
                count,
                total_excl_minor: total.unwrap_or(0),
            })
        })
        .collect())
}

/// The clients with the largest accepted amounts (excluding tax) in the period:
/// (client id, accepted quotes, amount in minor units).
pub async fn top_clients(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    vehicle_ids: Option<&[i64]>,
    limit: u64,
) -> AppResult<Vec<(i64, i64, i64)>> {
    let rows: Vec<(i64, i64, Option<i64>)> = period(org, from, to, vehicle_ids)
        .select_only()
        .column(quote::Column::ClientId)
        .column_as(quote::Column::Id.count(), "count")
        .column_as(sum_minor(), "total")
        .filter(quote::Column::Status.eq(QuoteStatus::Accepted.as_str()))
        .group_by(quote::Column::ClientId)
        .order_by_desc(sum_minor())
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(client, count, total)| (client, count, total.unwrap_or(0))).collect())
}

/// Everything a quote's PDF shows.
#[derive(Debug, Clone)]
pub struct QuoteDocument {
    pub quote: Quote,
    pub organization: organizations::Organization,
    pub client: clients::Client,
    pub vehicle: Option<vehicles::Vehicle>,
    pub settings: WorkshopSettings,
}

pub async fn document(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<QuoteDocument> {
    let quote = get(db, org, id).await?;
    let organization = organizations::get(db, org).await?;
    let client = clients::get(db, org, quote.client_id).await?;
    let vehicle = match quote.vehicle_id {
        Some(vehicle_id) => vehicles::get_many(db, org, &[vehicle_id]).await?.into_iter().next(),
        None => None,
    };
    let settings = settings(db, org).await?;
    Ok(QuoteDocument { quote, organization, client, vehicle, settings })
}

/// The PDF, rendered off the async runtime.
pub async fn pdf(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<(String, Vec<u8>)> {
    let doc = document(db, org, id).await?;
    render(doc).await
}

pub async fn render(doc: QuoteDocument) -> AppResult<(String, Vec<u8>)> {
    let name = format!("{}.pdf", doc.quote.number);
    let bytes = tokio::task::spawn_blocking(move || super::pdf::render(&doc))
        .await
        .map_err(|e| AppError::Internal(format!("PDF rendering stopped: {e}")))??;
    Ok((name, bytes))
}

/// Where a share link leads, as the e-mail shows it.
pub fn share_url(base_url: &str, link: &ShareLink) -> String {
    format!("{}{}", base_url.trim_end_matches('/'), link.path)
}

/// Sends the quote by e-mail with its PDF: a draft becomes sent, the client gets
/// a fresh link. The e-mail is queued in the same transaction.
pub async fn email<C: Writer>(db: &C, actor: &Actor, id: i64, base_url: &str) -> AppResult<(Quote, i64)> {
    let doc = document(db, actor.org, id).await?;
    let Some(to) = doc.client.email.clone() else {
        return Err(AppError::Conflict {
            code: "client_without_email",
            field: None,
            message: Msg::new("quote.client_without_email"),
        });
    };
    if !matches!(doc.quote.status, QuoteStatus::Draft | QuoteStatus::Sent) {
        return Err(illegal_transition(doc.quote.status, QuoteStatus::Sent));
    }
    let organization_name = doc.organization.name.clone();
    let client_name = doc.client.name.clone();
    let (name, bytes) = render(doc).await?;
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let result = async {
        let (quote, link) = send_in(&txn, actor, id).await?;
        let locale = crate::platform::i18n::current();
        let total = money::format_money(quote.totals.incl_tax, quote.decimals(), &quote.currency);
        let body = locale
            .format(
                "quote.email_body",
                &[
                    ("client", &client_name),
                    ("number", &quote.number),
                    ("total", &total),
                    ("valid_until", &locale.date(quote.valid_until)),
                    ("link", &share_url(base_url, &link)),
                    ("organization", &organization_name),
                ],
            )
            // The catalog holds one line per text: paragraphs are written `\n`.
            .replace("\\n", "\n");
        let subject =
            locale.format("quote.email_subject", &[("number", &quote.number), ("organization", &organization_name)]);
        let attachment = notify::Attachment { name, content_type: "application/pdf".to_owned(), bytes };
        let notice = notify::Notice::new(notify::Event::QuoteSent, subject, body).email(Some(to)).attach(attachment);
        let Some(email_id) = notify::send(&txn, actor.org, notice).await?.email_id else {
            return Err(AppError::Conflict {
                code: "client_refused_email",
                field: None,
                message: Msg::new("quote.client_refused_email"),
            });
        };
        Ok((quote, email_id))
    }
    .await;
    finish(txn, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_format() {
        assert_eq!(format_number("DEV-{year}-{seq:4}", 2026, 1).as_deref(), Some("DEV-2026-0001"));
        assert_eq!(format_number("D{year}/{seq}", 2026, 12345).as_deref(), Some("D2026/12345"));
        assert_eq!(format_number("Q-{seq:6}", 2027, 42).as_deref(), Some("Q-000042"));
        for bad in ["DEV-{year}", "DEV-{month}-{seq}", "DEV-{seq", "DEV}-{seq}", "{seq:0}", "{seq:x}"] {
            assert_eq!(format_number(bad, 2026, 1), None, "{bad}");
        }
    }

    #[test]
    fn decimals_are_read_as_people_write_them() {
        assert_eq!(parse_decimal("33,33"), Decimal::from_str("33.33").ok());
        assert_eq!(parse_decimal("1 234.5"), Decimal::from_str("1234.5").ok());
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }
}
