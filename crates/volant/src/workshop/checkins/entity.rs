//! The table check-ins own.

use crate::platform::db::table;

table! {
    pub mod checkin = "vehicle_checkins" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub intervention_id: i64,
        pub vehicle_id: i64,
        pub mileage_km: Option<i64>,
        pub fuel_eighths: Option<i32>,
        /// The damaged zones, comma-separated codes of [`super::super::service::ZONES`].
        pub damages: String,
        pub notes: Option<String>,
        pub signed_by: String,
        pub signature_attachment_id: i64,
        pub report_attachment_id: Option<i64>,
        pub emailed_to: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}
