//! What a quote is: its status flow, its lines and totals, as services hand them
//! out; and how stored rows become one.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{line, quote};
use crate::platform::enums::string_enum;
use crate::platform::money::{self, Currency, Totals};

string_enum! {
    // Where a quote stands: draft → sent → accepted or rejected, or expired.
    #[derive(ToSchema)]
    pub enum QuoteStatus (labels "quote.status.") {
        Draft,
        Sent,
        Accepted,
        Rejected,
        Expired,
    }
}

impl QuoteStatus {
    /// Its content may change (a draft only).
    pub fn can_edit(self) -> bool {
        self == Self::Draft
    }

    /// It may be sent, or sent again with a fresh link.
    pub fn can_send(self) -> bool {
        matches!(self, Self::Draft | Self::Sent)
    }

    /// The client's decision may be recorded.
    pub fn can_decide(self) -> bool {
        self == Self::Sent
    }

    /// The work it quotes may be recorded as done.
    pub fn can_carry_out(self) -> bool {
        self == Self::Accepted
    }
}

pub use crate::platform::lines::{DocumentTotals as QuoteTotals, LineKind, VatLine};

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
    #[schema(value_type = String, example = "50.00")]
    pub total_excl_tax: Decimal,
    /// The client's decision on this line, once decided line by line.
    pub accepted: Option<bool>,
}

impl From<&QuoteLine> for crate::platform::lines::LineInput {
    /// The line as it would be typed again (copied into another document).
    fn from(l: &QuoteLine) -> Self {
        Self {
            kind: Some(l.kind),
            description: Some(l.description.clone()),
            quantity: Some(l.quantity),
            unit: l.unit.clone(),
            unit_price: Some(l.unit_price),
            vat_rate: Some(l.vat_rate),
            discount: Some(l.discount),
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
    #[schema(value_type = String)]
    pub currency: Currency,
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
    #[schema(value_type = String)]
    pub currency: Currency,
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
        self.currency.decimals()
    }

    /// The lines the client accepted (all of them unless decided line by line).
    pub fn accepted_lines(&self) -> impl Iterator<Item = &QuoteLine> {
        self.lines.iter().filter(|l| l.accepted != Some(false))
    }
}

pub(super) fn summary(m: quote::Model) -> QuoteSummary {
    let decimals = m.currency.decimals();
    QuoteSummary {
        id: m.id,
        status: m.status,
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

pub(super) fn assemble_lines(rows: Vec<line::Model>, decimals: u32) -> Vec<QuoteLine> {
    rows.into_iter()
        .map(|l| QuoteLine {
            id: l.id,
            position: l.position,
            kind: l.kind,
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
pub(super) fn quote_totals(status: QuoteStatus, lines: &[QuoteLine], decimals: u32) -> (Totals, Option<Totals>) {
    let all = || money::totals(lines.iter().map(|l| (l.total_excl_tax, l.vat_rate)), decimals);
    let declined = lines.iter().any(|l| l.accepted == Some(false));
    if status == QuoteStatus::Accepted && declined {
        let accepted = lines.iter().filter(|l| l.accepted != Some(false));
        (money::totals(accepted.map(|l| (l.total_excl_tax, l.vat_rate)), decimals), Some(all()))
    } else {
        (all(), None)
    }
}

pub(super) fn assemble(m: quote::Model, rows: Vec<line::Model>) -> Quote {
    let decimals = m.currency.decimals();
    let lines = assemble_lines(rows, decimals);
    let status = m.status;
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
