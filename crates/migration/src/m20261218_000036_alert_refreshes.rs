//! The hourly alert refresh walks an organization's whole fleet once a day (its
//! local day), and in the other hours only the vehicles changed since its last
//! run: `maintenance_refreshes` remembers, per organization, the day of the last
//! full walk, when the last run started, and when its rules last changed (a rule
//! changed since the last run calls for a full walk); the vehicles changed since a
//! run are found by `(organization_id, updated_at)`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE maintenance_refreshes (
        organization_id BIGINT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        refreshed_on DATE NULL,
        checked_at {TS} NULL,
        rules_changed_at {TS} NULL
    )",
    "CREATE INDEX idx_vehicles_organization_updated ON vehicles (organization_id, updated_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let timestamp = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "TIMESTAMP WITH TIME ZONE",
            _ => "timestamp_with_timezone_text",
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{TS}", timestamp)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_vehicles_organization_updated").await?;
        db.execute_unprepared("DROP TABLE maintenance_refreshes").await?;
        Ok(())
    }
}
