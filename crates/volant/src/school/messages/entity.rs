//! Message threads between a candidate and the school, and who read what.

use crate::platform::db::table;

table! {
    pub mod thread = "school_threads" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub subject: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub last_message_at: DateTimeUtc,
    }
}

table! {
    pub mod message = "school_messages" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub thread_id: i64,
        pub author_user_id: Option<i64>,
        pub author_name: String,
        pub from_candidate: bool,
        pub body: String,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod thread_read = "school_thread_reads" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub thread_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        pub last_read_id: i64,
    }
}
