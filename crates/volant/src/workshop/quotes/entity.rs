//! The tables the quotes part owns.

use crate::platform::db::table;

table! {
    pub mod quote = "quotes" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub number: String,
        pub year: i32,
        pub sequence: i64,
        pub client_id: i64,
        pub vehicle_id: Option<i64>,
        pub status: crate::workshop::quotes::model::QuoteStatus,
        pub issue_date: Date,
        pub valid_until: Date,
        pub currency: crate::platform::money::Currency,
        pub notes: Option<String>,
        pub terms: Option<String>,
        pub total_excl_minor: i64,
        pub total_vat_minor: i64,
        pub total_incl_minor: i64,
        /// Whether the client may accept some lines and decline others.
        pub line_decisions: bool,
        /// SHA-256 of the share link's token; the token itself is never stored.
        pub share_token_hash: Option<String>,
        pub share_expires_at: Option<DateTimeUtc>,
        pub sent_at: Option<DateTimeUtc>,
        pub decided_at: Option<DateTimeUtc>,
        pub decision_ip: Option<String>,
        pub duplicated_from: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod line = "quote_lines" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub quote_id: i64,
        pub position: i32,
        pub kind: crate::platform::lines::LineKind,
        pub description: String,
        pub quantity_milli: i64,
        pub unit: Option<String>,
        pub unit_price_e4: i64,
        pub vat_rate_bp: i32,
        pub discount_bp: i32,
        pub total_excl_minor: i64,
        /// The client's decision on this line, once the quote is decided.
        pub accepted: Option<bool>,
    }
}

table! {
    pub mod settings = "workshop_settings" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        pub quote_number_format: String,
        pub quote_validity_days: i32,
        pub line_decisions: bool,
        pub quote_terms: Option<String>,
        pub legal_mentions: Option<String>,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod counter = "quote_counters" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub last_number: i64,
    }
}
