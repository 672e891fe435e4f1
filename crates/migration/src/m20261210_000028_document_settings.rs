//! Two settings of documents: whether an organization keeps its photos'
//! metadata (date, camera, GPS position: stripped unless it chooses to keep
//! them, for instance as evidence of where and when a car's damage was seen),
//! and the expiry date each document's notice was last sent for, so that the
//! daily run notifies a document once per expiry date (a date moved later is
//! notified again when it comes near).

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    KeepPhotoMetadata,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    ExpiryNoticeFor,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let keep = ColumnDef::new(Organizations::KeepPhotoMetadata).boolean().not_null().default(false).to_owned();
        manager.alter_table(Table::alter().table(Organizations::Table).add_column(keep).to_owned()).await?;
        let notice = ColumnDef::new(Attachments::ExpiryNoticeFor).date().null().to_owned();
        manager.alter_table(Table::alter().table(Attachments::Table).add_column(notice).to_owned()).await?;
        // Documents already expired when notices arrive are listed on their page
        // already: they are not all sent at once on the first run.
        manager
            .get_connection()
            .execute_unprepared("UPDATE attachments SET expiry_notice_for = expires_on WHERE expires_on < CURRENT_DATE")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Attachments::Table).drop_column(Attachments::ExpiryNoticeFor).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(Organizations::Table).drop_column(Organizations::KeepPhotoMetadata).to_owned(),
            )
            .await
    }
}
