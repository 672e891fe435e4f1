//! Background jobs (a durable queue in the application's database) and
//! notifications: in-app, e-mail and SMS deliveries, preferences and consents.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    // One row per job. `idempotency_key` makes enqueueing twice a no-op (scheduled
    // jobs use `schedule:<kind>:<period>`, so each period is queued once across instances).
    "CREATE TABLE jobs (
        id {ID},
        organization_id BIGINT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        kind VARCHAR(64) NOT NULL,
        payload TEXT NOT NULL,
        idempotency_key VARCHAR(200) NULL,
        status VARCHAR(16) NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
        run_at {TS} NOT NULL,
        locked_by VARCHAR(100) NULL,
        locked_until {TS} NULL,
        last_error TEXT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL,
        finished_at {TS} NULL
    )",
    "CREATE UNIQUE INDEX uq_jobs_idempotency_key ON jobs (idempotency_key)",
    // What workers claim: due queued jobs and expired leases.
    "CREATE INDEX idx_jobs_status_run_at ON jobs (status, run_at, id)",
    "CREATE INDEX idx_jobs_organization ON jobs (organization_id, status, id)",
    // A notification: what happened, for whom. With a user it is also in-app (the bell).
    "CREATE TABLE notifications (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        event VARCHAR(40) NOT NULL,
        user_id BIGINT NULL REFERENCES users (id) ON DELETE CASCADE,
        recipient VARCHAR(254) NOT NULL,
        title VARCHAR(300) NOT NULL,
        body TEXT NOT NULL,
        link VARCHAR(500) NULL,
        in_app BOOLEAN NOT NULL,
        created_at {TS} NOT NULL,
        read_at {TS} NULL
    )",
    "CREATE INDEX idx_notifications_user ON notifications (user_id, in_app, read_at, id)",
    "CREATE INDEX idx_notifications_organization ON notifications (organization_id, id)",
    // E-mails (the existing outbox) become the e-mail channel's deliveries.
    "ALTER TABLE email_outbox ADD COLUMN notification_id BIGINT NULL REFERENCES notifications (id) ON DELETE SET NULL",
    "ALTER TABLE email_outbox ADD COLUMN body_html TEXT NULL",
    "CREATE INDEX idx_email_outbox_notification ON email_outbox (notification_id)",
    "CREATE TABLE sms_outbox (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        notification_id BIGINT NULL REFERENCES notifications (id) ON DELETE SET NULL,
        to_phone VARCHAR(40) NOT NULL,
        body VARCHAR(640) NOT NULL,
        status VARCHAR(16) NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NULL,
        created_at {TS} NOT NULL,
        sent_at {TS} NULL
    )",
    "CREATE INDEX idx_sms_outbox_organization ON sms_outbox (organization_id, id)",
    "CREATE INDEX idx_sms_outbox_notification ON sms_outbox (notification_id)",
    // A user's choice for one event and channel; no row means the event's default.
    "CREATE TABLE notification_preferences (
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        event VARCHAR(40) NOT NULL,
        channel VARCHAR(8) NOT NULL CHECK (channel IN ('in_app', 'email', 'sms')),
        enabled BOOLEAN NOT NULL,
        updated_at {TS} NOT NULL,
        PRIMARY KEY (user_id, event, channel)
    )",
    // Consent of a contact (candidate, client) to e-mail or SMS: who recorded it and when.
    "CREATE TABLE contact_consents (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        channel VARCHAR(8) NOT NULL CHECK (channel IN ('email', 'sms')),
        address VARCHAR(254) NOT NULL,
        granted BOOLEAN NOT NULL,
        source VARCHAR(200) NOT NULL,
        recorded_by BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
        recorded_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_contact_consents_address ON contact_consents (organization_id, channel, address)",
    "CREATE INDEX idx_contact_consents_recorded_by ON contact_consents (recorded_by)",
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
        db.execute_unprepared("DROP INDEX idx_email_outbox_notification").await?;
        db.execute_unprepared("ALTER TABLE email_outbox DROP COLUMN body_html").await?;
        db.execute_unprepared("ALTER TABLE email_outbox DROP COLUMN notification_id").await?;
        for table in ["contact_consents", "notification_preferences", "sms_outbox", "notifications", "jobs"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
