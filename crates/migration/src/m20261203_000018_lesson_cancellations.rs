//! Who cancelled a lesson (the candidate, the school, the instructor, the
//! weather), and whether the school waived the late-cancellation charge. Only a
//! candidate's late cancellation is charged; earlier ones are taken as theirs.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden, Clone, Copy)]
enum SchoolLessons {
    Table,
    CancelledBy,
    FeeWaived,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let by = ColumnDef::new(SchoolLessons::CancelledBy).string_len(16).null().to_owned();
        manager.alter_table(Table::alter().table(SchoolLessons::Table).add_column(by).to_owned()).await?;
        let waived = ColumnDef::new(SchoolLessons::FeeWaived).boolean().not_null().default(false).to_owned();
        manager.alter_table(Table::alter().table(SchoolLessons::Table).add_column(waived).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [SchoolLessons::CancelledBy, SchoolLessons::FeeWaived] {
            manager.alter_table(Table::alter().table(SchoolLessons::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
