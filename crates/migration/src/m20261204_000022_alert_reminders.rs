//! When a maintenance alert's owner was last reminded: a second reminder within
//! a day is skipped (two clicks, two colleagues), decided by a conditional
//! UPDATE of this column.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum MaintenanceAlerts {
    Table,
    RemindedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(MaintenanceAlerts::RemindedAt).timestamp_with_time_zone().null().to_owned();
        manager.alter_table(Table::alter().table(MaintenanceAlerts::Table).add_column(column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table =
            Table::alter().table(MaintenanceAlerts::Table).drop_column(MaintenanceAlerts::RemindedAt).to_owned();
        manager.alter_table(table).await
    }
}
