//! Web Push: the devices a person chose to be notified on (a browser's push
//! subscription: the push service's address and the keys that encrypt for it),
//! and `push` beside in-app, e-mail and SMS in the notification preferences.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SUBSCRIPTIONS: &[&str] = &[
    // One row per browser: its endpoint is unique (a phone handed to someone else
    // and subscribed again becomes theirs).
    "CREATE TABLE push_subscriptions (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        endpoint VARCHAR(2048) NOT NULL,
        p256dh VARCHAR(200) NOT NULL,
        auth VARCHAR(100) NOT NULL,
        device VARCHAR(200) NOT NULL,
        created_at {TS} NOT NULL,
        last_sent_at {TS} NULL
    )",
    "CREATE UNIQUE INDEX uq_push_subscriptions_endpoint ON push_subscriptions (endpoint)",
    "CREATE INDEX idx_push_subscriptions_user ON push_subscriptions (user_id, id)",
    "CREATE INDEX idx_push_subscriptions_organization ON push_subscriptions (organization_id)",
];

/// SQLite cannot change a CHECK constraint: the table is made again.
const SQLITE_CHANNELS: &[&str] = &[
    "CREATE TABLE notification_preferences_v2 (
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        event VARCHAR(40) NOT NULL,
        channel VARCHAR(8) NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
        enabled BOOLEAN NOT NULL,
        updated_at timestamp_with_timezone_text NOT NULL,
        PRIMARY KEY (user_id, event, channel)
    )",
    "INSERT INTO notification_preferences_v2 (user_id, event, channel, enabled, updated_at) \
     SELECT user_id, event, channel, enabled, updated_at FROM notification_preferences",
    "DROP TABLE notification_preferences",
    "ALTER TABLE notification_preferences_v2 RENAME TO notification_preferences",
];

const POSTGRES_CHANNELS: &[&str] = &[
    "ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_channel_check",
    "ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_channel_check \
     CHECK (channel IN ('in_app', 'email', 'sms', 'push'))",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (id, timestamp, channels) = match backend {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", POSTGRES_CHANNELS),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text", SQLITE_CHANNELS),
        };
        let db = manager.get_connection();
        for sql in SUBSCRIPTIONS {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp)).await?;
        }
        // One call: the statements run on one connection, in order (a pool's other
        // connection could still see the old table while the new one is renamed).
        db.execute_unprepared(&channels.join(";\n")).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM notification_preferences WHERE channel = 'push'").await?;
        db.execute_unprepared("DROP TABLE push_subscriptions").await?;
        Ok(())
    }
}
