//! The tables maintenance owns.

use crate::platform::db::table;

table! {
    pub mod rule = "maintenance_rules" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        /// `None`: the organization's default for `kind`.
        pub vehicle_id: Option<i64>,
        pub kind: String,
        pub name: String,
        pub interval_km: Option<i64>,
        pub interval_months: Option<i32>,
        pub first_after_months: Option<i32>,
        pub due_on: Option<Date>,
        pub due_km: Option<i64>,
        pub active: bool,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod alert = "maintenance_alerts" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub vehicle_id: i64,
        pub kind: String,
        /// Which cycle of the rule this alert is about (its baseline): one alert each.
        pub occurrence: String,
        pub due_on: Option<Date>,
        pub due_km: Option<i64>,
        pub status: crate::workshop::maintenance::service::AlertStatus,
        pub snoozed_until: Option<Date>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub resolved_at: Option<DateTimeUtc>,
        /// When its vehicle's owner was last reminded of it.
        pub reminded_at: Option<DateTimeUtc>,
    }
}

table! {
    /// Where each organization's hourly alert refresh stands.
    pub mod refresh_state = "maintenance_refreshes" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        /// The organization's day of the last walk over its whole fleet.
        pub refreshed_on: Option<Date>,
        /// When the last run started: vehicles changed since (less a margin) are walked again.
        pub checked_at: Option<DateTimeUtc>,
        /// When a rule of the organization last changed: after the last run, a full walk.
        pub rules_changed_at: Option<DateTimeUtc>,
    }
}
