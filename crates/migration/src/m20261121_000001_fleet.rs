//! Organizations (tenants), their garages and vehicles.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Currency,
    Locale,
    TimeZone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Garages {
    Table,
    Id,
    OrganizationId,
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
    OrganizationId,
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

fn id<T: IntoIden>(column: T) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().auto_increment().primary_key().to_owned()
}

fn timestamp<T: IntoIden>(column: T) -> ColumnDef {
    ColumnDef::new(column).timestamp_with_time_zone().not_null().to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: &[&(dyn Iden + Sync)],
    unique: bool,
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(Alias::new(column.to_string()));
    }
    if unique {
        statement.unique();
    }
    manager.create_index(statement).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(id(Organizations::Id))
                    .col(ColumnDef::new(Organizations::Name).string_len(120).not_null())
                    .col(ColumnDef::new(Organizations::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Organizations::Locale).string_len(8).not_null())
                    .col(ColumnDef::new(Organizations::TimeZone).string_len(64).not_null())
                    .col(timestamp(Organizations::CreatedAt))
                    .col(timestamp(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Garages::Table)
                    .col(id(Garages::Id))
                    .col(ColumnDef::new(Garages::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(Garages::Name).string_len(120).not_null())
                    .col(ColumnDef::new(Garages::Address).string_len(255).not_null())
                    .col(ColumnDef::new(Garages::City).string_len(120).null())
                    .col(ColumnDef::new(Garages::PostalCode).string_len(20).null())
                    .col(ColumnDef::new(Garages::Phone).string_len(40).null())
                    .col(timestamp(Garages::CreatedAt))
                    .col(timestamp(Garages::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_garages_organization")
                            .from(Garages::Table, Garages::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // Serves the organization's paginated list and the vehicles' composite foreign key.
        index(
            manager,
            "uq_garages_organization_id_id",
            Garages::Table,
            &[&Garages::OrganizationId, &Garages::Id],
            true,
        )
        .await?;
        index(
            manager,
            "idx_garages_organization_id_name",
            Garages::Table,
            &[&Garages::OrganizationId, &Garages::Name],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Vehicles::Table)
                    .col(id(Vehicles::Id))
                    .col(ColumnDef::new(Vehicles::OrganizationId).big_integer().not_null())
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
                    .col(timestamp(Vehicles::CreatedAt))
                    .col(timestamp(Vehicles::UpdatedAt))
                    .check(Expr::col(Vehicles::Year).gte(1886))
                    .check(Expr::col(Vehicles::MileageKm).gte(0))
                    .foreign_key(
                        // A vehicle's garage belongs to the vehicle's organization, and a
                        // garage that still holds vehicles cannot be deleted.
                        ForeignKey::create()
                            .name("fk_vehicles_garage")
                            .from(Vehicles::Table, (Vehicles::OrganizationId, Vehicles::GarageId))
                            .to(Garages::Table, (Garages::OrganizationId, Garages::Id))
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The plate invariant lives here: two concurrent inserts cannot both win. Plates are
        // unique within an organization: two garage networks may service the same car.
        index(
            manager,
            "uq_vehicles_plate_normalized",
            Vehicles::Table,
            &[&Vehicles::OrganizationId, &Vehicles::PlateNormalized],
            true,
        )
        .await?;
        index(manager, "uq_vehicles_vin", Vehicles::Table, &[&Vehicles::OrganizationId, &Vehicles::Vin], true).await?;
        // Serves the foreign key and the keyset-paginated list of a garage's vehicles.
        index(
            manager,
            "idx_vehicles_garage_id_id",
            Vehicles::Table,
            &[&Vehicles::OrganizationId, &Vehicles::GarageId, &Vehicles::Id],
            false,
        )
        .await?;
        index(
            manager,
            "idx_vehicles_organization_id_id",
            Vehicles::Table,
            &[&Vehicles::OrganizationId, &Vehicles::Id],
            false,
        )
        .await?;
        index(manager, "idx_vehicles_brand", Vehicles::Table, &[&Vehicles::OrganizationId, &Vehicles::Brand], false)
            .await?;
        index(manager, "idx_vehicles_model", Vehicles::Table, &[&Vehicles::OrganizationId, &Vehicles::Model], false)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Vehicles::Table.into_iden(), Garages::Table.into_iden(), Organizations::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
