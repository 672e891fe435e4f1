//! Training vehicles: the fleet's vehicles the school teaches with.

pub mod training_vehicle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_vehicles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vehicle_id: i64,
        pub organization_id: i64,
        pub category: String,
        pub dual_controls: bool,
        pub active: bool,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
