//! A French driving school's administration (issue 24): the candidate's file
//! (NEPH, ANTS steps, licences held, ASSR, legal guardian), the initial
//! evaluation, the training contract with its funding sources and amendments,
//! the school's approval number, and who pays each instalment of an invoice.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "ALTER TABLE school_settings ADD COLUMN approval_number VARCHAR(40) NULL",
    // A part of an invoice's schedule paid by someone else than the buyer (a
    // CPF dossier, a bank's "permis à 1 €" loan): not reminded to the buyer.
    "ALTER TABLE invoice_instalments ADD COLUMN payer VARCHAR(200) NULL",
    // One row per candidate: what the administration asks of their file.
    "CREATE TABLE school_candidate_files (
        candidate_id BIGINT PRIMARY KEY REFERENCES school_candidates (id) ON DELETE CASCADE,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        neph VARCHAR(12) NULL,
        categories_held VARCHAR(100) NOT NULL DEFAULT '',
        road_safety VARCHAR(6) NULL CHECK (road_safety IN ('assr1', 'assr2', 'asr')),
        ephoto_code VARCHAR(30) NULL,
        medical_required BOOLEAN NOT NULL DEFAULT FALSE,
        guardian_name VARCHAR(200) NULL,
        guardian_email VARCHAR(254) NULL,
        guardian_phone VARCHAR(40) NULL,
        guardian_consent_on {DATE} NULL,
        -- The candidate's 18th birthday, from their (encrypted) birth date when the
        -- guardian was saved: the guardian's copies of the notices stop then.
        guardian_until {DATE} NULL,
        file_submitted_on {DATE} NULL,
        neph_received_on {DATE} NULL,
        theory_booked_on {DATE} NULL,
        theory_passed_on {DATE} NULL,
        practical_booked_on {DATE} NULL,
        practical_passed_on {DATE} NULL,
        updated_at {TS} NOT NULL
    )",
    // A NEPH names one person nationally: twice in a school is a typing error.
    "CREATE UNIQUE INDEX uq_school_candidate_files_neph ON school_candidate_files (organization_id, neph)
        WHERE neph IS NOT NULL",
    "CREATE INDEX idx_school_candidate_files_organization ON school_candidate_files (organization_id)",
    "CREATE TABLE school_evaluations (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        evaluated_on {DATE} NOT NULL,
        instructor_id BIGINT NULL REFERENCES school_instructors (id) ON DELETE SET NULL,
        result TEXT NOT NULL,
        forecast_minutes INTEGER NOT NULL CHECK (forecast_minutes BETWEEN 60 AND 12000),
        recorded_by BIGINT NULL,
        created_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_school_evaluations_candidate ON school_evaluations (organization_id, candidate_id, id)",
    "CREATE INDEX idx_school_evaluations_instructor ON school_evaluations (instructor_id)",
    "CREATE INDEX idx_school_evaluations_candidate_fk ON school_evaluations (candidate_id)",
    // A contract is drafted (its terms may change), then signed: from then on
    // its content is frozen (the triggers below) and any change is an amendment.
    "CREATE TABLE school_contracts (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        candidate_id BIGINT NOT NULL REFERENCES school_candidates (id) ON DELETE RESTRICT,
        number VARCHAR(32) NOT NULL,
        status VARCHAR(6) NOT NULL CHECK (status IN ('draft', 'signed', 'ended')),
        evaluation_id BIGINT NOT NULL REFERENCES school_evaluations (id) ON DELETE RESTRICT,
        pack_id BIGINT NOT NULL REFERENCES school_packs (id) ON DELETE RESTRICT,
        instalments INTEGER NOT NULL CHECK (instalments BETWEEN 1 AND 12),
        first_due_on {DATE} NOT NULL,
        terms TEXT NULL,
        signed_at {TS} NULL,
        signature_method VARCHAR(6) NULL CHECK (signature_method IN ('screen', 'paper')),
        candidate_signer VARCHAR(200) NULL,
        guardian_signer VARCHAR(200) NULL,
        signed_by BIGINT NULL,
        scan_document_id BIGINT NULL REFERENCES attachments (id) ON DELETE RESTRICT,
        sale_id BIGINT NULL REFERENCES school_pack_sales (id) ON DELETE RESTRICT,
        ended_on {DATE} NULL,
        end_reason VARCHAR(10) NULL CHECK (end_reason IN ('completed', 'transfer', 'terminated')),
        end_note VARCHAR(500) NULL,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL,
        CHECK ((status = 'draft') = (signed_at IS NULL)),
        CHECK ((status = 'draft') OR (terms IS NOT NULL AND signature_method IS NOT NULL AND candidate_signer IS NOT NULL)),
        CHECK ((status = 'ended') = (ended_on IS NOT NULL))
    )",
    "CREATE UNIQUE INDEX uq_school_contracts_number ON school_contracts (organization_id, number)",
    // One contract under way per candidate (a draft or a signed one).
    "CREATE UNIQUE INDEX uq_school_contracts_open ON school_contracts (candidate_id) WHERE status <> 'ended'",
    "CREATE INDEX idx_school_contracts_candidate ON school_contracts (organization_id, candidate_id, id)",
    "CREATE INDEX idx_school_contracts_candidate_fk ON school_contracts (candidate_id)",
    "CREATE INDEX idx_school_contracts_evaluation ON school_contracts (evaluation_id)",
    "CREATE INDEX idx_school_contracts_pack ON school_contracts (pack_id)",
    "CREATE INDEX idx_school_contracts_sale ON school_contracts (sale_id)",
    "CREATE INDEX idx_school_contracts_scan ON school_contracts (scan_document_id)",
    "CREATE TABLE school_contract_fundings (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        contract_id BIGINT NOT NULL REFERENCES school_contracts (id) ON DELETE CASCADE,
        source VARCHAR(14) NOT NULL CHECK (source IN ('personal', 'cpf', 'loan_one_euro', 'apprenticeship', 'local_grant')),
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        reference VARCHAR(100) NULL,
        lender VARCHAR(100) NULL,
        expected_on {DATE} NULL
    )",
    "CREATE INDEX idx_school_contract_fundings_contract ON school_contract_fundings (contract_id, id)",
    "CREATE INDEX idx_school_contract_fundings_organization ON school_contract_fundings (organization_id)",
    "CREATE TABLE school_contract_amendments (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        contract_id BIGINT NOT NULL REFERENCES school_contracts (id) ON DELETE RESTRICT,
        position INTEGER NOT NULL CHECK (position > 0),
        status VARCHAR(6) NOT NULL CHECK (status IN ('draft', 'signed')),
        summary TEXT NOT NULL,
        forecast_minutes INTEGER NULL CHECK (forecast_minutes BETWEEN 60 AND 12000),
        pack_id BIGINT NULL REFERENCES school_packs (id) ON DELETE RESTRICT,
        sale_id BIGINT NULL REFERENCES school_pack_sales (id) ON DELETE RESTRICT,
        signed_at {TS} NULL,
        signature_method VARCHAR(6) NULL CHECK (signature_method IN ('screen', 'paper')),
        candidate_signer VARCHAR(200) NULL,
        guardian_signer VARCHAR(200) NULL,
        signed_by BIGINT NULL,
        scan_document_id BIGINT NULL REFERENCES attachments (id) ON DELETE RESTRICT,
        created_by BIGINT NULL,
        created_at {TS} NOT NULL,
        CHECK ((status = 'draft') = (signed_at IS NULL))
    )",
    "CREATE UNIQUE INDEX uq_school_contract_amendments_position ON school_contract_amendments (contract_id, position)",
    "CREATE INDEX idx_school_contract_amendments_organization ON school_contract_amendments (organization_id, id)",
    "CREATE INDEX idx_school_contract_amendments_pack ON school_contract_amendments (pack_id)",
    "CREATE INDEX idx_school_contract_amendments_sale ON school_contract_amendments (sale_id)",
    "CREATE INDEX idx_school_contract_amendments_scan ON school_contract_amendments (scan_document_id)",
];

