//! Whether a delivery reached a server: an e-mail written to the outbox folder or
//! an SMS written to the log was processed, but nobody received it. Deliveries
//! made before this column are taken as delivered (nothing recorded otherwise).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Deliveries {
    EmailOutbox,
    SmsOutbox,
    Delivered,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Deliveries::EmailOutbox, Deliveries::SmsOutbox] {
            let column = ColumnDef::new(Deliveries::Delivered).boolean().not_null().default(true).to_owned();
            manager.alter_table(Table::alter().table(table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Deliveries::EmailOutbox, Deliveries::SmsOutbox] {
            manager.alter_table(Table::alter().table(table).drop_column(Deliveries::Delivered).to_owned()).await?;
        }
        Ok(())
    }
}
