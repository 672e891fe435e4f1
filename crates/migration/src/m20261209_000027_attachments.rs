//! Documents and photos attached to the business's objects (vehicles,
//! interventions, quotes, invoices, clients, candidates, instructors), the bytes
//! each organization stores (its quota, counted by one guarded UPDATE so two
//! uploads at once cannot pass it), the blobs waiting to be removed from the
//! object store once their rows are gone, and vehicle check-ins (état des lieux).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    // `owner_id` names a row of the owner's table: no foreign key (one column names
    // rows of seven tables); deleting an owner deletes its attachments in the same
    // transaction (its service asks the documents' one).
    "CREATE TABLE attachments (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        owner_kind VARCHAR(20) NOT NULL
            CHECK (owner_kind IN ('vehicle', 'intervention', 'quote', 'invoice', 'client', 'candidate', 'instructor')),
        owner_id BIGINT NOT NULL,
        kind VARCHAR(40) NOT NULL,
        title VARCHAR(200) NOT NULL,
        expires_on {DATE} NULL,
        content_type VARCHAR(60) NOT NULL,
        size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
        stored_bytes BIGINT NOT NULL CHECK (stored_bytes >= size_bytes),
        sha256 VARCHAR(64) NOT NULL,
        storage_key VARCHAR(200) NOT NULL,
        preview_key VARCHAR(200) NULL,
        thumbnail_key VARCHAR(200) NULL,
        width INTEGER NULL,
        height INTEGER NULL,
        encrypted BOOLEAN NOT NULL,
        original_name VARCHAR(255) NULL,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_attachments_storage_key ON attachments (storage_key)",
    "CREATE INDEX idx_attachments_owner ON attachments (organization_id, owner_kind, owner_id, id)",
    "CREATE INDEX idx_attachments_expiry ON attachments (organization_id, expires_on)",
    "CREATE INDEX idx_attachments_created_by ON attachments (created_by)",
    "CREATE TABLE storage_usage (
        organization_id BIGINT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        used_bytes BIGINT NOT NULL CHECK (used_bytes >= 0)
    )",
    // A blob whose row is gone: removed from the store by the cleanup job after a
    // grace period (a backup made just before still finds it).
    "CREATE TABLE blob_trash (
        storage_key VARCHAR(200) NOT NULL PRIMARY KEY,
        deleted_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_blob_trash_deleted_at ON blob_trash (deleted_at)",
    // One check-in per intervention: the vehicle as it entered the workshop.
    "CREATE TABLE vehicle_checkins (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        intervention_id BIGINT NOT NULL REFERENCES interventions (id) ON DELETE CASCADE,
        vehicle_id BIGINT NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
        mileage_km BIGINT NULL CHECK (mileage_km BETWEEN 0 AND 5000000),
        fuel_eighths INTEGER NULL CHECK (fuel_eighths BETWEEN 0 AND 8),
        damages TEXT NOT NULL,
        notes TEXT NULL,
        signed_by VARCHAR(120) NOT NULL,
        signature_attachment_id BIGINT NOT NULL,
        report_attachment_id BIGINT NULL,
        emailed_to VARCHAR(254) NULL,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_vehicle_checkins_intervention ON vehicle_checkins (intervention_id)",
    "CREATE INDEX idx_vehicle_checkins_vehicle ON vehicle_checkins (organization_id, vehicle_id)",
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
        for table in ["vehicle_checkins", "blob_trash", "storage_usage", "attachments"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
