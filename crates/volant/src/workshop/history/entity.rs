//! The tables the service history owns.

use crate::platform::db::table;

table! {
    pub mod intervention = "interventions" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub vehicle_id: i64,
        /// The vehicle's owner when the work was done.
        pub client_id: Option<i64>,
        pub quote_id: Option<i64>,
        pub performed_on: Date,
        pub mileage_km: Option<i64>,
        pub description: String,
        pub technician: Option<String>,
        pub currency: crate::platform::money::Currency,
        pub total_excl_minor: i64,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        /// Work under way: the vehicle is in the workshop.
        pub in_progress: bool,
    }
}

table! {
    pub mod line = "intervention_lines" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub intervention_id: i64,
        pub position: i32,
        pub kind: crate::platform::lines::LineKind,
        pub description: String,
        pub quantity_milli: i64,
        pub unit: Option<String>,
        pub unit_price_e4: i64,
        pub vat_rate_bp: i32,
        pub discount_bp: i32,
        pub total_excl_minor: i64,
    }
}

table! {
    pub mod service_done = "intervention_services" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub intervention_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
    }
}

table! {
    pub mod reading = "mileage_readings" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub vehicle_id: i64,
        pub read_on: Date,
        pub mileage_km: i64,
        /// The odometer was replaced or reset: readings count again from here.
        pub is_correction: bool,
        pub intervention_id: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod service_info = "vehicle_service_info" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vehicle_id: i64,
        pub organization_id: i64,
        pub first_registration: Option<Date>,
        pub insurance_expiry: Option<Date>,
        pub updated_at: DateTimeUtc,
    }
}
