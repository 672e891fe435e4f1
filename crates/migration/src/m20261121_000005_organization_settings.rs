//! Organization settings beyond the basics: postal address and VAT rates.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Address,
    VatRates,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(ColumnDef::new(Organizations::Address).string_len(255).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                // JSON array of percentages as strings, e.g. ["20", "10", "5.5"].
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(ColumnDef::new(Organizations::VatRates).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::VatRates).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::Address).to_owned())
            .await
    }
}
