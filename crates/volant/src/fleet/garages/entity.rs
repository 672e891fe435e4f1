use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "garages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    /// The name as lists sort it (`platform::search::sort_key`).
    pub sort_name: String,
    pub address: String,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    /// Kept by database triggers on `vehicles`: never written by the application.
    pub vehicle_count: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "crate::fleet::vehicles::entity::Entity")]
    Vehicles,
}

impl Related<crate::fleet::vehicles::entity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Vehicles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
