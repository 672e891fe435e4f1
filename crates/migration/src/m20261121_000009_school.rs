//! Driving school (seed 003): settings, instructors and their availability,
//! training vehicles, candidates (sensitive fields encrypted by the application),
//! lessons, exam sessions, registrations and results.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE school_settings (
        organization_id BIGINT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        daily_limit_minutes INTEGER NOT NULL CHECK (daily_limit_minutes > 0),
        cancellation_notice_hours INTEGER NOT NULL CHECK (cancellation_notice_hours >= 0),
        min_driving_minutes_for_exam INTEGER NOT NULL CHECK (min_driving_minutes_for_exam >= 0),
        four_eyes BOOLEAN NOT NULL,
        candidates_may_book BOOLEAN NOT NULL,
        last_candidate_number BIGINT NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE TABLE school_instructors (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        user_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
        first_name VARCHAR(100) NOT NULL,
        last_name VARCHAR(100) NOT NULL,
        email VARCHAR(254) NULL,
        phone VARCHAR(40) NULL,
        licence_number VARCHAR(40) NOT NULL,
        categories VARCHAR(60) NOT NULL,
        active BOOLEAN NOT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_school_instructors_user ON school_instructors (user_id)",
    "CREATE UNIQUE INDEX uq_school_instructors_licence ON school_instructors (organization_id, licence_number)",
    "CREATE INDEX idx_school_instructors_organization ON school_instructors (organization_id, last_name, id)",
    // Weekly availability in the organization's local time: ISO weekday 1 (Monday) to 7.
    "CREATE TABLE school_availability (
        id {ID},
        instructor_id BIGINT NOT NULL REFERENCES school_instructors (id) ON DELETE CASCADE,
        weekday SMALLINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
        start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
        end_minute INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
        CHECK (start_minute < end_minute)
    )",
    "CREATE INDEX idx_school_availability_instructor ON school_availability (instructor_id, weekday)",
    "CREATE TABLE school_days_off (
        instructor_id BIGINT NOT NULL REFERENCES school_instructors (id) ON DELETE CASCADE,
        day {DATE} NOT NULL,
        reason VARCHAR(200) NULL,
        PRIMARY KEY (instructor_id, day)
    )",
    // Fleet vehicles the school teaches with.
    "CREATE TABLE school_vehicles (
        vehicle_id BIGINT NOT NULL PRIMARY KEY REFERENCES vehicles (id) ON DELETE CASCADE,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        category VARCHAR(4) NOT NULL,
        dual_controls BOOLEAN NOT NULL,
        active BOOLEAN NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_vehicles_organization ON school_vehicles (organization_id, vehicle_id)",
    // Identity document, birth date and address are ciphertexts (`v1:<key>:<hex>`).
    "CREATE TABLE school_candidates (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        user_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
        number VARCHAR(20) NOT NULL,
        first_name VARCHAR(100) NOT NULL,
        last_name VARCHAR(100) NOT NULL,
        search_name VARCHAR(210) NOT NULL,
        email VARCHAR(254) NULL,
        phone VARCHAR(40) NULL,
        category VARCHAR(4) NOT NULL,
        registered_on {DATE} NOT NULL,
        theory_status VARCHAR(16) NOT NULL CHECK (theory_status IN ('not_started', 'in_progress', 'passed')),
        forecast_minutes INTEGER NULL CHECK (forecast_minutes >= 0),
        bought_minutes INTEGER NOT NULL CHECK (bought_minutes >= 0),
        instructor_id BIGINT NULL REFERENCES school_instructors (id) ON DELETE SET NULL,
        id_document_enc TEXT NULL,
        birth_date_enc TEXT NULL,
        address_enc TEXT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_school_candidates_number ON school_candidates (organization_id, number)",
    "CREATE UNIQUE INDEX uq_school_candidates_user ON school_candidates (user_id)",
    "CREATE INDEX idx_school_candidates_search ON school_candidates (organization_id, search_name, id)",
    "CREATE INDEX idx_school_candidates_instructor ON school_candidates (instructor_id)",
    "CREATE TABLE school_lessons (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        instructor_id BIGINT NOT NULL REFERENCES school_instructors (id) ON DELETE RESTRICT,
        vehicle_id BIGINT NULL REFERENCES vehicles (id) ON DELETE RESTRICT,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('driving', 'theory', 'mock_exam')),
        starts_at {TS} NOT NULL,
        ends_at {TS} NOT NULL,
        minutes INTEGER NOT NULL CHECK (minutes > 0),
        meeting_point VARCHAR(200) NULL,
        status VARCHAR(16) NOT NULL CHECK (status IN ('scheduled', 'done', 'cancelled', 'no_show')),
        cancelled_at {TS} NULL,
        cancellation_reason VARCHAR(500) NULL,
        late_cancellation BOOLEAN NOT NULL,
        notes TEXT NULL,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_lessons_instructor ON school_lessons (instructor_id, starts_at)",
    "CREATE INDEX idx_school_lessons_vehicle ON school_lessons (vehicle_id, starts_at)",
    "CREATE INDEX idx_school_lessons_candidate ON school_lessons (candidate_id, starts_at)",
    "CREATE INDEX idx_school_lessons_organization ON school_lessons (organization_id, starts_at)",
    "CREATE TABLE school_exam_sessions (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('theory', 'practical')),
        starts_at {TS} NOT NULL,
        centre VARCHAR(200) NOT NULL,
        seats INTEGER NOT NULL CHECK (seats > 0),
        created_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_exam_sessions_organization ON school_exam_sessions (organization_id, starts_at)",
    "CREATE TABLE school_exam_registrations (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        session_id BIGINT NOT NULL REFERENCES school_exam_sessions (id) ON DELETE RESTRICT,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        registered_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_school_exam_registrations ON school_exam_registrations (session_id, candidate_id)",
    "CREATE INDEX idx_school_exam_registrations_candidate ON school_exam_registrations (candidate_id)",
    // A result is final once validated; with four-eyes the validator is not the
    // person who entered it. A correction is a new row naming the one it corrects.
    "CREATE TABLE school_exam_results (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        registration_id BIGINT NULL REFERENCES school_exam_registrations (id) ON DELETE SET NULL,
        exam_type VARCHAR(16) NOT NULL CHECK (exam_type IN ('theory', 'practical', 'final')),
        outcome VARCHAR(16) NOT NULL CHECK (outcome IN ('passed', 'failed')),
        score INTEGER NULL CHECK (score BETWEEN 0 AND 1000),
        notes TEXT NULL,
        taken_on {DATE} NOT NULL,
        instructor_id BIGINT NULL REFERENCES school_instructors (id) ON DELETE SET NULL,
        entered_by BIGINT NOT NULL,
        entered_at {TS} NOT NULL,
        four_eyes BOOLEAN NOT NULL,
        validated_by BIGINT NULL,
        validated_at {TS} NULL,
        corrects_id BIGINT NULL REFERENCES school_exam_results (id) ON DELETE RESTRICT,
        CHECK (NOT four_eyes OR validated_by IS NULL OR validated_by <> entered_by),
        CHECK ((validated_by IS NULL) = (validated_at IS NULL))
    )",
    "CREATE INDEX idx_school_exam_results_candidate ON school_exam_results (candidate_id, id)",
    "CREATE INDEX idx_school_exam_results_organization ON school_exam_results (organization_id, id)",
    "CREATE INDEX idx_school_exam_results_instructor ON school_exam_results (instructor_id)",
    "CREATE UNIQUE INDEX uq_school_exam_results_corrects ON school_exam_results (corrects_id)",
];

