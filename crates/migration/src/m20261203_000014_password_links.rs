//! Single-use links to choose a password (a forgotten one, an invitation): only
//! the SHA-256 of the link's secret is stored, with its expiry and its use.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PasswordLinks {
    Table,
    Id,
    OrganizationId,
    UserId,
    Purpose,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PasswordLinks::Table)
                    .col(ColumnDef::new(PasswordLinks::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(PasswordLinks::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(PasswordLinks::UserId).big_integer().not_null())
                    .col(ColumnDef::new(PasswordLinks::Purpose).string_len(16).not_null())
                    .col(ColumnDef::new(PasswordLinks::TokenHash).string_len(64).not_null())
                    .col(ColumnDef::new(PasswordLinks::CreatedBy).big_integer().null())
                    .col(ColumnDef::new(PasswordLinks::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(PasswordLinks::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(PasswordLinks::UsedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_links_organization")
                            .from(PasswordLinks::Table, PasswordLinks::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_links_user")
                            .from(PasswordLinks::Table, PasswordLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_links_created_by")
                            .from(PasswordLinks::Table, PasswordLinks::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes = [
            ("uq_password_links_token_hash", PasswordLinks::TokenHash, true),
            ("idx_password_links_user_id", PasswordLinks::UserId, false),
            ("idx_password_links_organization_id", PasswordLinks::OrganizationId, false),
            ("idx_password_links_created_by", PasswordLinks::CreatedBy, false),
        ];
        for (name, column, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(PasswordLinks::Table).col(column);
            if unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PasswordLinks::Table).to_owned()).await
    }
}
