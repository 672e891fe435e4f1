//! Billing: invoices and credit notes with their lines, their numbering counters,
//! the organization's billing settings, and payments.
//!
//! The French rules are held by the database: an issued invoice's content and its
//! lines never change and are never deleted (triggers), numbers are unique per
//! organization, kind and year, and a payment, once recorded, is never altered
//! (a mistake is corrected by a refund entry).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE billing_settings (
        organization_id BIGINT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        invoice_number_format VARCHAR(60) NOT NULL,
        credit_note_number_format VARCHAR(60) NOT NULL,
        payment_terms_days INTEGER NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
        payment_terms TEXT NULL,
        late_penalty_rate_bp INTEGER NOT NULL CHECK (late_penalty_rate_bp BETWEEN 0 AND 10000),
        vat_exempt BOOLEAN NOT NULL,
        mentions TEXT NULL,
        reminder_days VARCHAR(60) NOT NULL,
        sales_account VARCHAR(20) NOT NULL,
        vat_account VARCHAR(20) NOT NULL,
        customer_account VARCHAR(20) NOT NULL,
        bank_account VARCHAR(20) NOT NULL,
        cash_account VARCHAR(20) NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE TABLE invoice_counters (
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
        year INTEGER NOT NULL,
        last_number BIGINT NOT NULL CHECK (last_number > 0),
        PRIMARY KEY (organization_id, kind, year)
    )",
    "CREATE TABLE invoices (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
        status VARCHAR(16) NOT NULL CHECK (status IN ('draft', 'issued')),
        number VARCHAR(60) NULL,
        year INTEGER NULL,
        sequence BIGINT NULL,
        customer_kind VARCHAR(16) NOT NULL CHECK (customer_kind IN ('client', 'candidate')),
        customer_id BIGINT NOT NULL,
        buyer_name VARCHAR(300) NOT NULL,
        buyer_address TEXT NULL,
        buyer_email VARCHAR(254) NULL,
        buyer_tax_id VARCHAR(60) NULL,
        buyer_is_business BOOLEAN NOT NULL,
        vehicle_id BIGINT NULL REFERENCES vehicles (id) ON DELETE SET NULL,
        vehicle_label VARCHAR(200) NULL,
        source_kind VARCHAR(16) NULL CHECK (source_kind IN ('quote', 'intervention', 'pack_sale')),
        source_id BIGINT NULL,
        credited_invoice_id BIGINT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
        issue_date {DATE} NULL,
        service_date {DATE} NULL,
        due_date {DATE} NULL,
        currency VARCHAR(3) NOT NULL,
        notes TEXT NULL,
        payment_terms TEXT NULL,
        late_penalty_rate_bp INTEGER NOT NULL,
        vat_exempt BOOLEAN NOT NULL,
        seller_name VARCHAR(200) NULL,
        seller_address TEXT NULL,
        seller_registration VARCHAR(60) NULL,
        seller_vat_number VARCHAR(60) NULL,
        mentions TEXT NULL,
        total_excl_minor BIGINT NOT NULL,
        total_vat_minor BIGINT NOT NULL,
        total_incl_minor BIGINT NOT NULL,
        issued_at {TS} NULL,
        issued_by BIGINT NULL,
        share_token_hash VARCHAR(64) NULL,
        share_expires_at {TS} NULL,
        sent_at {TS} NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL,
        CHECK ((source_kind IS NULL) = (source_id IS NULL)),
        CHECK ((kind = 'credit_note') = (credited_invoice_id IS NOT NULL)),
        CHECK (status = 'draft' OR (number IS NOT NULL AND year IS NOT NULL AND sequence IS NOT NULL
            AND issue_date IS NOT NULL AND due_date IS NOT NULL AND issued_at IS NOT NULL
            AND seller_name IS NOT NULL)),
        CHECK (status = 'issued' OR (number IS NULL AND sequence IS NULL)),
        CHECK (total_excl_minor >= 0 AND total_vat_minor >= 0 AND total_incl_minor >= 0)
    )",
    "CREATE UNIQUE INDEX uq_invoices_sequence ON invoices (organization_id, kind, year, sequence)",
    "CREATE UNIQUE INDEX uq_invoices_number ON invoices (organization_id, kind, number)",
    // A quote or an intervention is invoiced once (a double click makes one invoice).
    "CREATE UNIQUE INDEX uq_invoices_source ON invoices (organization_id, source_kind, source_id)
        WHERE kind = 'invoice'",
    "CREATE INDEX idx_invoices_organization ON invoices (organization_id, id)",
    "CREATE INDEX idx_invoices_customer ON invoices (organization_id, customer_kind, customer_id, id)",
    "CREATE INDEX idx_invoices_due ON invoices (organization_id, status, due_date, id)",
    // An invoice is corrected by one credit note of its whole amount.
    "CREATE UNIQUE INDEX uq_invoices_credited ON invoices (credited_invoice_id)",
    "CREATE INDEX idx_invoices_vehicle ON invoices (vehicle_id)",
    "CREATE UNIQUE INDEX uq_invoices_share ON invoices (share_token_hash)",
    "CREATE TABLE invoice_lines (
        id {ID},
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
    "CREATE UNIQUE INDEX uq_invoice_lines_position ON invoice_lines (invoice_id, position)",
    // The reminders sent for an unpaid invoice, one per step (days after the due
    // date): a step is sent once, whatever the number of workers.
    "CREATE TABLE invoice_reminders (
        invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
        days_after_due INTEGER NOT NULL,
        sent_at {TS} NOT NULL,
        email_id BIGINT NULL,
        PRIMARY KEY (invoice_id, days_after_due)
    )",
    // An invoice paid in instalments: its schedule, printed on it and frozen with
    // it; `reminded_at` is claimed by one worker when an instalment falls due unpaid.
    "CREATE TABLE invoice_instalments (
        invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
        position INTEGER NOT NULL CHECK (position > 0),
        due_on {DATE} NOT NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        reminded_at {TS} NULL,
        PRIMARY KEY (invoice_id, position)
    )",
    "CREATE INDEX idx_invoice_instalments_due ON invoice_instalments (due_on) WHERE reminded_at IS NULL",
    "CREATE TABLE payments (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
        kind VARCHAR(16) NOT NULL CHECK (kind IN ('payment', 'refund')),
        method VARCHAR(16) NOT NULL
            CHECK (method IN ('cash', 'card', 'cheque', 'transfer', 'mobile_money', 'other')),
        provider VARCHAR(40) NULL,
        reference VARCHAR(120) NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        currency VARCHAR(3) NOT NULL,
        received_on {DATE} NOT NULL,
        note TEXT NULL,
        recorded_by BIGINT NULL,
        created_at {TS} NOT NULL,
        CHECK (method = 'mobile_money' OR provider IS NULL)
    )",
    "CREATE INDEX idx_payments_invoice ON payments (invoice_id, id)",
    "CREATE INDEX idx_payments_day ON payments (organization_id, received_on, id)",
    // A mobile-money or card transaction is recorded once (a replayed callback adds nothing).
    // Payment pages asked of the online payment provider; its callback names one
    // by our reference, which it claims once (`open` → `paid`).
    "CREATE TABLE payment_requests (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
        reference VARCHAR(80) NOT NULL,
        provider_id VARCHAR(120) NULL,
        url TEXT NOT NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        currency VARCHAR(3) NOT NULL,
        status VARCHAR(8) NOT NULL CHECK (status IN ('open', 'paid')),
        payment_id BIGINT NULL,
        created_at {TS} NOT NULL,
        paid_at {TS} NULL
    )",
    "CREATE UNIQUE INDEX uq_payment_requests_reference ON payment_requests (reference)",
    "CREATE INDEX idx_payment_requests_invoice ON payment_requests (invoice_id, id)",
    "CREATE UNIQUE INDEX uq_payments_reference ON payments (organization_id, kind, method, COALESCE(provider, ''), reference)
        WHERE reference IS NOT NULL AND method IN ('mobile_money', 'card')",
];

