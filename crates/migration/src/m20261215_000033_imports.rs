//! Imports of clients, vehicles, candidates and instructors from a spreadsheet:
//! the file's description and progress, every row's result (for the check and for
//! the import), and what the import changed (to undo it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE imports (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        kind VARCHAR(20) NOT NULL,
        file_name VARCHAR(255) NOT NULL,
        file_key VARCHAR(255) NOT NULL,
        headers TEXT NOT NULL,
        sample TEXT NOT NULL,
        mapping TEXT NULL,
        options TEXT NULL,
        status VARCHAR(20) NOT NULL CHECK (status IN ('uploaded', 'checking', 'checked', 'importing', 'imported', 'undoing', 'undone', 'failed')),
        active BOOLEAN NOT NULL,
        job_id BIGINT NULL,
        total_rows BIGINT NOT NULL CHECK (total_rows >= 0),
        processed_rows BIGINT NOT NULL CHECK (processed_rows >= 0),
        created_rows BIGINT NOT NULL,
        updated_rows BIGINT NOT NULL,
        refused_rows BIGINT NOT NULL,
        undo_total BIGINT NOT NULL,
        undone_rows BIGINT NOT NULL,
        error TEXT NULL,
        locale VARCHAR(5) NOT NULL,
        created_by BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL,
        finished_at {TS} NULL
    )",
    "CREATE INDEX idx_imports_org ON imports (organization_id, id)",
    "CREATE INDEX idx_imports_created_by ON imports (created_by)",
    // One import at work per organization: checks, imports and undos never overlap.
    "CREATE UNIQUE INDEX uq_imports_one_active ON imports (organization_id) WHERE active",
    "CREATE TABLE import_results (
        id {ID},
        import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
        phase VARCHAR(10) NOT NULL CHECK (phase IN ('check', 'import')),
        line BIGINT NOT NULL,
        outcome VARCHAR(10) NOT NULL CHECK (outcome IN ('created', 'updated', 'unchanged', 'refused')),
        label VARCHAR(255) NOT NULL,
        reason TEXT NULL
    )",
    "CREATE INDEX idx_import_results_phase ON import_results (import_id, phase, line)",
    "CREATE INDEX idx_import_results_outcome ON import_results (import_id, phase, outcome, line)",
    "CREATE TABLE import_changes (
        import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
        entity VARCHAR(20) NOT NULL,
        entity_id BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        action VARCHAR(10) NOT NULL CHECK (action IN ('created', 'updated')),
        label VARCHAR(255) NOT NULL,
        previous TEXT NULL,
        stamp {TS} NOT NULL,
        PRIMARY KEY (import_id, entity, entity_id)
    )",
    "CREATE INDEX idx_import_changes_seq ON import_changes (import_id, seq)",
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
        for table in ["import_changes", "import_results", "imports"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