/// A validated result cannot change or disappear, whatever writes to the table.
const SQLITE_IMMUTABLE: &[&str] = &[
    "CREATE TRIGGER school_exam_results_frozen BEFORE UPDATE ON school_exam_results
        WHEN OLD.validated_at IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'validated exam results are immutable'); END",
    "CREATE TRIGGER school_exam_results_kept BEFORE DELETE ON school_exam_results
        WHEN OLD.validated_at IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'validated exam results are immutable'); END",
];

const POSTGRES_IMMUTABLE: &[&str] = &[
    "CREATE FUNCTION school_exam_results_frozen() RETURNS trigger AS $$
        BEGIN
            IF OLD.validated_at IS NOT NULL THEN
                RAISE EXCEPTION 'validated exam results are immutable';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER school_exam_results_frozen BEFORE UPDATE OR DELETE ON school_exam_results
        FOR EACH ROW EXECUTE FUNCTION school_exam_results_frozen()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (id, timestamp, date, immutable) = match backend {
            DatabaseBackend::Postgres => {
                ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "DATE", POSTGRES_IMMUTABLE)
            }
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text", "date_text", SQLITE_IMMUTABLE),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp).replace("{DATE}", date)).await?;
        }
        for sql in immutable {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "school_exam_results",
            "school_exam_registrations",
            "school_exam_sessions",
            "school_lessons",
            "school_candidates",
            "school_vehicles",
            "school_days_off",
            "school_availability",
            "school_instructors",
            "school_settings",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION school_exam_results_frozen()").await?;
        }
        Ok(())
    }
}
