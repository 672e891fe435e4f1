//! Webhooks: the URLs an organization subscribes to events (their signing secret
//! encrypted), and every delivery of an event to one of them, with the outcome of
//! its last attempt (the delivery log).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE webhook_endpoints (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        url VARCHAR(500) NOT NULL,
        description VARCHAR(200) NOT NULL,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        disabled_reason VARCHAR(40) NULL,
        failing_since {TS} NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_webhook_endpoints_org ON webhook_endpoints (organization_id, id)",
    "CREATE TABLE webhook_deliveries (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event VARCHAR(60) NOT NULL,
        message_id VARCHAR(60) NOT NULL,
        payload TEXT NOT NULL,
        status VARCHAR(20) NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL CHECK (attempts >= 0),
        response_status INTEGER NULL,
        response_ms BIGINT NULL,
        last_error TEXT NULL,
        last_attempt_at {TS} NULL,
        delivered_at {TS} NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id)",
    "CREATE INDEX idx_webhook_deliveries_org ON webhook_deliveries (organization_id)",
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
        for table in ["webhook_deliveries", "webhook_endpoints"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
