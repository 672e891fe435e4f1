//! How an organization's invoices are numbered, what they ask and what they mention.

use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::settings;
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::AppResult;
use crate::platform::i18n::Msg;
use crate::platform::lines::{lenient_decimal, percent_bp};
use crate::platform::money;
use crate::platform::numbering::format_number;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// How an organization's invoices and credit notes are numbered and worded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BillingSettings {
    /// `{year}` and `{seq}` (or `{seq:5}`, zero-padded) are replaced; e.g. `FAC-{year}-{seq:5}`.
    pub invoice_number_format: String,
    /// The credit notes' own sequence, e.g. `AV-{year}-{seq:5}`.
    pub credit_note_number_format: String,
    /// Days from issue to the due date (0: payable on receipt).
    pub payment_terms_days: i32,
    /// Payment terms printed on invoices (means of payment, discount for early payment…).
    pub payment_terms: Option<String>,
    /// Yearly percentage of late-payment penalties printed on invoices.
    #[schema(value_type = String, example = "10")]
    pub late_penalty_rate: Decimal,
    /// Franchise en base de TVA (art. 293 B du CGI): invoices carry no VAT and say why.
    pub vat_exempt: bool,
    /// Further mentions printed on every invoice (insurance, the rules of another country…).
    pub mentions: Option<String>,
    /// Days after the due date at which an unpaid invoice is reminded by e-mail
    /// (0: on the due date); empty: no reminders.
    pub reminder_days: Vec<i32>,
    /// The accounts the accounting exports (FEC) post to.
    pub accounts: Accounts,
}

/// The general-ledger accounts of the accounting exports (French chart of accounts
/// by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Accounts {
    /// Sales of services and goods (706…).
    pub sales: String,
    /// VAT collected (44571…).
    pub vat: String,
    /// Customers (411…).
    pub customers: String,
    /// Bank: card, cheque, transfer, mobile money (512…).
    pub bank: String,
    /// Cash (53…).
    pub cash: String,
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            sales: "706000".to_owned(),
            vat: "445710".to_owned(),
            customers: "411000".to_owned(),
            bank: "512000".to_owned(),
            cash: "530000".to_owned(),
        }
    }
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            invoice_number_format: "FAC-{year}-{seq:5}".to_owned(),
            credit_note_number_format: "AV-{year}-{seq:5}".to_owned(),
            payment_terms_days: 30,
            payment_terms: Some("Paiement par carte, espèces, chèque ou virement.".to_owned()),
            late_penalty_rate: Decimal::TEN,
            vat_exempt: false,
            mentions: None,
            reminder_days: vec![0, 7, 30],
            accounts: Accounts::default(),
        }
    }
}

/// Most reminder steps.
const MAX_REMINDERS: usize = 5;

fn reminder_days_of(stored: &str) -> Vec<i32> {
    stored.split(',').filter_map(|d| d.trim().parse().ok()).collect()
}

/// The settings as entered (PUT: every field; absent ones take their default).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct BillingSettingsInput {
    pub invoice_number_format: Option<String>,
    pub credit_note_number_format: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub payment_terms: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "10")]
    pub late_penalty_rate: Option<Decimal>,
    pub vat_exempt: Option<bool>,
    pub mentions: Option<String>,
    /// Days after the due date, e.g. `[0, 7, 30]`; the default when absent.
    pub reminder_days: Option<Vec<i32>>,
    /// The default chart's accounts when absent.
    pub accounts: Option<Accounts>,
}

pub async fn settings(db: &impl ConnectionTrait, org: OrgId) -> AppResult<BillingSettings> {
    Ok(match settings::Entity::find_by_id(org.get()).one(db).await? {
        Some(m) => BillingSettings {
            invoice_number_format: m.invoice_number_format,
            credit_note_number_format: m.credit_note_number_format,
            payment_terms_days: m.payment_terms_days,
            payment_terms: m.payment_terms,
            late_penalty_rate: money::from_scaled(i64::from(m.late_penalty_rate_bp), 2),
            vat_exempt: m.vat_exempt,
            mentions: m.mentions,
            reminder_days: reminder_days_of(&m.reminder_days),
            accounts: Accounts {
                sales: m.sales_account,
                vat: m.vat_account,
                customers: m.customer_account,
                bank: m.bank_account,
                cash: m.cash_account,
            },
        },
        None => BillingSettings::default(),
    })
}