/// Who pays an instalment is printed on the invoice: frozen with the rest of
/// the schedule once the invoice is issued (a trigger beside the schedule's own).
const SQLITE_PAYER_FROZEN: &str = "CREATE TRIGGER invoice_instalments_payer_frozen BEFORE UPDATE OF payer
    ON invoice_instalments
    WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
    BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END";
const POSTGRES_PAYER_FROZEN: &str = "CREATE TRIGGER invoice_instalments_payer_frozen
    BEFORE UPDATE OF payer ON invoice_instalments
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_frozen()";

/// A signed contract's content: what the candidate signed.
const FROZEN: &str = "organization_id, candidate_id, number, evaluation_id, pack_id, instalments, first_due_on, \
    terms, signed_at, signature_method, candidate_signer, guardian_signer, signed_by, scan_document_id, sale_id";
const FROZEN_AMENDMENT: &str = "organization_id, contract_id, position, status, summary, forecast_minutes, pack_id, \
    sale_id, signed_at, signature_method, candidate_signer, guardian_signer, signed_by, scan_document_id";

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER school_contracts_frozen BEFORE UPDATE OF {FROZEN} ON school_contracts
        WHEN OLD.status <> 'draft'
        BEGIN SELECT RAISE(ABORT, 'signed contracts are immutable'); END",
    "CREATE TRIGGER school_contracts_kept BEFORE DELETE ON school_contracts
        WHEN OLD.status <> 'draft'
        BEGIN SELECT RAISE(ABORT, 'signed contracts are immutable'); END",
    "CREATE TRIGGER school_contract_fundings_frozen_insert BEFORE INSERT ON school_contract_fundings
        WHEN (SELECT status FROM school_contracts WHERE id = NEW.contract_id) <> 'draft'
        BEGIN SELECT RAISE(ABORT, 'signed contracts are immutable'); END",
    "CREATE TRIGGER school_contract_fundings_frozen_update BEFORE UPDATE ON school_contract_fundings
        WHEN (SELECT status FROM school_contracts WHERE id = OLD.contract_id) <> 'draft'
        BEGIN SELECT RAISE(ABORT, 'signed contracts are immutable'); END",
    "CREATE TRIGGER school_contract_fundings_frozen_delete BEFORE DELETE ON school_contract_fundings
        WHEN (SELECT status FROM school_contracts WHERE id = OLD.contract_id) <> 'draft'
        BEGIN SELECT RAISE(ABORT, 'signed contracts are immutable'); END",
    "CREATE TRIGGER school_contract_amendments_frozen BEFORE UPDATE OF {FROZEN_AMENDMENT} ON school_contract_amendments
        WHEN OLD.status = 'signed'
        BEGIN SELECT RAISE(ABORT, 'signed amendments are immutable'); END",
    "CREATE TRIGGER school_contract_amendments_kept BEFORE DELETE ON school_contract_amendments
        WHEN OLD.status = 'signed'
        BEGIN SELECT RAISE(ABORT, 'signed amendments are immutable'); END",
];

