//! What an invoice is: its kind and status, its lines and totals, what has been
//! paid and what is still due, as services hand them out.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{deposit, instalment, invoice, line, payment};
use super::instalments::Instalment;
use crate::platform::enums::string_enum;
use crate::platform::lines::{DocumentTotals, LineKind};
use crate::platform::money::{self, Currency};

string_enum! {
    // An invoice, or a credit note (avoir) correcting one.
    #[derive(ToSchema)]
    pub enum InvoiceKind (labels "invoice.kind.") {
        Invoice,
        CreditNote,
    }
}

string_enum! {
    // A draft may change and has no number; an issued document never changes.
    #[derive(ToSchema)]
    pub enum InvoiceStatus (labels "invoice.status.") {
        Draft,
        Issued,
    }
}

impl CustomerKind {
    /// The customer's own page.
    pub fn page(self, id: i64) -> String {
        match self {
            Self::Client => format!("/clients/{id}"),
            Self::Candidate => format!("/school/candidates/{id}"),
        }
    }
}

impl InvoiceStatus {
    /// Its content may change, or it may be deleted (a draft only).
    pub fn can_edit(self) -> bool {
        self == Self::Draft
    }
}

string_enum! {
    // Who is invoiced: a workshop client (a driving school's candidate later).
    #[derive(ToSchema)]
    pub enum CustomerKind {
        Client,
        Candidate,
    }
}

string_enum! {
    // What an invoice was made from.
    #[derive(ToSchema)]
    pub enum SourceKind {
        Quote,
        Intervention,
        /// A driving school's pack sold to a candidate (cancelled from the school, not credited here).
        PackSale,
    }
}

string_enum! {
    // How money was received or given back.
    #[derive(ToSchema)]
    pub enum PaymentMethod (labels "payment.method.") {
        Cash,
        Card,
        Cheque,
        Transfer,
        /// Orange Money, Wave, MTN MoMo, Moov… (the provider and the transaction reference kept).
        MobileMoney,
        Other,
    }
}

string_enum! {
    // Money received from the customer, or given back to them.
    #[derive(ToSchema)]
    pub enum PaymentKind (labels "payment.kind.") {
        Payment,
        Refund,
    }
}

string_enum! {
    // Where an issued invoice stands with its payments.
    #[derive(ToSchema)]
    pub enum PaymentState (labels "invoice.payment.") {
        /// A draft, or a credit note: nothing is due on it.
        NotDue,
        Unpaid,
        PartlyPaid,
        Paid,
        /// More was received than is due: the customer holds a credit.
        Overpaid,
        /// Cancelled in full by a credit note, nothing paid.
        Credited,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvoiceLine {
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
    /// The deposit invoice this line deducts (quantity −1); such lines are the
    /// server's: a draft's PUT keeps them and never takes them as typed lines.
    pub deposit_invoice_id: Option<i64>,
}

impl From<&InvoiceLine> for crate::platform::lines::LineInput {
    /// The line as it would be typed again (copied into another document).
    fn from(l: &InvoiceLine) -> Self {
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

/// What a deposit invoice (facture d'acompte) was asked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DepositOf {
    pub quote_id: i64,
    /// Percent of the quote's accepted total.
    #[schema(value_type = String, example = "30")]
    pub percent: Decimal,
    /// The invoice deducting it (a draft or issued), if any.
    pub deducted_in_invoice_id: Option<i64>,
}

/// The seller as printed on the document, frozen when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Seller {
    pub name: String,
    pub address: Option<String>,
    /// SIREN/SIRET, or another registration number.
    pub registration_number: Option<String>,
    pub vat_number: Option<String>,
}

/// The buyer as printed on the document: copied from the customer, refreshed
/// until the invoice is issued, then frozen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Buyer {
    pub kind: CustomerKind,
    /// The client's id.
    pub id: i64,
    pub name: String,
    pub address: Option<String>,
    pub email: Option<String>,
    /// SIREN/SIRET or VAT number of a business.
    pub tax_id: Option<String>,
    /// A business buyer: the late-payment indemnity applies.
    pub is_business: bool,
}

/// A payment or a refund, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Payment {
    pub id: i64,
    pub invoice_id: i64,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    /// For mobile money: Orange Money, Wave, MTN MoMo, Moov…
    pub provider: Option<String>,
    /// The cheque's number, the transaction's reference.
    pub reference: Option<String>,
    #[schema(value_type = String, example = "50.00")]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub received_on: NaiveDate,
    pub note: Option<String>,
    pub recorded_by: Option<i64>,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<payment::Model> for Payment {
    fn from(m: payment::Model) -> Self {
        Self {
            id: m.id,
            invoice_id: m.invoice_id,
            kind: m.kind,
            method: m.method,
            provider: m.provider,
            reference: m.reference,
            amount: money::from_minor(m.amount_minor, m.currency.decimals()),
            currency: m.currency,
            received_on: m.received_on,
            note: m.note,
            recorded_by: m.recorded_by,
            created_at: m.created_at,
        }
    }
}

/// What an invoice's payments, refunds and credit notes come to, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settlement {
    pub received_minor: i64,
    pub refunded_minor: i64,
    pub credited_minor: i64,
}

