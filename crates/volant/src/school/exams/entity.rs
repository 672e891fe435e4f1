//! Exam sessions, registrations and results.

use crate::platform::db::table;

table! {
    pub mod exam_session = "school_exam_sessions" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: crate::school::exams::service::SessionKind,
        pub starts_at: DateTimeUtc,
        pub centre: String,
        pub seats: i32,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod registration = "school_exam_registrations" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub session_id: i64,
        pub candidate_id: i64,
        pub registered_at: DateTimeUtc,
    }
}

table! {
    pub mod result = "school_exam_results" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub registration_id: Option<i64>,
        pub exam_type: crate::school::exams::service::ExamType,
        pub outcome: crate::school::exams::service::Outcome,
        pub score: Option<i32>,
        pub notes: Option<String>,
        pub taken_on: Date,
        pub instructor_id: Option<i64>,
        pub entered_by: i64,
        pub entered_at: DateTimeUtc,
        pub four_eyes: bool,
        pub validated_by: Option<i64>,
        pub validated_at: Option<DateTimeUtc>,
        pub corrects_id: Option<i64>,
    }
}
