//! Exam sessions, registrations and results.

pub mod exam_session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_exam_sessions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: crate::school::exams::service::SessionKind,
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

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