fn number_format(v: &mut Validator, field: &str, value: Option<&str>, default: &str) -> Option<String> {
    let format = v.required_text(field, Some(value.unwrap_or(default)), 60)?;
    // The sequence restarts each year: without the year, January would reuse last year's numbers.
    if format_number(&format, 2026, 1).is_none() || !format.contains("{year}") {
        v.add(field, Msg::new("invoice.format_invalid"));
        return None;
    }
    Some(format)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_settings<C: Writer>(
    db: &C,
    actor: &Actor,
    input: &BillingSettingsInput,
) -> AppResult<BillingSettings> {
    let defaults = BillingSettings::default();
    let mut v = Validator::new();
    let invoice_format = number_format(
        &mut v,
        "invoice_number_format",
        input.invoice_number_format.as_deref(),
        &defaults.invoice_number_format,
    );
    let credit_format = number_format(
        &mut v,
        "credit_note_number_format",
        input.credit_note_number_format.as_deref(),
        &defaults.credit_note_number_format,
    );
    if invoice_format.is_some() && invoice_format == credit_format {
        v.add("credit_note_number_format", Msg::new("invoice.formats_alike"));
    }
    let days = input.payment_terms_days.unwrap_or(defaults.payment_terms_days);
    if !(0..=365).contains(&days) {
        v.add("payment_terms_days", Msg::new("invoice.terms_days_invalid"));
    }
    let terms = v.optional_long_text("payment_terms", input.payment_terms.as_deref(), 2000);
    let rate = input.late_penalty_rate.unwrap_or(defaults.late_penalty_rate);
    let rate_bp = percent_bp(&mut v, "late_penalty_rate", rate);
    let mentions = v.optional_long_text("mentions", input.mentions.as_deref(), 2000);
    let mut reminder_days = input.reminder_days.clone().unwrap_or(defaults.reminder_days);
    reminder_days.sort_unstable();
    reminder_days.dedup();
    if reminder_days.len() > MAX_REMINDERS || reminder_days.iter().any(|d| !(0..=365).contains(d)) {
        v.add("reminder_days", Msg::new("invoice.reminder_days_invalid").arg("max", MAX_REMINDERS));
    }
    let accounts = input.accounts.clone().unwrap_or_default();
    for (field, account) in [
        ("accounts.sales", &accounts.sales),
        ("accounts.vat", &accounts.vat),
        ("accounts.customers", &accounts.customers),
        ("accounts.bank", &accounts.bank),
        ("accounts.cash", &accounts.cash),
    ] {
        // An account number: digits (and letters, for auxiliary accounts), no spaces.
        if account.is_empty() || account.len() > 20 || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
            v.add(field, Msg::new("invoice.account_invalid"));
        }
    }
    v.finish()?;
    let before = settings(db, actor.org).await?;
    let after = BillingSettings {
        invoice_number_format: invoice_format.unwrap_or_default(),
        credit_note_number_format: credit_format.unwrap_or_default(),
        payment_terms_days: days,
        payment_terms: terms,
        late_penalty_rate: rate.normalize(),
        vat_exempt: input.vat_exempt.unwrap_or(false),
        mentions,
        reminder_days,
        accounts,
    };
    let row = settings::ActiveModel {
        organization_id: Set(actor.org.get()),
        invoice_number_format: Set(after.invoice_number_format.clone()),
        credit_note_number_format: Set(after.credit_note_number_format.clone()),
        payment_terms_days: Set(after.payment_terms_days),
        payment_terms: Set(after.payment_terms.clone()),
        late_penalty_rate_bp: Set(rate_bp.unwrap_or_default()),
        vat_exempt: Set(after.vat_exempt),
        mentions: Set(after.mentions.clone()),
        reminder_days: Set(after.reminder_days.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")),
        sales_account: Set(after.accounts.sales.clone()),
        vat_account: Set(after.accounts.vat.clone()),
        customer_account: Set(after.accounts.customers.clone()),
        bank_account: Set(after.accounts.bank.clone()),
        cash_account: Set(after.accounts.cash.clone()),
        updated_at: Set(Utc::now()),
    };
    db::write(db, async |txn| {
        use settings::Column as C;
        settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(C::OrganizationId)
                    .update_columns([
                        C::InvoiceNumberFormat,
                        C::CreditNoteNumberFormat,
                        C::PaymentTermsDays,
                        C::PaymentTerms,
                        C::LatePenaltyRateBp,
                        C::VatExempt,
                        C::Mentions,
                        C::ReminderDays,
                        C::SalesAccount,
                        C::VatAccount,
                        C::CustomerAccount,
                        C::BankAccount,
                        C::CashAccount,
                        C::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        audit::record_change(txn, actor, ("billing_settings", actor.org.get()), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}
