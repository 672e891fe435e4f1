//! Lessons and private calendar feeds.

use crate::platform::db::table;

table! {
    pub mod lesson = "school_lessons" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub instructor_id: i64,
        pub vehicle_id: Option<i64>,
        pub kind: crate::school::planning::service::LessonKind,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub minutes: i32,
        pub meeting_point: Option<String>,
        pub status: crate::school::planning::service::LessonStatus,
        pub cancelled_at: Option<DateTimeUtc>,
        pub cancellation_reason: Option<String>,
        pub late_cancellation: bool,
        pub cancelled_by: Option<crate::school::planning::service::CancelledBy>,
        pub fee_waived: bool,
        pub notes: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub reminder_sent_at: Option<DateTimeUtc>,
    }
}

table! {
    pub mod calendar_feed = "school_calendar_feeds" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub instructor_id: Option<i64>,
        pub candidate_id: Option<i64>,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }
}
