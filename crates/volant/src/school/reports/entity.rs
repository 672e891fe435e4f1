//! Reports produced in the background.

pub mod report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: crate::school::reports::service::ReportKind,
        pub format: crate::school::reports::service::FileFormat,
        pub period_from: Date,
        pub period_to: Date,
        pub status: crate::school::reports::service::ReportStatus,
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
