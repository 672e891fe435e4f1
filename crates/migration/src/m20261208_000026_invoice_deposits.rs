//! Deposits (acomptes): an invoice may be a deposit invoice asked on an accepted
//! quote, and the quote's final invoice deducts each deposit once by lines of
//! negative quantity that name it (EN 16931 keeps prices positive, BR-27). A line
//! may therefore be negative only when it deducts a deposit; `is_deposit` is
//! frozen with the rest of an issued invoice's content. Invoices also keep the
//! garage they belong to, for each garage's cash report.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Migration 024's frozen columns and the new one.
const FROZEN_COLUMNS: &str = "organization_id, kind, status, number, year, sequence, customer_kind, customer_id, \
    buyer_name, buyer_address, buyer_email, buyer_tax_id, buyer_is_business, vehicle_label, source_kind, source_id, \
    credited_invoice_id, issue_date, service_date, due_date, currency, notes, payment_terms, \
    late_penalty_rate_bp, vat_exempt, seller_name, seller_address, seller_registration, seller_vat_number, \
    mentions, total_excl_minor, total_vat_minor, total_incl_minor, issued_at, issued_by, is_deposit";

/// Migration 024's frozen columns, for `down`.
const FROZEN_BEFORE: &str = "organization_id, kind, status, number, year, sequence, customer_kind, customer_id, \
    buyer_name, buyer_address, buyer_email, buyer_tax_id, buyer_is_business, vehicle_label, source_kind, source_id, \
    credited_invoice_id, issue_date, service_date, due_date, currency, notes, payment_terms, \
    late_penalty_rate_bp, vat_exempt, seller_name, seller_address, seller_registration, seller_vat_number, \
    mentions, total_excl_minor, total_vat_minor, total_incl_minor, issued_at, issued_by";

const LINE_CHECK: &str = "CHECK (quantity_milli > 0 OR (quantity_milli < 0 AND deposit_invoice_id IS NOT NULL))";

const COMMON: &[&str] = &[
    "ALTER TABLE invoices ADD COLUMN is_deposit BOOLEAN NOT NULL DEFAULT FALSE",
    // The garage whose work or vehicle is invoiced (its counter takes the payment):
    // copied when drafted, so a vehicle moved later leaves the day's cash where it was.
    // No foreign key (a dropped column must not be one in SQLite); a garage deleted reads as none.
    "ALTER TABLE invoices ADD COLUMN garage_id BIGINT NULL",
    "CREATE INDEX idx_invoices_garage ON invoices (organization_id, garage_id)",
    "UPDATE invoices SET garage_id = (SELECT v.garage_id FROM vehicles v WHERE v.id = invoices.vehicle_id) \
        WHERE vehicle_id IS NOT NULL",
    // One row per deposit invoice: the quote it was asked on, its place among that
    // quote's deposits (two asked at once cannot both pass the quote's total), and
    // the invoice deducting it (a draft deleted frees it).
    "CREATE TABLE invoice_deposits (
        deposit_invoice_id BIGINT NOT NULL PRIMARY KEY REFERENCES invoices (id) ON DELETE CASCADE,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        quote_id BIGINT NOT NULL,
        position INTEGER NOT NULL CHECK (position > 0),
        percent_bp INTEGER NOT NULL CHECK (percent_bp BETWEEN 1 AND 10000),
        deducted_in_invoice_id BIGINT NULL REFERENCES invoices (id) ON DELETE SET NULL
    )",
    "CREATE UNIQUE INDEX uq_invoice_deposits_position ON invoice_deposits (organization_id, quote_id, position)",
    "CREATE INDEX idx_invoice_deposits_deducted ON invoice_deposits (deducted_in_invoice_id)",
];

const SQLITE: &[&str] = &[
    // SQLite cannot change a CHECK: the lines' table is rebuilt (its triggers with it).
    "CREATE TABLE invoice_lines_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('part', 'labour', 'other')),
        description TEXT NOT NULL,
        quantity_milli BIGINT NOT NULL,
        unit VARCHAR(20) NULL,
        unit_price_e4 BIGINT NOT NULL CHECK (unit_price_e4 >= 0),
        vat_rate_bp INTEGER NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
        discount_bp INTEGER NOT NULL CHECK (discount_bp BETWEEN 0 AND 10000),
        total_excl_minor BIGINT NOT NULL,
        deposit_invoice_id BIGINT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
        {LINE_CHECK}
    )",
    "INSERT INTO invoice_lines_new (id, invoice_id, position, kind, description, quantity_milli, unit, unit_price_e4, \
        vat_rate_bp, discount_bp, total_excl_minor) \
     SELECT id, invoice_id, position, kind, description, quantity_milli, unit, unit_price_e4, vat_rate_bp, \
        discount_bp, total_excl_minor FROM invoice_lines",
    "DROP TABLE invoice_lines",
    "ALTER TABLE invoice_lines_new RENAME TO invoice_lines",
    "CREATE UNIQUE INDEX uq_invoice_lines_position ON invoice_lines (invoice_id, position)",
    "CREATE INDEX idx_invoice_lines_deposit ON invoice_lines (deposit_invoice_id)",
    "CREATE TRIGGER invoice_lines_frozen_insert BEFORE INSERT ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoice_lines_frozen_update BEFORE UPDATE ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
            OR (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoice_lines_frozen_delete BEFORE DELETE ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "DROP TRIGGER invoices_frozen",
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF {FROZEN} ON invoices
        WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
];

