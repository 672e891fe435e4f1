//! The school's rules and candidate numbering (one row per organization).

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