impl Settlement {
    /// The one computation of what is still due: total − received + refunded −
    /// credited. Negative when the customer holds a credit.
    pub fn balance_minor(self, total_incl_minor: i64) -> i64 {
        total_incl_minor - self.received_minor + self.refunded_minor - self.credited_minor
    }

    /// Where an issued invoice stands.
    pub fn state(self, kind: InvoiceKind, status: InvoiceStatus, total_incl_minor: i64) -> PaymentState {
        if kind == InvoiceKind::CreditNote || status == InvoiceStatus::Draft {
            return PaymentState::NotDue;
        }
        let balance = self.balance_minor(total_incl_minor);
        let settled = self.received_minor - self.refunded_minor + self.credited_minor;
        // (A zero invoice, everything deducted as deposits, is paid, not credited.)
        if balance == 0
            && self.credited_minor > 0
            && self.credited_minor >= total_incl_minor
            && self.received_minor == self.refunded_minor
        {
            return PaymentState::Credited;
        }
        match balance {
            b if b < 0 => PaymentState::Overpaid,
            0 => PaymentState::Paid,
            _ if settled > 0 => PaymentState::PartlyPaid,
            _ => PaymentState::Unpaid,
        }
    }
}

/// An invoice as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvoiceSummary {
    pub id: i64,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    /// e.g. `FAC-2026-00001`; null while a draft.
    pub number: Option<String>,
    pub customer_kind: CustomerKind,
    pub customer_id: i64,
    pub buyer_name: String,
    pub vehicle_id: Option<i64>,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    #[schema(value_type = String)]
    pub currency: Currency,
    #[schema(value_type = String)]
    pub total_excl_tax: Decimal,
    #[schema(value_type = String)]
    pub total_incl_tax: Decimal,
    /// What is still due (negative: the customer holds a credit); 0 for drafts and credit notes.
    #[schema(value_type = String)]
    pub balance_due: Decimal,
    pub payment_state: PaymentState,
    /// Issued, unpaid and past its due date in the organization's zone.
    pub overdue: bool,
    /// A deposit invoice (facture d'acompte).
    pub is_deposit: bool,
    pub created_at: chrono::DateTime<Utc>,
}

