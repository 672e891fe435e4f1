//! Candidates' files and their progress on the competency grid.

use crate::platform::db::table;

table! {
    pub mod candidate = "school_candidates" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub user_id: Option<i64>,
        pub number: String,
        pub first_name: String,
        pub last_name: String,
        /// `last first`, lower-cased and unaccented: what name search walks.
        pub search_name: String,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub category: String,
        pub registered_on: Date,
        pub theory_status: crate::school::candidates::service::TheoryStatus,
        pub forecast_minutes: Option<i32>,
        pub bought_minutes: i32,
        pub instructor_id: Option<i64>,
        pub id_document_enc: Option<String>,
        pub birth_date_enc: Option<String>,
        pub address_enc: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod progress = "school_progress" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub lesson_id: Option<i64>,
        pub item: String,
        pub level: i16,
        pub comment: Option<String>,
        pub recorded_by: Option<i64>,
        pub recorded_at: DateTimeUtc,
    }
}
