//! The table the passwords part owns.

use crate::platform::db::table;

table! {
    pub mod password_link = "password_links" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub user_id: i64,
        pub purpose: crate::identity::passwords::service::Purpose,
        /// SHA-256 of the link's secret: the secret itself is never stored.
        pub token_hash: String,
        /// The administrator who sent it; `None` when the person asked.
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// Set once the link is used, or made useless by a newer one or a password change.
        pub used_at: Option<DateTimeUtc>,
    }
}
