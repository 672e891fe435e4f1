//! Two-factor sign-in (TOTP, RFC 6238): each user's secret (encrypted at rest,
//! confirmed once a first code from the app matched; the last time step accepted,
//! so a code cannot be used twice), their recovery codes (hashed, each usable
//! once), an organization's rule that its administrators and managers must use it,
//! and the codes tried on a sign-in waiting for one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE user_two_factor (
        user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        confirmed_at {TS} NULL,
        last_step BIGINT NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE TABLE recovery_codes (
        id {ID},
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash VARCHAR(64) NOT NULL,
        used_at {TS} NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_recovery_codes_user_hash ON recovery_codes (user_id, code_hash)",
    "ALTER TABLE organizations ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE",
    // A sign-in waiting for its code counts the codes tried: a few, then it ends.
    "ALTER TABLE sessions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, timestamp) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text"),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE sessions DROP COLUMN attempts").await?;
        db.execute_unprepared("ALTER TABLE organizations DROP COLUMN require_two_factor").await?;
        for table in ["recovery_codes", "user_two_factor"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
