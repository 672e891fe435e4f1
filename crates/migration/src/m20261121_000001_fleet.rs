//! Garages and their vehicles.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Garages {
    Table,
    Id,
    Name,
    Address,
    City,
    PostalCode,
    Phone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Vehicles {
    Table,
    Id,
    GarageId,
    Brand,
    Model,
    Year,
    LicensePlate,
    PlateNormalized,
    Vin,
    MileageKm,
    FuelType,
    Color,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Garages::Table)
                    .col(ColumnDef::new(Garages::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Garages::Name).string_len(120).not_null())
                    .col(ColumnDef::new(Garages::Address).string_len(255).not_null())
                    .col(ColumnDef::new(Garages::City).string_len(120).null())
                    .col(ColumnDef::new(Garages::PostalCode).string_len(20).null())
                    .col(ColumnDef::new(Garages::Phone).string_len(40).null())
                    .col(ColumnDef::new(Garages::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Garages::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_garages_name").table(Garages::Table).col(Garages::Name).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Vehicles::Table)
                    .col(ColumnDef::new(Vehicles::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Vehicles::GarageId).big_integer().not_null())
                    .col(ColumnDef::new(Vehicles::Brand).string_len(60).not_null())
                    .col(ColumnDef::new(Vehicles::Model).string_len(60).not_null())
                    .col(ColumnDef::new(Vehicles::Year).integer().not_null())
                    .col(ColumnDef::new(Vehicles::LicensePlate).string_len(20).not_null())
                    .col(ColumnDef::new(Vehicles::PlateNormalized).string_len(20).not_null())
                    .col(ColumnDef::new(Vehicles::Vin).string_len(17).null())
                    .col(ColumnDef::new(Vehicles::MileageKm).big_integer().null())
                    .col(ColumnDef::new(Vehicles::FuelType).string_len(16).null())
                    .col(ColumnDef::new(Vehicles::Color).string_len(40).null())
                    .col(ColumnDef::new(Vehicles::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Vehicles::UpdatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(Vehicles::Year).gte(1886))
                    .check(Expr::col(Vehicles::MileageKm).gte(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_vehicles_garage")
                            .from(Vehicles::Table, Vehicles::GarageId)
                            .to(Garages::Table, Garages::Id)
                            // Deleting a garage never takes its vehicles with it.
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The plate invariant lives here: two concurrent inserts cannot both win.
        manager
            .create_index(
                Index::create()
                    .name("uq_vehicles_plate_normalized")
                    .table(Vehicles::Table)
                    .col(Vehicles::PlateNormalized)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("uq_vehicles_vin").table(Vehicles::Table).col(Vehicles::Vin).unique().to_owned(),
            )
            .await?;
        // Serves the foreign key and the keyset-paginated list of a garage's vehicles.
        manager
            .create_index(
                Index::create()
                    .name("idx_vehicles_garage_id_id")
                    .table(Vehicles::Table)
                    .col(Vehicles::GarageId)
                    .col(Vehicles::Id)
                    .to_owned(),
            )
            .await?;
        for (name, column) in [("idx_vehicles_brand", Vehicles::Brand), ("idx_vehicles_model", Vehicles::Model)] {
            manager.create_index(Index::create().name(name).table(Vehicles::Table).col(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Vehicles::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Garages::Table).to_owned()).await
    }
}
