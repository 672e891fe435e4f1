//! The tables billing owns.

use crate::platform::db::table;

table! {
    pub mod invoice = "invoices" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: crate::billing::invoices::model::InvoiceKind,
        pub status: crate::billing::invoices::model::InvoiceStatus,
        /// Taken when issued; none while a draft.
        pub number: Option<String>,
        pub year: Option<i32>,
        pub sequence: Option<i64>,
        pub customer_kind: crate::billing::invoices::model::CustomerKind,
        pub customer_id: i64,
        pub buyer_name: String,
        pub buyer_address: Option<String>,
        pub buyer_email: Option<String>,
        pub buyer_tax_id: Option<String>,
        pub buyer_is_business: bool,
        pub vehicle_id: Option<i64>,
        pub vehicle_label: Option<String>,
        pub source_kind: Option<crate::billing::invoices::model::SourceKind>,
        pub source_id: Option<i64>,
        pub credited_invoice_id: Option<i64>,
        pub issue_date: Option<Date>,
        pub service_date: Option<Date>,
        pub due_date: Option<Date>,
        pub currency: crate::platform::money::Currency,
        pub notes: Option<String>,
        pub payment_terms: Option<String>,
        pub late_penalty_rate_bp: i32,
        pub vat_exempt: bool,
        pub seller_name: Option<String>,
        pub seller_address: Option<String>,
        pub seller_registration: Option<String>,
        pub seller_vat_number: Option<String>,
        pub mentions: Option<String>,
        pub total_excl_minor: i64,
        pub total_vat_minor: i64,
        pub total_incl_minor: i64,
        pub issued_at: Option<DateTimeUtc>,
        pub issued_by: Option<i64>,
        pub share_token_hash: Option<String>,
        pub share_expires_at: Option<DateTimeUtc>,
        pub sent_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// A deposit invoice (facture d'acompte) asked on a quote.
        pub is_deposit: bool,
        /// The garage of the vehicle invoiced, when it was drafted.
        pub garage_id: Option<i64>,
    }
}

table! {
    pub mod line = "invoice_lines" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub invoice_id: i64,
        pub position: i32,
        pub kind: crate::platform::lines::LineKind,
        pub description: String,
        pub quantity_milli: i64,
        pub unit: Option<String>,
        pub unit_price_e4: i64,
        pub vat_rate_bp: i32,
        pub discount_bp: i32,
        pub total_excl_minor: i64,
        /// The deposit invoice this line deducts (its quantity is then negative).
        pub deposit_invoice_id: Option<i64>,
    }
}

table! {
    pub mod deposit = "invoice_deposits" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub deposit_invoice_id: i64,
        pub organization_id: i64,
        pub quote_id: i64,
        /// Its place among the quote's deposits.
        pub position: i32,
        pub percent_bp: i32,
        /// The invoice deducting it (a draft or issued), if any.
        pub deducted_in_invoice_id: Option<i64>,
    }
}

table! {
    pub mod counter = "invoice_counters" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        /// `invoice` or `credit_note`: each has its own sequence.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub last_number: i64,
    }
}

table! {
    pub mod settings = "billing_settings" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        pub invoice_number_format: String,
        pub credit_note_number_format: String,
        pub payment_terms_days: i32,
        pub payment_terms: Option<String>,
        pub late_penalty_rate_bp: i32,
        pub vat_exempt: bool,
        pub mentions: Option<String>,
        /// Days after the due date at which unpaid invoices are reminded, e.g. `0,7,30`.
        pub reminder_days: String,
        pub sales_account: String,
        pub vat_account: String,
        pub customer_account: String,
        pub bank_account: String,
        pub cash_account: String,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod reminder = "invoice_reminders" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub days_after_due: i32,
        pub sent_at: DateTimeUtc,
        pub email_id: Option<i64>,
    }
}

table! {
    pub mod instalment = "invoice_instalments" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub due_on: Date,
        pub amount_minor: i64,
        pub reminded_at: Option<DateTimeUtc>,
        /// Who pays this part when not the buyer (a CPF dossier, a bank's loan).
        pub payer: Option<String>,
    }
}

table! {
    pub mod payment = "payments" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub invoice_id: i64,
        pub kind: crate::billing::invoices::model::PaymentKind,
        pub method: crate::billing::invoices::model::PaymentMethod,
        pub provider: Option<String>,
        pub reference: Option<String>,
        pub amount_minor: i64,
        pub currency: crate::platform::money::Currency,
        pub received_on: Date,
        pub note: Option<String>,
        pub recorded_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod payment_request = "payment_requests" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub invoice_id: i64,
        /// Ours, sent to the provider and named by its callback.
        pub reference: String,
        pub provider_id: Option<String>,
        pub url: String,
        pub amount_minor: i64,
        pub currency: crate::platform::money::Currency,
        /// `open` or `paid`.
        pub status: String,
        pub payment_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub paid_at: Option<DateTimeUtc>,
    }
}
