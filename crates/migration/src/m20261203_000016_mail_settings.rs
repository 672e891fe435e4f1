//! An organization's own way out for e-mails: its SMTP server (the URL, with its
//! credentials, encrypted at rest) and the sender its customers see.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailSettings {
    Table,
    OrganizationId,
    SmtpUrl,
    MailFrom,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailSettings::Table)
                    .col(ColumnDef::new(MailSettings::OrganizationId).big_integer().not_null().primary_key())
                    .col(ColumnDef::new(MailSettings::SmtpUrl).text().not_null())
                    .col(ColumnDef::new(MailSettings::MailFrom).string_len(320).not_null())
                    .col(ColumnDef::new(MailSettings::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(MailSettings::UpdatedBy).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_settings_organization")
                            .from(MailSettings::Table, MailSettings::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_settings_updated_by")
                            .from(MailSettings::Table, MailSettings::UpdatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_settings_updated_by")
                    .table(MailSettings::Table)
                    .col(MailSettings::UpdatedBy)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MailSettings::Table).to_owned()).await
    }
}
