//! What customer-facing documents say of the business: its kind (which decides
//! the modules shown), phone, e-mail, registration (SIRET) and VAT numbers, and
//! its logo (a key in the file store); whether its people put the welcome
//! checklist away. Existing organizations run both modules.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden, Clone, Copy)]
enum Organizations {
    Table,
    Kind,
    Phone,
    Email,
    RegistrationNumber,
    VatNumber,
    LogoKey,
    WelcomeDismissed,
}

const TEXT_COLUMNS: [(Organizations, u32); 5] = [
    (Organizations::Phone, 40),
    (Organizations::Email, 254),
    (Organizations::RegistrationNumber, 40),
    (Organizations::VatNumber, 20),
    (Organizations::LogoKey, 200),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let kind = ColumnDef::new(Organizations::Kind).string_len(16).not_null().default("both").to_owned();
        manager.alter_table(Table::alter().table(Organizations::Table).add_column(kind).to_owned()).await?;
        let dismissed = ColumnDef::new(Organizations::WelcomeDismissed).boolean().not_null().default(false).to_owned();
        manager.alter_table(Table::alter().table(Organizations::Table).add_column(dismissed).to_owned()).await?;
        for (column, len) in TEXT_COLUMNS {
            let column = ColumnDef::new(column).string_len(len).null().to_owned();
            manager.alter_table(Table::alter().table(Organizations::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = TEXT_COLUMNS.map(|(c, _)| c);
        for column in [Organizations::Kind, Organizations::WelcomeDismissed].into_iter().chain(columns) {
            manager.alter_table(Table::alter().table(Organizations::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
