//! Catalogue items: one per description (case and spacing aside) per organization.

use crate::platform::db::table;

table! {
    pub mod item = "catalogue_items" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: crate::workshop::quotes::model::LineKind,
        pub description: String,
        /// ` plaquettes de frein avant`: its lower-case words after a space each,
        /// so that `LIKE '% word%'` finds any of them.
        pub search_name: String,
        pub unit: Option<String>,
        pub unit_price_e4: i64,
        pub vat_rate_bp: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
