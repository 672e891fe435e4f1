//! Training vehicles: the fleet's vehicles the school teaches with.

use crate::platform::db::table;

table! {
    pub mod training_vehicle = "school_vehicles" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vehicle_id: i64,
        pub organization_id: i64,
        pub category: String,
        pub dual_controls: bool,
        pub active: bool,
        pub updated_at: DateTimeUtc,
    }
}
