use crate::platform::db::table;

table! {
    "users" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        /// As entered, for display.
        pub email: String,
        /// Lower-case: the sign-in key, unique.
        pub email_normalized: String,
        pub display_name: String,
        /// Argon2id PHC string; never logged, never serialized.
        pub password_hash: String,
        pub active: bool,
        /// A platform operator: sees the instance's status and the platform-wide jobs.
        pub is_operator: bool,
        pub last_login_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