const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION school_contract_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (TG_OP = 'UPDATE' AND OLD.status <> 'draft'
                AND (OLD.organization_id, OLD.candidate_id, OLD.number, OLD.evaluation_id, OLD.pack_id,
                     OLD.instalments, OLD.first_due_on, OLD.terms, OLD.signed_at, OLD.signature_method,
                     OLD.candidate_signer, OLD.guardian_signer, OLD.signed_by, OLD.scan_document_id, OLD.sale_id)
                    IS DISTINCT FROM
                    (NEW.organization_id, NEW.candidate_id, NEW.number, NEW.evaluation_id, NEW.pack_id,
                     NEW.instalments, NEW.first_due_on, NEW.terms, NEW.signed_at, NEW.signature_method,
                     NEW.candidate_signer, NEW.guardian_signer, NEW.signed_by, NEW.scan_document_id, NEW.sale_id))
               OR (TG_OP = 'DELETE' AND OLD.status <> 'draft') THEN
                RAISE EXCEPTION 'signed contracts are immutable' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$",
    "CREATE TRIGGER school_contracts_frozen BEFORE UPDATE OR DELETE ON school_contracts
        FOR EACH ROW EXECUTE FUNCTION school_contract_frozen()",
    "CREATE FUNCTION school_contract_fundings_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM school_contracts WHERE status <> 'draft'
                       AND id IN (CASE WHEN TG_OP = 'INSERT' THEN NEW.contract_id ELSE OLD.contract_id END,
                                  CASE WHEN TG_OP = 'UPDATE' THEN NEW.contract_id ELSE NULL END)) THEN
                RAISE EXCEPTION 'signed contracts are immutable' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$",
    "CREATE TRIGGER school_contract_fundings_frozen BEFORE INSERT OR UPDATE OR DELETE ON school_contract_fundings
        FOR EACH ROW EXECUTE FUNCTION school_contract_fundings_frozen()",
    "CREATE FUNCTION school_contract_amendment_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (TG_OP = 'UPDATE' AND OLD.status = 'signed'
                AND (OLD.organization_id, OLD.contract_id, OLD.position, OLD.status, OLD.summary, OLD.forecast_minutes,
                     OLD.pack_id, OLD.sale_id, OLD.signed_at, OLD.signature_method, OLD.candidate_signer,
                     OLD.guardian_signer, OLD.signed_by, OLD.scan_document_id)
                    IS DISTINCT FROM
                    (NEW.organization_id, NEW.contract_id, NEW.position, NEW.status, NEW.summary, NEW.forecast_minutes,
                     NEW.pack_id, NEW.sale_id, NEW.signed_at, NEW.signature_method, NEW.candidate_signer,
                     NEW.guardian_signer, NEW.signed_by, NEW.scan_document_id))
               OR (TG_OP = 'DELETE' AND OLD.status = 'signed') THEN
                RAISE EXCEPTION 'signed amendments are immutable' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$",
    "CREATE TRIGGER school_contract_amendments_frozen BEFORE UPDATE OR DELETE ON school_contract_amendments
        FOR EACH ROW EXECUTE FUNCTION school_contract_amendment_frozen()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (id, timestamp, date) = match backend {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "DATE"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text", "date_text"),
        };
        let db = manager.get_connection();
        for sql in TABLES {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp).replace("{DATE}", date)).await?;
        }
        let (triggers, payer_frozen) = match backend {
            DatabaseBackend::Postgres => (POSTGRES_TRIGGERS, POSTGRES_PAYER_FROZEN),
            _ => (SQLITE_TRIGGERS, SQLITE_PAYER_FROZEN),
        };
        db.execute_unprepared(payer_frozen).await?;
        for sql in triggers {
            db.execute_unprepared(&sql.replace("{FROZEN_AMENDMENT}", FROZEN_AMENDMENT).replace("{FROZEN}", FROZEN))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "school_contract_amendments",
            "school_contract_fundings",
            "school_contracts",
            "school_evaluations",
            "school_candidate_files",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for function in
                ["school_contract_frozen", "school_contract_fundings_frozen", "school_contract_amendment_frozen"]
            {
                db.execute_unprepared(&format!("DROP FUNCTION {function}()")).await?;
            }
        }
        db.execute_unprepared(match manager.get_database_backend() {
            DatabaseBackend::Postgres => "DROP TRIGGER invoice_instalments_payer_frozen ON invoice_instalments",
            _ => "DROP TRIGGER invoice_instalments_payer_frozen",
        })
        .await?;
        db.execute_unprepared("ALTER TABLE invoice_instalments DROP COLUMN payer").await?;
        db.execute_unprepared("ALTER TABLE school_settings DROP COLUMN approval_number").await?;
        Ok(())
    }
}
