//! The tables the service history owns.

pub mod intervention {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "interventions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub vehicle_id: i64,
        /// The vehicle's owner when the work was done.
        pub client_id: Option<i64>,
        pub quote_id: Option<i64>,
        pub performed_on: Date,
        pub mileage_km: Option<i64>,
        pub description: String,
        pub technician: Option<String>,
        pub currency: crate::platform::money::Currency,
        pub total_excl_minor: i64,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        /// Work under way: the vehicle is in the workshop.
        pub in_progress: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod line {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "intervention_lines")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub intervention_id: i64,
        pub position: i32,
        pub kind: crate::workshop::quotes::model::LineKind,
        pub description: String,
        pub quantity_milli: i64,
        pub unit: Option<String>,
        pub unit_price_e4: i64,
        pub vat_rate_bp: i32,
        pub discount_bp: i32,
        pub total_excl_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_done {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "intervention_services")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub intervention_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod reading {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mileage_readings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub vehicle_id: i64,
        pub read_on: Date,
        pub mileage_km: i64,
        /// The odometer was replaced or reset: readings count again from here.
        pub is_correction: bool,
        pub intervention_id: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_info {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vehicle_service_info")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vehicle_id: i64,
        pub organization_id: i64,
        pub first_registration: Option<Date>,
        pub insurance_expiry: Option<Date>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
