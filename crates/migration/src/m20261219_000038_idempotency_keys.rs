//! `Idempotency-Key` on writes: each key a person sent with a write in the last
//! day, what the request was (a hash of its method, address and body) and the
//! answer it got (`status` is null while the request runs). The primary key is
//! the claim: two requests with one key cannot both run.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE idempotency_keys (
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        idempotency_key VARCHAR(255) NOT NULL,
        fingerprint CHAR(64) NOT NULL,
        status INTEGER NULL,
        headers TEXT NULL,
        body {BLOB} NULL,
        created_at {TS} NOT NULL,
        PRIMARY KEY (organization_id, user_id, idempotency_key)
    )",
    "CREATE INDEX idx_idempotency_keys_user ON idempotency_keys (user_id)",
    "CREATE INDEX idx_idempotency_keys_created ON idempotency_keys (created_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (timestamp, blob) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => ("TIMESTAMP WITH TIME ZONE", "BYTEA"),
            _ => ("timestamp_with_timezone_text", "BLOB"),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{TS}", timestamp).replace("{BLOB}", blob)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE idempotency_keys").await?;
        Ok(())
    }
}
