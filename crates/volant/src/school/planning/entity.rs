//! Lessons and private calendar feeds.

pub mod lesson {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_lessons")]
    pub struct Model {
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
        pub notes: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub reminder_sent_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod calendar_feed {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_calendar_feeds")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub instructor_id: Option<i64>,
        pub candidate_id: Option<i64>,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
