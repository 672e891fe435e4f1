//! Maps and weather (issue 23): where garages, clients and the school's meeting
//! points are (geocoded from their address or pinned by hand, with the
//! geocoder's answers cached), the school's meeting points, weather forecasts
//! cached per area, each lesson's weather risk and the school's thresholds.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    // The geocoder's answers, by normalized query: a miss is kept too (no
    // coordinates), so an address nobody can find is not asked again and again.
    "CREATE TABLE geocode_cache (
        query VARCHAR(600) PRIMARY KEY,
        latitude DOUBLE PRECISION NULL,
        longitude DOUBLE PRECISION NULL,
        label VARCHAR(600) NULL,
        fetched_at {TS} NOT NULL
    )",
    // Where a thing with an address is: one row per garage, client or meeting
    // point (`subject`, `subject_id`), written in the transaction that saves its
    // address, located later by the `geo.locate` job or pinned by hand.
    "CREATE TABLE places (
        subject VARCHAR(20) NOT NULL CHECK (subject IN ('garage', 'client', 'meeting_point')),
        subject_id BIGINT NOT NULL,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        address VARCHAR(600) NOT NULL,
        latitude DOUBLE PRECISION NULL CHECK (latitude BETWEEN -90 AND 90),
        longitude DOUBLE PRECISION NULL CHECK (longitude BETWEEN -180 AND 180),
        status VARCHAR(12) NOT NULL CHECK (status IN ('pending', 'located', 'pinned', 'not_found', 'unavailable')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try_at {TS} NOT NULL,
        updated_at {TS} NOT NULL,
        PRIMARY KEY (subject, subject_id),
        CHECK ((latitude IS NULL) = (longitude IS NULL)),
        CHECK ((status IN ('located', 'pinned')) = (latitude IS NOT NULL))
    )",
    "CREATE INDEX idx_places_organization ON places (organization_id, subject)",
    "CREATE INDEX idx_places_due ON places (next_try_at) WHERE status IN ('pending', 'unavailable')",
    "CREATE TABLE school_meeting_points (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        name VARCHAR(120) NOT NULL,
        name_key VARCHAR(120) NOT NULL,
        address VARCHAR(255) NOT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_school_meeting_points_name ON school_meeting_points (organization_id, name_key)",
    // Hourly forecasts of an area (coordinates rounded to a few kilometres), as
    // the weather service gave them: every lesson of the area reads the one copy.
    "CREATE TABLE weather_forecasts (
        area VARCHAR(40) PRIMARY KEY,
        latitude DOUBLE PRECISION NOT NULL,
        longitude DOUBLE PRECISION NOT NULL,
        hours TEXT NOT NULL,
        fetched_at {TS} NOT NULL
    )",
    "CREATE TABLE school_lesson_weather (
        lesson_id BIGINT PRIMARY KEY REFERENCES school_lessons (id) ON DELETE CASCADE,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        risk VARCHAR(8) NOT NULL CHECK (risk IN ('low', 'medium', 'high')),
        reasons VARCHAR(200) NOT NULL,
        precipitation_mm DOUBLE PRECISION NOT NULL,
        temperature_max_c DOUBLE PRECISION NOT NULL,
        temperature_min_c DOUBLE PRECISION NOT NULL,
        wind_gusts_kmh DOUBLE PRECISION NOT NULL,
        snowfall_cm DOUBLE PRECISION NOT NULL,
        forecast_at {TS} NOT NULL,
        assessed_at {TS} NOT NULL,
        notified_at {TS} NULL
    )",
    "CREATE INDEX idx_school_lesson_weather_organization ON school_lesson_weather (organization_id, risk)",
    "CREATE TABLE school_weather_settings (
        organization_id BIGINT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        enabled BOOLEAN NOT NULL,
        rain_medium_mm DOUBLE PRECISION NOT NULL,
        rain_high_mm DOUBLE PRECISION NOT NULL,
        heat_medium_c DOUBLE PRECISION NOT NULL,
        heat_high_c DOUBLE PRECISION NOT NULL,
        wind_medium_kmh DOUBLE PRECISION NOT NULL,
        wind_high_kmh DOUBLE PRECISION NOT NULL,
        snow_medium_cm DOUBLE PRECISION NOT NULL,
        snow_high_cm DOUBLE PRECISION NOT NULL,
        updated_at {TS} NOT NULL,
        CHECK (rain_medium_mm <= rain_high_mm AND heat_medium_c <= heat_high_c
               AND wind_medium_kmh <= wind_high_kmh AND snow_medium_cm <= snow_high_cm)
    )",
];

/// The garages and clients already there wait for the geocoder like new ones
/// (the `geo.locate` job's schedule takes them), their address written as the
/// application writes it.
const EXISTING: &[&str] = &[
    "INSERT INTO places (subject, subject_id, organization_id, address, status, attempts, next_try_at, updated_at)
     SELECT 'garage', id, organization_id,
            SUBSTR(address || CASE WHEN postal_code IS NULL AND city IS NULL THEN ''
                                   ELSE ', ' || TRIM(COALESCE(postal_code, '') || ' ' || COALESCE(city, '')) END, 1, 600),
            'pending', 0, updated_at, updated_at
     FROM garages",
    "INSERT INTO places (subject, subject_id, organization_id, address, status, attempts, next_try_at, updated_at)
     SELECT 'client', id, organization_id, SUBSTR(TRIM(address), 1, 600), 'pending', 0, updated_at, updated_at
     FROM clients WHERE address IS NOT NULL AND TRIM(address) <> ''",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, timestamp) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text"),
        };
        let db = manager.get_connection();
        for sql in TABLES {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp)).await?;
        }
        for sql in EXISTING {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "school_weather_settings",
            "school_lesson_weather",
            "weather_forecasts",
            "school_meeting_points",
            "places",
            "geocode_cache",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