/// An invoice or a credit note with its lines, totals, payments and what is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Invoice {
    pub id: i64,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    pub number: Option<String>,
    pub buyer: Buyer,
    pub vehicle_id: Option<i64>,
    /// The vehicle as printed: plate, brand and model.
    pub vehicle_label: Option<String>,
    /// The vehicle's garage when the invoice was drafted (its counter's cash report).
    pub garage_id: Option<i64>,
    /// What it was made from (`quote` or `intervention`), if anything.
    pub source_kind: Option<SourceKind>,
    pub source_id: Option<i64>,
    /// For a credit note: the invoice it corrects.
    pub credited_invoice_id: Option<i64>,
    pub issue_date: Option<NaiveDate>,
    /// When the goods were delivered or the service done.
    pub service_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    /// ISO 4217; amounts have this currency's number of decimals.
    #[schema(value_type = String)]
    pub currency: Currency,
    pub notes: Option<String>,
    pub payment_terms: Option<String>,
    /// Yearly percentage applied to late payments.
    #[schema(value_type = String, example = "10")]
    pub late_penalty_rate: Decimal,
    /// Franchise en base de TVA (art. 293 B du CGI): no VAT is charged.
    pub vat_exempt: bool,
    /// Null while a draft.
    pub seller: Option<Seller>,
    /// The legal mentions printed on the document, frozen when issued.
    pub mentions: Option<String>,
    pub lines: Vec<InvoiceLine>,
    pub totals: DocumentTotals,
    /// Received less refunded.
    #[schema(value_type = String)]
    pub paid: Decimal,
    /// Credit notes issued against it.
    #[schema(value_type = String)]
    pub credited: Decimal,
    #[schema(value_type = String)]
    pub balance_due: Decimal,
    pub payment_state: PaymentState,
    pub overdue: bool,
    pub payments: Vec<Payment>,
    /// Its schedule when paid in instalments (empty otherwise).
    pub instalments: Vec<Instalment>,
    /// The credit notes correcting it (ids).
    pub credit_note_ids: Vec<i64>,
    /// A deposit invoice: the quote it was asked on and what it deducts from.
    pub deposit: Option<DepositOf>,
    pub issued_at: Option<chrono::DateTime<Utc>>,
    pub sent_at: Option<chrono::DateTime<Utc>>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Invoice {
    pub fn decimals(&self) -> u32 {
        self.currency.decimals()
    }

    /// Payments may be recorded on it (an issued invoice).
    pub fn can_pay(&self) -> bool {
        self.kind == InvoiceKind::Invoice && self.status == InvoiceStatus::Issued
    }

    /// What has fallen due by `today` and is unpaid: the instalments due to date,
    /// or, without a schedule, the balance once the due date is reached.
    pub fn due_to_date(&self, today: NaiveDate) -> Decimal {
        if !self.can_pay() {
            return Decimal::ZERO;
        }
        if self.instalments.is_empty() {
            return match self.due_date.is_some_and(|d| d <= today) {
                true => self.balance_due.max(Decimal::ZERO),
                false => Decimal::ZERO,
            };
        }
        self.instalments.iter().filter(|i| i.due_on <= today && i.payer.is_none()).map(|i| i.outstanding).sum()
    }

    /// What the buyer still owes: the balance less the funders' parts still to pay.
    pub fn buyer_balance(&self) -> Decimal {
        let funded: Decimal = self.instalments.iter().filter(|i| i.payer.is_some()).map(|i| i.outstanding).sum();
        self.balance_due - funded
    }

    /// What to propose paying now: the instalments fallen due (or the next one),
    /// else the whole balance; zero when nothing is due.
    pub fn suggested_payment(&self, today: NaiveDate) -> Decimal {
        if !self.can_pay() || self.balance_due <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        if self.instalments.is_empty() {
            return self.balance_due;
        }
        let due = self.due_to_date(today);
        // The buyer's next part, else a funder's (what the counter records next).
        let open =
            |own: bool| self.instalments.iter().filter(move |i| i.payer.is_none() == own && !i.outstanding.is_zero());
        let next = open(true).chain(open(false)).map(|i| i.outstanding).next().unwrap_or_default();
        if due.is_zero() { next } else { due }
    }

    /// The buyer's next instalment not yet due with something left to pay.
    pub fn next_instalment(&self, today: NaiveDate) -> Option<&Instalment> {
        self.instalments.iter().find(|i| i.due_on > today && !i.outstanding.is_zero() && i.payer.is_none())
    }

    /// A credit note may still correct it: issued and not credited yet (one
    /// credit note of the whole; an invoice brought to zero by its deposits too).
    pub fn can_credit(&self) -> bool {
        self.can_pay() && self.credit_note_ids.is_empty()
    }
}

pub(super) fn assemble_lines(rows: Vec<line::Model>, decimals: u32) -> Vec<InvoiceLine> {
    rows.into_iter()
        .map(|l| InvoiceLine {
            position: l.position,
            kind: l.kind,
            description: l.description,
            quantity: money::from_scaled(l.quantity_milli, 3),
            unit: l.unit,
            unit_price: money::from_scaled(l.unit_price_e4, 4),
            vat_rate: money::from_scaled(i64::from(l.vat_rate_bp), 2),
            discount: money::from_scaled(i64::from(l.discount_bp), 2),
            total_excl_tax: money::from_minor(l.total_excl_minor, decimals),
            deposit_invoice_id: l.deposit_invoice_id,
        })
        .collect()
}

pub(super) fn is_overdue(m: &invoice::Model, balance_minor: i64, today: NaiveDate) -> bool {
    m.kind == InvoiceKind::Invoice
        && m.status == InvoiceStatus::Issued
        && balance_minor > 0
        && m.due_date.is_some_and(|due| due < today)
}

pub(super) fn summary(m: invoice::Model, settlement: Settlement, today: NaiveDate) -> InvoiceSummary {
    let decimals = m.currency.decimals();
    let due = match m.kind == InvoiceKind::Invoice && m.status == InvoiceStatus::Issued {
        true => settlement.balance_minor(m.total_incl_minor),
        false => 0,
    };
    InvoiceSummary {
        id: m.id,
        kind: m.kind,
        status: m.status,
        payment_state: settlement.state(m.kind, m.status, m.total_incl_minor),
        overdue: is_overdue(&m, due, today),
        is_deposit: m.is_deposit,
        number: m.number,
        customer_kind: m.customer_kind,
        customer_id: m.customer_id,
        buyer_name: m.buyer_name,
        vehicle_id: m.vehicle_id,
        issue_date: m.issue_date,
        due_date: m.due_date,
        total_excl_tax: money::from_minor(m.total_excl_minor, decimals),
        total_incl_tax: money::from_minor(m.total_incl_minor, decimals),
        balance_due: money::from_minor(due, decimals),
        currency: m.currency,
        created_at: m.created_at,
    }
}

