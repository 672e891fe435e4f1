//! The tables notifications own: notifications, users' preferences, contacts' consents.

use crate::platform::db::table;

table! {
    pub mod notification = "notifications" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub event: String,
        pub user_id: Option<i64>,
        pub recipient: String,
        pub title: String,
        pub body: String,
        pub link: Option<String>,
        pub in_app: bool,
        pub created_at: DateTimeUtc,
        pub read_at: Option<DateTimeUtc>,
    }
}

table! {
    pub mod preference = "notification_preferences" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel: String,
        pub enabled: bool,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod consent = "contact_consents" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub channel: crate::notify::model::Channel,
        pub address: String,
        pub granted: bool,
        pub source: String,
        pub recorded_by: Option<i64>,
        pub recorded_at: DateTimeUtc,
    }
}
