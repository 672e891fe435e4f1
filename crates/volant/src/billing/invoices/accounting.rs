//! What the accountant takes away: the sales journal and the payments of a period
//! (CSV or XLSX), and the FEC (Fichier des Écritures Comptables, LPF art. L47 A,
//! BOI-CF-IOR-60-40-20): the 18 columns, tab-separated, one line per debit or
//! credit, every entry balanced. Sales post the customer (411) against sales (706)
//! and VAT collected (44571); a credit note the reverse; a payment the bank (512)
//! or cash (53) against the customer; a refund the reverse. Accounts come from the
//! billing settings.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{invoice, payment};
use super::model::{InvoiceKind, InvoiceStatus, PaymentKind, PaymentMethod};
use super::settings::{Accounts, settings};
use crate::platform::error::{AppError, AppResult};
use crate::platform::money;
use crate::platform::tabular::Cell;
use crate::platform::tenant::OrgId;

/// Longest period one export covers (a fiscal year and a little).
const MAX_DAYS: i64 = 400;

/// The period of an export, checked: `from` ≤ `to`, at most [`MAX_DAYS`].
pub fn period(from: NaiveDate, to: NaiveDate) -> AppResult<(NaiveDate, NaiveDate)> {
    if from > to || (to - from).num_days() > MAX_DAYS {
        return Err(AppError::invalid_parameter(
            "to",
            format!("the period runs from `from` to `to`, at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

async fn issued_in(
    db: &impl ConnectionTrait,
    org: OrgId,
    (from, to): (NaiveDate, NaiveDate),
    garage: Option<i64>,
) -> AppResult<Vec<invoice::Model>> {
    let mut query = invoice::Entity::find().filter(invoice::Column::OrganizationId.eq(org.get()));
    if let Some(garage) = garage {
        query = query.filter(invoice::Column::GarageId.eq(garage));
    }
    Ok(query
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .filter(invoice::Column::IssueDate.between(from, to))
        .order_by_asc(invoice::Column::IssueDate)
        .order_by_asc(invoice::Column::Kind)
        .order_by_asc(invoice::Column::Sequence)
        .all(db)
        .await?)
}

/// The period's payments (of the invoices of `garage` when given), with the
/// invoices they settle (number and buyer).
async fn paid_in(
    db: &impl ConnectionTrait,
    org: OrgId,
    (from, to): (NaiveDate, NaiveDate),
    garage: Option<i64>,
) -> AppResult<(Vec<payment::Model>, HashMap<i64, invoice::Model>)> {
    let mut query = payment::Entity::find().filter(payment::Column::OrganizationId.eq(org.get()));
    if let Some(garage) = garage {
        query = query.filter(super::payments::of_garage(org, garage));
    }
    let payments = query
        .filter(payment::Column::ReceivedOn.between(from, to))
        .order_by_asc(payment::Column::ReceivedOn)
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = payments.iter().map(|p| p.invoice_id).collect();
    let invoices = invoice::Entity::find()
        .filter(invoice::Column::OrganizationId.eq(org.get()))
        .filter(invoice::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok((payments, invoices))
}

/// The sales journal: one row per invoice or credit note issued in the period
/// (credit notes negative).
pub async fn sales_rows(
    db: &impl ConnectionTrait,
    org: OrgId,
    (period, garage): ((NaiveDate, NaiveDate), Option<i64>),
    tr: crate::platform::i18n::Locale,
) -> AppResult<(Vec<String>, Vec<Vec<Cell>>)> {
    let headers = [
        "invoice.issue_date",
        "invoice.number",
        "accounting.document",
        "invoice.buyer",
        "cash.garage",
        "pdf.total_excl",
        "pdf.total_vat",
        "pdf.total_incl",
        "accounting.currency",
    ]
    .iter()
    .map(|k| tr.text(k).to_owned())
    .collect();
    let invoices = issued_in(db, org, period, garage).await?;
    let names = garage_names(db, org, invoices.iter().filter_map(|m| m.garage_id)).await?;
    let rows = invoices
        .into_iter()
        .map(|m| {
            let decimals = m.currency.decimals();
            let sign = if m.kind == InvoiceKind::CreditNote { -1 } else { 1 };
            let amount = |minor: i64| Cell::Money(money::from_minor(sign * minor, decimals));
            vec![
                m.issue_date.map_or(Cell::Empty, Cell::Date),
                Cell::text(m.number.clone()),
                Cell::Text(tr.text(m.kind.label_key()).to_owned()),
                Cell::Text(m.buyer_name.clone()),
                Cell::text(m.garage_id.and_then(|g| names.get(&g).cloned())),
                amount(m.total_excl_minor),
                amount(m.total_vat_minor),
                amount(m.total_incl_minor),
                Cell::Text(m.currency.code().to_owned()),
            ]
        })
        .collect();
    Ok((headers, rows))
}

/// The payments journal: one row per payment or refund received in the period
/// (refunds negative).
pub async fn payment_rows(
    db: &impl ConnectionTrait,
    org: OrgId,
    (period, garage): ((NaiveDate, NaiveDate), Option<i64>),
    tr: crate::platform::i18n::Locale,
) -> AppResult<(Vec<String>, Vec<Vec<Cell>>)> {
    let headers = [
        "payment.received_on",
        "invoice.number",
        "invoice.buyer",
        "cash.garage",
        "payment.method",
        "payment.provider",
        "payment.reference",
        "payment.amount",
        "accounting.currency",
    ]
    .iter()
    .map(|k| tr.text(k).to_owned())
    .collect();
    let (payments, invoices) = paid_in(db, org, period, garage).await?;
    let names = garage_names(db, org, invoices.values().filter_map(|m| m.garage_id)).await?;
    let rows = payments
        .into_iter()
        .map(|p| {
            let invoice = invoices.get(&p.invoice_id);
            let sign = if p.kind == PaymentKind::Refund { -1 } else { 1 };
            vec![
                Cell::Date(p.received_on),
                Cell::text(invoice.and_then(|i| i.number.clone())),
                Cell::text(invoice.map(|i| i.buyer_name.clone())),
                Cell::text(invoice.and_then(|i| i.garage_id).and_then(|g| names.get(&g).cloned())),
                Cell::Text(tr.text(p.method.label_key()).to_owned()),
                Cell::text(p.provider.clone()),
                Cell::text(p.reference.clone()),
                Cell::Money(money::from_minor(sign * p.amount_minor, p.currency.decimals())),
                Cell::Text(p.currency.code().to_owned()),
            ]
        })
        .collect();
    Ok((headers, rows))
}

/// The names of these garages, in one query.
async fn garage_names(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: impl Iterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    crate::fleet::garages::service::names(db, org, ids).await
}

/// The FEC's columns, in the order the law sets.
pub const FEC_COLUMNS: [&str; 18] = [
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
];

/// One debit or credit of an entry.
struct Posting<'a> {
    account: &'a str,
    label: &'a str,
    auxiliary: Option<(String, String)>,
    debit: Decimal,
    credit: Decimal,
}

/// A balanced entry of one journal.
struct Entry<'a> {
    journal: (&'static str, &'static str),
    date: NaiveDate,
    piece: String,
    label: String,
    postings: Vec<Posting<'a>>,
}

/// A FEC amount: a decimal comma, no grouping, two decimals (`1234,50`).
fn fec_amount(value: Decimal, decimals: u32) -> String {
    format!("{:.*}", decimals as usize, money::round_money(value, decimals)).replace('.', ",")
}

/// A FEC field: tabs and line breaks would break the file's columns.
fn field(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// The customer's auxiliary account: one per client (`C…`) or candidate (`E…`,
/// élève: their ids are another sequence).
fn auxiliary(m: &invoice::Model) -> (String, String) {
    let prefix = match m.customer_kind {
        super::model::CustomerKind::Client => 'C',
        super::model::CustomerKind::Candidate => 'E',
    };
    (format!("{prefix}{:06}", m.customer_id), m.buyer_name.clone())
}

fn sale_entry<'a>(m: &invoice::Model, accounts: &'a Accounts, labels: &'a Labels) -> Entry<'a> {
    let decimals = m.currency.decimals();
    let amount = |minor: i64| money::from_minor(minor, decimals);
    let (incl, excl, vat) = (amount(m.total_incl_minor), amount(m.total_excl_minor), amount(m.total_vat_minor));
    let credit_note = m.kind == InvoiceKind::CreditNote;
    // (debit, credit) of a line, turned round for a credit note.
    let side = |debit: bool, value: Decimal| {
        if debit != credit_note { (value, Decimal::ZERO) } else { (Decimal::ZERO, value) }
    };
    let mut postings = Vec::with_capacity(3);
    let (d, c) = side(true, incl);
    postings.push(Posting {
        account: &accounts.customers,
        label: &labels.customers,
        auxiliary: Some(auxiliary(m)),
        debit: d,
        credit: c,
    });
    let (d, c) = side(false, excl);
    postings.push(Posting { account: &accounts.sales, label: &labels.sales, auxiliary: None, debit: d, credit: c });
    if !vat.is_zero() {
        let (d, c) = side(false, vat);
        postings.push(Posting { account: &accounts.vat, label: &labels.vat, auxiliary: None, debit: d, credit: c });
    }
    Entry {
        journal: ("VT", "Ventes"),
        date: m.issue_date.unwrap_or_default(),
        piece: m.number.clone().unwrap_or_default(),
        label: format!("{} {}", m.number.as_deref().unwrap_or_default(), m.buyer_name),
        postings,
    }
}

fn payment_entry<'a>(
    p: &payment::Model,
    invoice: Option<&invoice::Model>,
    accounts: &'a Accounts,
    labels: &'a Labels,
) -> Entry<'a> {
    let amount = money::from_minor(p.amount_minor, p.currency.decimals());
    let refund = p.kind == PaymentKind::Refund;
    let (journal, account, label) = match p.method {
        PaymentMethod::Cash => (("CA", "Caisse"), accounts.cash.as_str(), labels.cash.as_str()),
        _ => (("BQ", "Banque"), accounts.bank.as_str(), labels.bank.as_str()),
    };
    let (d, c) = if refund { (Decimal::ZERO, amount) } else { (amount, Decimal::ZERO) };
    let number = invoice.and_then(|i| i.number.clone()).unwrap_or_default();
    let buyer = invoice.map(|i| i.buyer_name.clone()).unwrap_or_default();
    Entry {
        journal,
        date: p.received_on,
        piece: p.reference.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| format!("P{}", p.id)),
        label: format!("{number} {buyer}"),
        postings: vec![
            Posting { account, label, auxiliary: None, debit: d, credit: c },
            Posting {
                account: &accounts.customers,
                label: &labels.customers,
                auxiliary: invoice.map(auxiliary),
                debit: c,
                credit: d,
            },
        ],
    }
}

/// The accounts' names as the FEC prints them.
struct Labels {
    sales: String,
    vat: String,
    customers: String,
    bank: String,
    cash: String,
}

/// The FEC of the period: its file name (`{SIREN}FEC{closing date}.txt`) and its
/// text, UTF-8, tab-separated, lines ending with CR LF.
pub async fn fec(
    db: &impl ConnectionTrait,
    org: OrgId,
    period: (NaiveDate, NaiveDate),
    registration: Option<&str>,
) -> AppResult<(String, Vec<u8>)> {
    let accounts = settings(db, org).await?.accounts;
    let labels = Labels {
        sales: "Ventes".to_owned(),
        vat: "TVA collectée".to_owned(),
        customers: "Clients".to_owned(),
        bank: "Banque".to_owned(),
        cash: "Caisse".to_owned(),
    };
    let invoices = issued_in(db, org, period, None).await?;
    let (payments, paid) = paid_in(db, org, period, None).await?;
    let mut entries: Vec<(Entry<'_>, u32)> =
        invoices.iter().map(|m| (sale_entry(m, &accounts, &labels), m.currency.decimals())).collect();
    entries.extend(
        payments.iter().map(|p| (payment_entry(p, paid.get(&p.invoice_id), &accounts, &labels), p.currency.decimals())),
    );
    // By journal, then in date order; entries numbered in one sequence per journal.
    entries.sort_by(|(a, _), (b, _)| (a.journal.0, a.date).cmp(&(b.journal.0, b.date)));
    let mut out = FEC_COLUMNS.join("\t");
    out.push_str("\r\n");
    let mut numbers: HashMap<&str, u32> = HashMap::new();
    for (entry, decimals) in &entries {
        let number = numbers.entry(entry.journal.0).and_modify(|n| *n += 1).or_insert(1);
        let date = entry.date.format("%Y%m%d").to_string();
        for posting in &entry.postings {
            let (aux, aux_label) = posting.auxiliary.clone().unwrap_or_default();
            let fields = [
                entry.journal.0.to_owned(),
                entry.journal.1.to_owned(),
                format!("{}{number:06}", entry.journal.0),
                date.clone(),
                field(posting.account),
                field(posting.label),
                field(&aux),
                field(&aux_label),
                field(&entry.piece),
                date.clone(),
                field(&entry.label),
                fec_amount(posting.debit, *decimals),
                fec_amount(posting.credit, *decimals),
                String::new(),
                String::new(),
                date.clone(),
                String::new(),
                String::new(),
            ];
            out.push_str(&fields.join("\t"));
            out.push_str("\r\n");
        }
    }
    let siren: String = registration.unwrap_or_default().chars().filter(char::is_ascii_digit).take(9).collect();
    let name = format!(
        "{}FEC{}.txt",
        if siren.is_empty() { "000000000".to_owned() } else { siren },
        period.1.format("%Y%m%d")
    );
    Ok((name, out.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_fields_as_the_fec_writes_them() {
        assert_eq!(fec_amount(Decimal::new(123450, 2), 2), "1234,50");
        assert_eq!(fec_amount(Decimal::ZERO, 2), "0,00");
        assert_eq!(field("Durand\tFils\n"), "Durand Fils");
    }
}