pub(super) struct Parts {
    pub lines: Vec<line::Model>,
    pub payments: Vec<payment::Model>,
    pub credit_notes: Vec<(i64, i64)>,
    pub instalments: Vec<instalment::Model>,
    pub deposit: Option<deposit::Model>,
}

pub(super) fn assemble(m: invoice::Model, parts: Parts, today: NaiveDate) -> Invoice {
    let decimals = m.currency.decimals();
    let lines = assemble_lines(parts.lines, decimals);
    let totals = money::totals(lines.iter().map(|l| (l.total_excl_tax, l.vat_rate)), decimals);
    let settlement = settlement_of(&parts.payments, &parts.credit_notes);
    let issued_invoice = m.kind == InvoiceKind::Invoice && m.status == InvoiceStatus::Issued;
    let due = if issued_invoice { settlement.balance_minor(m.total_incl_minor) } else { 0 };
    let overdue = is_overdue(&m, due, today);
    let payment_state = settlement.state(m.kind, m.status, m.total_incl_minor);
    let instalments = super::instalments::assemble(&parts.instalments, settlement, m.currency, today);
    let seller = m.seller_name.map(|name| Seller {
        name,
        address: m.seller_address,
        registration_number: m.seller_registration,
        vat_number: m.seller_vat_number,
    });
    Invoice {
        id: m.id,
        kind: m.kind,
        status: m.status,
        number: m.number,
        buyer: Buyer {
            kind: m.customer_kind,
            id: m.customer_id,
            name: m.buyer_name,
            address: m.buyer_address,
            email: m.buyer_email,
            tax_id: m.buyer_tax_id,
            is_business: m.buyer_is_business,
        },
        vehicle_id: m.vehicle_id,
        vehicle_label: m.vehicle_label,
        garage_id: m.garage_id,
        source_kind: m.source_kind,
        source_id: m.source_id,
        credited_invoice_id: m.credited_invoice_id,
        issue_date: m.issue_date,
        service_date: m.service_date,
        due_date: m.due_date,
        currency: m.currency,
        notes: m.notes,
        payment_terms: m.payment_terms,
        late_penalty_rate: money::from_scaled(i64::from(m.late_penalty_rate_bp), 2),
        vat_exempt: m.vat_exempt,
        seller,
        mentions: m.mentions,
        lines,
        totals: totals.into(),
        paid: money::from_minor(settlement.received_minor - settlement.refunded_minor, decimals),
        credited: money::from_minor(settlement.credited_minor, decimals),
        balance_due: money::from_minor(due, decimals),
        payment_state,
        overdue,
        payments: parts.payments.into_iter().map(Payment::from).collect(),
        instalments,
        credit_note_ids: parts.credit_notes.iter().map(|(id, _)| *id).collect(),
        deposit: parts.deposit.map(|d| DepositOf {
            quote_id: d.quote_id,
            percent: money::from_scaled(i64::from(d.percent_bp), 2),
            deducted_in_invoice_id: d.deducted_in_invoice_id,
        }),
        issued_at: m.issued_at,
        sent_at: m.sent_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// What payments and credit notes (id, total) come to.
pub(super) fn settlement_of(payments: &[payment::Model], credit_notes: &[(i64, i64)]) -> Settlement {
    let sum = |kind| payments.iter().filter(|p| p.kind == kind).map(|p| p.amount_minor).sum::<i64>();
    Settlement {
        received_minor: sum(PaymentKind::Payment),
        refunded_minor: sum(PaymentKind::Refund),
        credited_minor: credit_notes.iter().map(|(_, total)| total).sum(),
    }
}

/// A payment or refund as entered.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PaymentInput {
    /// `payment` (default) or `refund`.
    pub kind: Option<PaymentKind>,
    #[schema(required = true, nullable = false)]
    pub method: Option<PaymentMethod>,
    /// Mobile money only: Orange Money, Wave, MTN MoMo, Moov…
    pub provider: Option<String>,
    pub reference: Option<String>,
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = crate::platform::lines::DecimalInput, required = true, example = "50.00")]
    pub amount: Option<Decimal>,
    /// Today when absent.
    pub received_on: Option<NaiveDate>,
    pub note: Option<String>,
}
