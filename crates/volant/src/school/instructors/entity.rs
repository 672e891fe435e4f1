//! Instructors, their weekly availability and days off.

use crate::platform::db::table;

table! {
    pub mod instructor = "school_instructors" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub user_id: Option<i64>,
        pub first_name: String,
        pub last_name: String,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub licence_number: String,
        /// Comma-separated licence categories, e.g. `B,A`.
        pub categories: String,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod availability = "school_availability" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub instructor_id: i64,
        pub weekday: i16,
        pub start_minute: i32,
        pub end_minute: i32,
    }
}

table! {
    pub mod day_off = "school_days_off" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub instructor_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        pub reason: Option<String>,
    }
}
