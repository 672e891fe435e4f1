//! Restore drills: each run of the scheduled (or asked) restore of the newest
//! backup into a scratch database, its outcome and what it checked.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    // The platform's, not an organization's: no organization_id.
    "CREATE TABLE restore_drills (
        id {ID},
        started_at {TS} NOT NULL,
        finished_at {TS} NOT NULL,
        backup_file VARCHAR(200) NULL,
        succeeded BOOLEAN NOT NULL,
        detail TEXT NOT NULL,
        tables_checked INTEGER NOT NULL,
        rows_checked BIGINT NOT NULL
    )",
    "CREATE INDEX idx_restore_drills_finished ON restore_drills (finished_at)",
    "CREATE INDEX idx_restore_drills_succeeded ON restore_drills (succeeded, finished_at)",
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
        manager.get_connection().execute_unprepared("DROP TABLE restore_drills").await?;
        Ok(())
    }
}
