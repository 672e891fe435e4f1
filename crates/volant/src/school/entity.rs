//! The tables the driving school owns.

pub mod settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_settings")]
    pub struct Model {
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
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod instructor {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_instructors")]
    pub struct Model {
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

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod availability {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_availability")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub instructor_id: i64,
        pub weekday: i16,
        pub start_minute: i32,
        pub end_minute: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod day_off {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_days_off")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub instructor_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        pub reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod training_vehicle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_vehicles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vehicle_id: i64,
        pub organization_id: i64,
        pub category: String,
        pub dual_controls: bool,
        pub active: bool,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod candidate {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_candidates")]
    pub struct Model {
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
        pub theory_status: String,
        pub forecast_minutes: Option<i32>,
        pub bought_minutes: i32,
        pub instructor_id: Option<i64>,
        pub id_document_enc: Option<String>,
        pub birth_date_enc: Option<String>,
        pub address_enc: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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
        pub kind: String,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub minutes: i32,
        pub meeting_point: Option<String>,
        pub status: String,
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

pub mod exam_session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_exam_sessions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: String,
        pub starts_at: DateTimeUtc,
        pub centre: String,
        pub seats: i32,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod registration {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_exam_registrations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub session_id: i64,
        pub candidate_id: i64,
        pub registered_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod result {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_exam_results")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub registration_id: Option<i64>,
        pub exam_type: String,
        pub outcome: String,
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

pub mod progress {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_progress")]
    pub struct Model {
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

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod thread {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_threads")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub subject: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub last_message_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_messages")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub thread_id: i64,
        pub author_user_id: Option<i64>,
        pub author_name: String,
        pub from_candidate: bool,
        pub body: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod thread_read {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_thread_reads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub thread_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        pub last_read_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: String,
        pub format: String,
        pub period_from: Date,
        pub period_to: Date,
        pub status: String,
        pub requested_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
        pub file_name: Option<String>,
        pub content_type: Option<String>,
        pub content: Option<Vec<u8>>,
        pub error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
