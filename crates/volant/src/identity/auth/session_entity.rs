use crate::platform::db::table;

table! {
    "sessions" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: i64,
        /// `api` (bearer token) or `web` (cookie).
        pub kind: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        /// Codes tried on a sign-in waiting for its second factor.
        pub attempts: i32,
    }
}
