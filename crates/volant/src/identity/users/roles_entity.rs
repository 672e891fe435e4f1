use crate::platform::db::table;

table! {
    "user_roles" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
    }
}