/// Columns of an invoice that are its legal content: frozen once issued.
const FROZEN_COLUMNS: &str = "organization_id, kind, status, number, year, sequence, customer_kind, customer_id, \
    buyer_name, buyer_address, buyer_email, buyer_tax_id, buyer_is_business, vehicle_label, source_kind, source_id, \
    credited_invoice_id, issue_date, service_date, due_date, currency, notes, payment_terms, \
    late_penalty_rate_bp, vat_exempt, seller_name, seller_address, seller_registration, seller_vat_number, \
    mentions, total_excl_minor, total_vat_minor, total_incl_minor, issued_at, issued_by";

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF {FROZEN} ON invoices
        WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoices_kept BEFORE DELETE ON invoices
        WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
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
    "CREATE TRIGGER invoice_instalments_frozen_insert BEFORE INSERT ON invoice_instalments
        WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoice_instalments_frozen_update BEFORE UPDATE OF invoice_id, position, due_on, amount_minor
        ON invoice_instalments
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
            OR (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER invoice_instalments_frozen_delete BEFORE DELETE ON invoice_instalments
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END",
    "CREATE TRIGGER payments_frozen BEFORE UPDATE ON payments
        BEGIN SELECT RAISE(ABORT, 'payments are immutable'); END",
    "CREATE TRIGGER payments_kept BEFORE DELETE ON payments
        BEGIN SELECT RAISE(ABORT, 'payments are immutable'); END",
];

