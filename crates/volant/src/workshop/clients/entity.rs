//! The tables the clients part owns.

use crate::platform::db::table;

table! {
    pub mod client = "clients" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        /// `individual` or `company`.
        pub kind: crate::workshop::clients::service::ClientKind,
        pub name: String,
        /// The name shown (the company's, if any) as lists sort it
        /// (`platform::search::sort_key`).
        pub sort_name: String,
        pub company_name: Option<String>,
        pub tax_id: Option<String>,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub address: Option<String>,
        pub notes: Option<String>,
        pub consent_marketing: bool,
        pub consent_notifications: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod search_term = "client_search_terms" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub term: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: i64,
    }
}

table! {
    pub mod ownership = "vehicle_ownerships" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub vehicle_id: i64,
        pub client_id: i64,
        pub started_at: DateTimeUtc,
        /// `None` while the client still owns the vehicle.
        pub ended_at: Option<DateTimeUtc>,
    }
}
