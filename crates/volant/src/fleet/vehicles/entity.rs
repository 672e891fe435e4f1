use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vehicles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub garage_id: i64,
    pub brand: String,
    pub model: String,
    pub year: i32,
    /// As entered, for display.
    pub license_plate: String,
    /// Upper-case without spaces or dashes; unique.
    pub plate_normalized: String,
    pub vin: Option<String>,
    pub mileage_km: Option<i64>,
    pub fuel_type: Option<super::model::FuelType>,
    pub color: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::fleet::garages::entity::Entity",
        from = "Column::GarageId",
        to = "crate::fleet::garages::entity::Column::Id"
    )]
    Garage,
}

impl Related<crate::fleet::garages::entity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Garage.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
