//! The tables the school's packs live in.

use crate::platform::db::table;

table! {
    pub mod pack = "school_packs" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub name: String,
        pub description: Option<String>,
        pub driving_minutes: i32,
        /// Excluding tax, in ten-thousandths (as invoice lines).
        pub unit_price_e4: i64,
        pub vat_rate_bp: i32,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod sale = "school_pack_sales" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub pack_id: Option<i64>,
        pub label: String,
        pub minutes: i32,
        pub invoice_id: Option<i64>,
        pub instalments: i32,
        pub sold_on: Date,
        pub sold_by: Option<i64>,
        pub cancelled_at: Option<DateTimeUtc>,
        pub credit_note_id: Option<i64>,
        pub idempotency_key: Option<String>,
        pub created_at: DateTimeUtc,
    }
}
