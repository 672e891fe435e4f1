//! The school's rules and candidate numbering (one row per organization).

use crate::platform::db::table;

table! {
    pub mod settings = "school_settings" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        pub daily_limit_minutes: i32,
        pub cancellation_notice_hours: i32,
        pub min_driving_minutes_for_exam: i32,
        pub four_eyes: bool,
        pub candidates_may_book: bool,
        pub last_candidate_number: i64,
        pub updated_at: DateTimeUtc,
        pub hour_price_minor: i64,
        pub approval_number: Option<String>,
    }
}
