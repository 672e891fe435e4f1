use crate::platform::db::table;

table! {
    "audit_log" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: Option<i64>,
        pub occurred_at: DateTimeUtc,
        pub actor_user_id: Option<i64>,
        pub action: String,
        pub entity_type: Option<String>,
        pub entity_id: Option<String>,
        /// JSON object: field → `[old, new]`.
        pub changes: Option<String>,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        pub request_id: Option<String>,
    }
}
