//! The audit trail: append-only, one row per change, sign-in event or refusal.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrganizationId,
    OccurredAt,
    ActorUserId,
    Action,
    EntityType,
    EntityId,
    Changes,
    Ip,
    UserAgent,
    RequestId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(ColumnDef::new(AuditLog::Id).big_integer().not_null().auto_increment().primary_key())
                    // Null only for a failed sign-in with an unknown e-mail.
                    .col(ColumnDef::new(AuditLog::OrganizationId).big_integer().null())
                    .col(ColumnDef::new(AuditLog::OccurredAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(AuditLog::ActorUserId).big_integer().null())
                    .col(ColumnDef::new(AuditLog::Action).string_len(32).not_null())
                    .col(ColumnDef::new(AuditLog::EntityType).string_len(32).null())
                    .col(ColumnDef::new(AuditLog::EntityId).string_len(64).null())
                    .col(ColumnDef::new(AuditLog::Changes).text().null())
                    .col(ColumnDef::new(AuditLog::Ip).string_len(64).null())
                    .col(ColumnDef::new(AuditLog::UserAgent).string_len(255).null())
                    .col(ColumnDef::new(AuditLog::RequestId).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_audit_log_organization_id_id", vec![AuditLog::OrganizationId, AuditLog::Id]),
            ("idx_audit_log_entity", vec![AuditLog::OrganizationId, AuditLog::EntityType, AuditLog::EntityId]),
            ("idx_audit_log_actor", vec![AuditLog::OrganizationId, AuditLog::ActorUserId]),
            ("idx_audit_log_occurred_at", vec![AuditLog::OrganizationId, AuditLog::OccurredAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditLog::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await
    }
}
