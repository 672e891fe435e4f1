//! Reports produced in the background.

use crate::platform::db::table;

table! {
    pub mod report = "school_reports" {
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
}