const POSTGRES: &[&str] = &[
    "ALTER TABLE invoice_lines ADD COLUMN deposit_invoice_id BIGINT NULL REFERENCES invoices (id) ON DELETE RESTRICT",
    "ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_quantity_milli_check",
    "ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_quantity_check {LINE_CHECK}",
    "CREATE INDEX idx_invoice_lines_deposit ON invoice_lines (deposit_invoice_id)",
    "DROP TRIGGER invoices_frozen ON invoices",
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF {FROZEN} ON invoices
        FOR EACH ROW WHEN (OLD.status = 'issued') EXECUTE FUNCTION billing_immutable('issued invoices')",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TABLE invoice_deposits",
    "DROP INDEX idx_invoices_garage",
    "ALTER TABLE invoices DROP COLUMN garage_id",
    "CREATE TABLE invoice_lines_old (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('part', 'labour', 'other')),
        description TEXT NOT NULL,
        quantity_milli BIGINT NOT NULL CHECK (quantity_milli > 0),
        unit VARCHAR(20) NULL,
        unit_price_e4 BIGINT NOT NULL CHECK (unit_price_e4 >= 0),
        vat_rate_bp INTEGER NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
        discount_bp INTEGER NOT NULL CHECK (discount_bp BETWEEN 0 AND 10000),
        total_excl_minor BIGINT NOT NULL
    )",
    "INSERT INTO invoice_lines_old (id, invoice_id, position, kind, description, quantity_milli, unit, unit_price_e4, \
        vat_rate_bp, discount_bp, total_excl_minor) \
     SELECT id, invoice_id, position, kind, description, quantity_milli, unit, unit_price_e4, vat_rate_bp, \
        discount_bp, total_excl_minor FROM invoice_lines",
    "DROP TABLE invoice_lines",
    "ALTER TABLE invoice_lines_old RENAME TO invoice_lines",
    "CREATE UNIQUE INDEX uq_invoice_lines_position ON invoice_lines (invoice_id, position)",
    "CREATE TRIGGER invoice_lines_frozen_insert BEFORE INSERT ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoice_lines_frozen_update BEFORE UPDATE ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
            OR (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoice_lines_frozen_delete BEFORE DELETE ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "DROP TRIGGER invoices_frozen",
    "ALTER TABLE invoices DROP COLUMN is_deposit",
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF {FROZEN} ON invoices
        WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TABLE invoice_deposits",
    "DROP INDEX idx_invoices_garage",
    "ALTER TABLE invoices DROP COLUMN garage_id",
    "ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_quantity_check",
    "ALTER TABLE invoice_lines DROP COLUMN deposit_invoice_id",
    "ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_quantity_milli_check CHECK (quantity_milli > 0)",
    "DROP TRIGGER invoices_frozen ON invoices",
    "ALTER TABLE invoices DROP COLUMN is_deposit",
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF {FROZEN} ON invoices
        FOR EACH ROW WHEN (OLD.status = 'issued') EXECUTE FUNCTION billing_immutable('issued invoices')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let specific = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        // One batch, run on one connection: a pooled SQLite connection could
        // otherwise prepare the rename against its cached schema, still holding the
        // table just dropped on another.
        let batch = COMMON.iter().chain(specific).copied().collect::<Vec<_>>().join(";\n");
        let batch = batch.replace("{FROZEN}", FROZEN_COLUMNS).replace("{LINE_CHECK}", LINE_CHECK);
        manager.get_connection().execute_unprepared(&batch).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Refused by the lines' old check while a deduction (a negative line) exists.
        let specific = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        let batch = specific.join(";\n").replace("{FROZEN}", FROZEN_BEFORE);
        manager.get_connection().execute_unprepared(&batch).await?;
        Ok(())
    }
}
