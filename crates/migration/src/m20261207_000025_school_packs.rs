//! A driving school's packs (e.g. 20 hours of driving and the code) and the
//! packs sold to each candidate. A sale is invoiced by billing in the same
//! transaction (its invoice id kept here) and adds its minutes to the hours the
//! candidate has bought; cancelling it credits the invoice and takes them back.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE school_packs (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        name VARCHAR(120) NOT NULL,
        description TEXT NULL,
        driving_minutes INTEGER NOT NULL CHECK (driving_minutes BETWEEN 0 AND 60000),
        unit_price_e4 BIGINT NOT NULL CHECK (unit_price_e4 >= 0),
        vat_rate_bp INTEGER NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
        active BOOLEAN NOT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_school_packs_name ON school_packs (organization_id, name)",
    "CREATE TABLE school_pack_sales (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        pack_id BIGINT NULL REFERENCES school_packs (id) ON DELETE RESTRICT,
        label VARCHAR(200) NOT NULL,
        minutes INTEGER NOT NULL CHECK (minutes >= 0),
        invoice_id BIGINT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
        instalments INTEGER NOT NULL CHECK (instalments BETWEEN 1 AND 12),
        sold_on {DATE} NOT NULL,
        sold_by BIGINT NULL,
        cancelled_at {TS} NULL,
        credit_note_id BIGINT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
        idempotency_key VARCHAR(64) NULL,
        created_at {TS} NOT NULL
    )",
    // A sale sent twice (a double click, a retried call) with the same key is made once.
    "CREATE UNIQUE INDEX uq_school_pack_sales_key ON school_pack_sales (organization_id, idempotency_key)",
    "CREATE INDEX idx_school_pack_sales_candidate ON school_pack_sales (organization_id, candidate_id, id)",
    "CREATE INDEX idx_school_pack_sales_pack ON school_pack_sales (pack_id)",
    "CREATE UNIQUE INDEX uq_school_pack_sales_invoice ON school_pack_sales (invoice_id)",
    "CREATE INDEX idx_school_pack_sales_credit_note ON school_pack_sales (credit_note_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, timestamp, date) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "DATE"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text", "date_text"),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp).replace("{DATE}", date)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["school_pack_sales", "school_packs"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
