//! An organization's logo, printed on its quotes, e-mails and approval page.
//! Kept in the database beside the organization (at most 512 KiB): it is read
//! whenever a PDF or an e-mail is made, goes into every backup and replica with
//! the rest, and needs no second system to be up. `organizations.logo_key` names
//! the current logo (its content's hash), so links to it change with it.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OrganizationLogos {
    Table,
    OrganizationId,
    ContentType,
    Bytes,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrganizationLogos::Table)
                    .col(ColumnDef::new(OrganizationLogos::OrganizationId).big_integer().not_null().primary_key())
                    .col(ColumnDef::new(OrganizationLogos::ContentType).string_len(32).not_null())
                    .col(ColumnDef::new(OrganizationLogos::Bytes).blob().not_null())
                    .col(ColumnDef::new(OrganizationLogos::UpdatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(OrganizationLogos::ContentType).is_in(["image/png", "image/jpeg"]))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_logos_organization")
                            .from(OrganizationLogos::Table, OrganizationLogos::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OrganizationLogos::Table).to_owned()).await
    }
}
