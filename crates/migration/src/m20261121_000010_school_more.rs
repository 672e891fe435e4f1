//! Driving school, continued: lesson reminders, the price of a driving hour,
//! calendar feeds, progress on the competency grid, messaging, and reports made
//! in the background.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    // Set once the day-before reminder is queued (idempotent across instances).
    "ALTER TABLE school_lessons ADD COLUMN reminder_sent_at {TS} NULL",
    "CREATE INDEX idx_school_lessons_reminder ON school_lessons (status, starts_at)",
    // Work under way: the vehicle is in the workshop until the intervention is completed.
    "ALTER TABLE interventions ADD COLUMN in_progress BOOLEAN NOT NULL DEFAULT FALSE",
    "CREATE INDEX idx_interventions_in_progress ON interventions (vehicle_id, in_progress)",
    // One driving hour's price, in the currency's minor unit (reports: revenue).
    "ALTER TABLE school_settings ADD COLUMN hour_price_minor BIGINT NOT NULL DEFAULT 0",
    // Private iCalendar feeds: the URL's secret is the credential, stored as SHA-256.
    "CREATE TABLE school_calendar_feeds (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        instructor_id BIGINT NULL REFERENCES school_instructors (id) ON DELETE CASCADE,
        candidate_id BIGINT NULL REFERENCES school_candidates (id) ON DELETE CASCADE,
        token_hash VARCHAR(64) NOT NULL,
        created_at {TS} NOT NULL,
        revoked_at {TS} NULL,
        CHECK ((instructor_id IS NULL) <> (candidate_id IS NULL))
    )",
    "CREATE UNIQUE INDEX uq_school_calendar_feeds_token ON school_calendar_feeds (token_hash)",
    "CREATE INDEX idx_school_calendar_feeds_instructor ON school_calendar_feeds (instructor_id)",
    "CREATE INDEX idx_school_calendar_feeds_candidate ON school_calendar_feeds (candidate_id)",
    // Progress on the competency grid: every assessment is kept; the latest per item counts.
    "CREATE TABLE school_progress (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE CASCADE,
        lesson_id BIGINT NULL REFERENCES school_lessons (id) ON DELETE SET NULL,
        item VARCHAR(8) NOT NULL,
        level SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 3),
        comment VARCHAR(1000) NULL,
        recorded_by BIGINT NULL,
        recorded_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_progress_candidate ON school_progress (candidate_id, item, id)",
    "CREATE INDEX idx_school_progress_lesson ON school_progress (lesson_id)",
    // Messaging between a candidate and the school.
    "CREATE TABLE school_threads (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        subject VARCHAR(200) NOT NULL,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL,
        last_message_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_threads_candidate ON school_threads (candidate_id, last_message_at)",
    "CREATE INDEX idx_school_threads_organization ON school_threads (organization_id, last_message_at)",
    "CREATE TABLE school_messages (
        id {ID},
        thread_id BIGINT NOT NULL REFERENCES school_threads (id) ON DELETE CASCADE,
        author_user_id BIGINT NULL,
        author_name VARCHAR(120) NOT NULL,
        from_candidate BOOLEAN NOT NULL,
        body TEXT NOT NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_messages_thread ON school_messages (thread_id, id)",
    "CREATE TABLE school_thread_reads (
        thread_id BIGINT NOT NULL REFERENCES school_threads (id) ON DELETE CASCADE,
        user_id BIGINT NOT NULL,
        last_read_id BIGINT NOT NULL,
        PRIMARY KEY (thread_id, user_id)
    )",
    // Reports produced in the background, downloadable when ready.
    "CREATE TABLE school_reports (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        kind VARCHAR(32) NOT NULL,
        format VARCHAR(8) NOT NULL CHECK (format IN ('csv', 'xlsx', 'pdf')),
        period_from {DATE} NOT NULL,
        period_to {DATE} NOT NULL,
        status VARCHAR(16) NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
        requested_by BIGINT NULL,
        created_at {TS} NOT NULL,
        finished_at {TS} NULL,
        file_name VARCHAR(200) NULL,
        content_type VARCHAR(100) NULL,
        content {BLOB} NULL,
        error VARCHAR(500) NULL
    )",
    "CREATE INDEX idx_school_reports_organization ON school_reports (organization_id, id)",
    "CREATE INDEX idx_school_reports_status ON school_reports (status, id)",
    // A person's notices, listed in their space (candidate portal).
    "CREATE INDEX idx_email_outbox_recipient ON email_outbox (organization_id, to_address, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, timestamp, date, blob) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "DATE", "BYTEA"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text", "date_text", "BLOB"),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            let sql =
                sql.replace("{ID}", id).replace("{TS}", timestamp).replace("{DATE}", date).replace("{BLOB}", blob);
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "school_reports",
            "school_thread_reads",
            "school_messages",
            "school_threads",
            "school_progress",
            "school_calendar_feeds",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        db.execute_unprepared("DROP INDEX idx_school_lessons_reminder").await?;
        db.execute_unprepared("DROP INDEX idx_email_outbox_recipient").await?;
        db.execute_unprepared("DROP INDEX idx_interventions_in_progress").await?;
        db.execute_unprepared("ALTER TABLE interventions DROP COLUMN in_progress").await?;
        db.execute_unprepared("ALTER TABLE school_lessons DROP COLUMN reminder_sent_at").await?;
        db.execute_unprepared("ALTER TABLE school_settings DROP COLUMN hour_price_minor").await?;
        Ok(())
    }
}