const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION billing_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% are immutable', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation'; END
    $$",
    "CREATE FUNCTION invoice_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM invoices WHERE status = 'issued'
                       AND id IN (CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END,
                                  CASE WHEN TG_OP = 'UPDATE' THEN NEW.invoice_id ELSE NULL END)) THEN
                RAISE EXCEPTION 'issued invoices are immutable' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END
    $$",
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF {FROZEN} ON invoices
        FOR EACH ROW WHEN (OLD.status = 'issued') EXECUTE FUNCTION billing_immutable('issued invoices')",
    "CREATE TRIGGER invoices_kept BEFORE DELETE ON invoices
        FOR EACH ROW WHEN (OLD.status = 'issued') EXECUTE FUNCTION billing_immutable('issued invoices')",
    "CREATE TRIGGER invoice_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
        FOR EACH ROW EXECUTE FUNCTION invoice_lines_frozen()",
    // An instalment's schedule is frozen like a line (its reminder stamp may be set).
    "CREATE TRIGGER invoice_instalments_frozen
        BEFORE INSERT OR DELETE OR UPDATE OF invoice_id, position, due_on, amount_minor ON invoice_instalments
        FOR EACH ROW EXECUTE FUNCTION invoice_lines_frozen()",
    "CREATE TRIGGER payments_frozen BEFORE UPDATE OR DELETE ON payments
        FOR EACH ROW EXECUTE FUNCTION billing_immutable('payments')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (id, timestamp, date, triggers) = match backend {
            DatabaseBackend::Postgres => {
                ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "DATE", POSTGRES_TRIGGERS)
            }
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text", "date_text", SQLITE_TRIGGERS),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp).replace("{DATE}", date)).await?;
        }
        for sql in triggers {
            db.execute_unprepared(&sql.replace("{FROZEN}", FROZEN_COLUMNS)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "payment_requests",
            "payments",
            "invoice_instalments",
            "invoice_reminders",
            "invoice_lines",
            "invoices",
            "invoice_counters",
            "billing_settings",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION invoice_lines_frozen()").await?;
            db.execute_unprepared("DROP FUNCTION billing_immutable()").await?;
        }
        Ok(())
    }
}
