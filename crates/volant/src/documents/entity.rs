//! The tables the documents own.

use crate::platform::db::table;

table! {
    pub mod attachment = "attachments" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub owner_kind: crate::documents::model::OwnerKind,
        pub owner_id: i64,
        pub kind: crate::documents::model::DocumentKind,
        pub title: String,
        pub expires_on: Option<Date>,
        /// The expiry date its notice was sent for (none yet).
        pub expiry_notice_for: Option<Date>,
        pub content_type: String,
        /// The original's size as served (after re-encoding, before encryption).
        pub size_bytes: i64,
        /// Every blob of it as stored (original, preview, thumbnail): what the quota counts.
        pub stored_bytes: i64,
        pub sha256: String,
        pub storage_key: String,
        pub preview_key: Option<String>,
        pub thumbnail_key: Option<String>,
        pub width: Option<i32>,
        pub height: Option<i32>,
        pub encrypted: bool,
        pub original_name: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod usage = "storage_usage" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        pub used_bytes: i64,
    }
}

table! {
    pub mod trash = "blob_trash" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub storage_key: String,
        pub deleted_at: DateTimeUtc,
    }
}
