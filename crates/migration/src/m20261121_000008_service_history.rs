//! Workshop (seed 004): service history (interventions and their lines, mileage
//! readings) and maintenance (rules with organization defaults and per-vehicle
//! overrides, the alerts they raise, one per rule occurrence).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    // A vehicle's facts the workshop needs that the fleet does not keep.
    "CREATE TABLE vehicle_service_info (
        vehicle_id BIGINT NOT NULL PRIMARY KEY REFERENCES vehicles (id) ON DELETE CASCADE,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        first_registration {DATE} NULL,
        insurance_expiry {DATE} NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_vehicle_service_info_organization ON vehicle_service_info (organization_id)",
    "CREATE TABLE interventions (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        vehicle_id BIGINT NOT NULL REFERENCES vehicles (id) ON DELETE RESTRICT,
        client_id BIGINT NULL REFERENCES clients (id) ON DELETE SET NULL,
        quote_id BIGINT NULL REFERENCES quotes (id) ON DELETE SET NULL,
        performed_on {DATE} NOT NULL,
        mileage_km BIGINT NULL CHECK (mileage_km >= 0),
        description TEXT NOT NULL,
        technician VARCHAR(120) NULL,
        currency VARCHAR(3) NOT NULL,
        total_excl_minor BIGINT NOT NULL,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL
    )",
    // An accepted quote becomes one intervention, never two.
    "CREATE UNIQUE INDEX uq_interventions_quote ON interventions (quote_id)",
    "CREATE INDEX idx_interventions_vehicle ON interventions (vehicle_id, performed_on, id)",
    "CREATE INDEX idx_interventions_client ON interventions (client_id)",
    "CREATE INDEX idx_interventions_organization ON interventions (organization_id, performed_on, id)",
    "CREATE TABLE intervention_lines (
        id {ID},
        intervention_id BIGINT NOT NULL REFERENCES interventions (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('part', 'labour', 'other')),
        description VARCHAR(500) NOT NULL,
        quantity_milli BIGINT NOT NULL CHECK (quantity_milli > 0),
        unit VARCHAR(20) NULL,
        unit_price_e4 BIGINT NOT NULL,
        vat_rate_bp INTEGER NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
        discount_bp INTEGER NOT NULL CHECK (discount_bp BETWEEN 0 AND 10000),
        total_excl_minor BIGINT NOT NULL
    )",
    "CREATE INDEX idx_intervention_lines_intervention ON intervention_lines (intervention_id, position)",
    // Odometer readings; one lower than the previous is only accepted as a correction
    // (odometer replaced), from which the next readings count.
    "CREATE TABLE mileage_readings (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        vehicle_id BIGINT NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
        read_on {DATE} NOT NULL,
        mileage_km BIGINT NOT NULL CHECK (mileage_km >= 0),
        is_correction BOOLEAN NOT NULL,
        intervention_id BIGINT NULL REFERENCES interventions (id) ON DELETE SET NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_mileage_readings_vehicle ON mileage_readings (vehicle_id, read_on, id)",
    "CREATE INDEX idx_mileage_readings_intervention ON mileage_readings (intervention_id)",
    // Rules: vehicle_id NULL = the organization's default for `kind`; a row with a
    // vehicle overrides it for that vehicle.
    "CREATE TABLE maintenance_rules (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        vehicle_id BIGINT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
        kind VARCHAR(40) NOT NULL,
        name VARCHAR(120) NOT NULL,
        interval_km BIGINT NULL CHECK (interval_km > 0),
        interval_months INTEGER NULL CHECK (interval_months > 0),
        first_after_months INTEGER NULL CHECK (first_after_months > 0),
        due_on {DATE} NULL,
        due_km BIGINT NULL CHECK (due_km >= 0),
        active BOOLEAN NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE UNIQUE INDEX uq_maintenance_rules_default ON maintenance_rules (organization_id, kind) WHERE vehicle_id IS NULL",
    "CREATE UNIQUE INDEX uq_maintenance_rules_vehicle ON maintenance_rules (vehicle_id, kind) WHERE vehicle_id IS NOT NULL",
    // Which maintenance an intervention performed (resets those rules).
    "CREATE TABLE intervention_services (
        intervention_id BIGINT NOT NULL REFERENCES interventions (id) ON DELETE CASCADE,
        kind VARCHAR(40) NOT NULL,
        PRIMARY KEY (intervention_id, kind)
    )",
    "CREATE TABLE maintenance_alerts (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        vehicle_id BIGINT NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
        kind VARCHAR(40) NOT NULL,
        occurrence VARCHAR(80) NOT NULL,
        due_on {DATE} NULL,
        due_km BIGINT NULL,
        status VARCHAR(16) NOT NULL CHECK (status IN ('open', 'acknowledged', 'snoozed', 'resolved')),
        snoozed_until {DATE} NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL,
        resolved_at {TS} NULL
    )",
    // One alert per rule occurrence: re-running the computation cannot duplicate it.
    "CREATE UNIQUE INDEX uq_maintenance_alerts_occurrence ON maintenance_alerts (vehicle_id, kind, occurrence)",
    "CREATE INDEX idx_maintenance_alerts_organization ON maintenance_alerts (organization_id, status, id)",
    "CREATE INDEX idx_maintenance_alerts_due ON maintenance_alerts (organization_id, due_on)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The column types SeaQuery itself writes for each backend (SQLite keeps
        // dates and instants as text; the type names tell the driver how to read them).
        let (id, timestamp, date) = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
                ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "DATE")
            }
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
        for table in [
            "maintenance_alerts",
            "intervention_services",
            "maintenance_rules",
            "mileage_readings",
            "intervention_lines",
            "interventions",
            "vehicle_service_info",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
