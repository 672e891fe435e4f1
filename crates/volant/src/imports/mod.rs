//! Imports of the records a business brings from its spreadsheets or its
//! previous software: clients and vehicles (with their owners and mileage),
//! candidates and instructors.
//! A file is uploaded, its columns mapped to fields (guessed from its
//! headers), checked row by row without writing (the dry run), imported as a
//! background job in batches of one transaction each, and the last import can
//! be undone while nothing has changed its records since. Each row goes
//! through its domain's own services (rules, audit records, webhooks). See
//! docs/imports.md.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;

use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::identity::audit::Actor;
use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::crypto::FieldCipher;
use crate::platform::enums::string_enum;
use crate::platform::error::AppResult;
use crate::platform::import::{Applied, Change, Field, Row};
use crate::platform::jobs::Registry;
use crate::platform::tenant::OrgId;
use crate::platform::web::Module;
use crate::school::imports as school;
use crate::workshop::imports as workshop;

string_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum ImportKind (labels "import.kind.") {
        Clients,
        Vehicles,
        Candidates,
        Instructors,
        ServiceRecords,
        OdometerRecords,
    }
}

string_enum! {
    /// Where an import stands: `uploaded` (columns to map), `checking` → `checked`
    /// (the dry run's report), `importing` → `imported`, `undoing` → `undone`;
    /// `failed` when the file could not be read to the end.
    #[derive(utoipa::ToSchema)]
    pub enum ImportStatus (labels "import.status.") {
        Uploaded,
        Checking,
        Checked,
        Importing,
        Imported,
        Undoing,
        Undone,
        Failed,
    }
}

impl ImportStatus {
    /// A job works on it: the page follows its progress.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Checking | Self::Importing | Self::Undoing)
    }

    /// Its columns may be mapped again and checked.
    pub fn can_check(self) -> bool {
        matches!(self, Self::Uploaded | Self::Checked | Self::Failed)
    }

    pub fn can_import(self) -> bool {
        self == Self::Checked
    }
}

impl ImportKind {
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::Clients => workshop::CLIENT_FIELDS,
            Self::Vehicles => workshop::VEHICLE_FIELDS,
            Self::Candidates => school::CANDIDATE_FIELDS,
            Self::Instructors => school::INSTRUCTOR_FIELDS,
            Self::ServiceRecords => workshop::SERVICE_FIELDS,
            Self::OdometerRecords => workshop::READING_FIELDS,
        }
    }

    /// Who may import this kind (on top of [`Permission::DataImport`]).
    pub fn permission(self) -> Permission {
        match self {
            Self::Clients => Permission::WorkshopWrite,
            Self::Vehicles => Permission::FleetWrite,
            Self::Candidates | Self::Instructors => Permission::SchoolWrite,
            Self::ServiceRecords | Self::OdometerRecords => Permission::InterventionsRecord,
        }
    }

    /// The fields of which a mapping must read at least one of each group.
    pub fn required(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Clients => &[&["name", "last_name", "company_name"]],
            Self::Vehicles => &[&["license_plate"]],
            Self::Candidates => &[&["last_name"], &["first_name"]],
            Self::Instructors => &[&["last_name"], &["first_name"], &["licence_number"]],
            Self::ServiceRecords => &[&["description"]],
            Self::OdometerRecords => &[&["mileage_km"]],
        }
    }

    /// What names a row in the report when it is refused (its first field set among these).
    fn label_fields(self) -> &'static [&'static str] {
        match self {
            Self::Clients => &["company_name", "name", "last_name", "email"],
            Self::Vehicles => &["license_plate"],
            Self::Candidates => &["last_name", "number", "email"],
            Self::Instructors => &["last_name", "licence_number", "email"],
            Self::ServiceRecords => &["description", "date"],
            Self::OdometerRecords => &["mileage_km", "date"],
        }
    }

    /// Rows about a vehicle: the file's (chosen at upload) or a plate column's.
    pub fn is_vehicle_history(self) -> bool {
        matches!(self, Self::ServiceRecords | Self::OdometerRecords)
    }

    pub fn label_of(self, row: &Row) -> String {
        self.label_fields().iter().find_map(|key| row.get(key)).unwrap_or_default().chars().take(200).collect()
    }
}

/// What a kind's rows need from the organization, read once per import.
pub enum Context {
    Clients,
    Vehicles(workshop::VehicleContext),
    Candidates(school::CandidateContext, std::sync::Arc<FieldCipher>),
    Instructors,
    ServiceRecords(workshop::HistoryContext),
    OdometerRecords(workshop::HistoryContext),
}

impl Context {
    pub async fn load(
        db: &impl ConnectionTrait,
        cipher: &std::sync::Arc<FieldCipher>,
        org: OrgId,
        kind: ImportKind,
        (options, locale): (&service::ImportOptions, crate::platform::i18n::Locale),
    ) -> AppResult<Self> {
        let history = || workshop::HistoryContext { vehicle_id: options.vehicle_id, dates: options.date_order, locale };
        Ok(match kind {
            ImportKind::Clients => Self::Clients,
            ImportKind::Vehicles => Self::Vehicles(workshop::VehicleContext::load(db, org).await?),
            ImportKind::Candidates => Self::Candidates(school::CandidateContext::load(db, org).await?, cipher.clone()),
            ImportKind::Instructors => Self::Instructors,
            ImportKind::ServiceRecords => Self::ServiceRecords(history()),
            ImportKind::OdometerRecords => Self::OdometerRecords(history()),
        })
    }

    pub async fn apply(&self, txn: &DatabaseTransaction, actor: &Actor, row: &Row) -> AppResult<Applied> {
        match self {
            Self::Clients => workshop::apply_client(txn, actor, row).await,
            Self::Vehicles(context) => workshop::apply_vehicle(txn, actor, context, row).await,
            Self::Candidates(context, cipher) => school::apply_candidate(txn, cipher, actor, context, row).await,
            Self::Instructors => school::apply_instructor(txn, actor, row).await,
            Self::ServiceRecords(context) => workshop::apply_service(txn, actor, context, row).await,
            Self::OdometerRecords(context) => workshop::apply_reading(txn, actor, context, row).await,
        }
    }
}

/// When each record of `entity` last changed, among `ids` (those that still exist).
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    entity: &str,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, chrono::DateTime<chrono::Utc>>> {
    if school::ENTITIES.contains(&entity) {
        school::stamps(db, org, entity, ids).await
    } else {
        workshop::stamps(db, org, entity, ids).await
    }
}

/// The entity an import change names, as the code spells it.
pub fn entity_name(stored: &str) -> AppResult<&'static str> {
    workshop::ENTITIES
        .iter()
        .chain(school::ENTITIES)
        .copied()
        .find(|e| *e == stored)
        .ok_or_else(|| crate::platform::error::AppError::Internal(format!("import change of an unknown {stored}")))
}

/// Whether a record an import created has gained, since, what taking it back
/// would delete or unlink with it.
pub async fn in_use(
    db: &impl ConnectionTrait,
    org: OrgId,
    change: &Change,
    own_ownerships: &std::collections::HashSet<i64>,
) -> AppResult<bool> {
    if school::ENTITIES.contains(&change.entity) {
        school::in_use(db, org, change).await
    } else {
        workshop::in_use(db, org, change, own_ownerships).await
    }
}

/// How changes name the ownerships an import gave vehicles.
pub const OWNERSHIP: &str = workshop::OWNERSHIP;

/// Undoes one change of an import.
pub async fn undo(txn: &DatabaseTransaction, cipher: &FieldCipher, actor: &Actor, change: &Change) -> AppResult<()> {
    if school::ENTITIES.contains(&change.entity) {
        school::undo(txn, cipher, actor, change).await
    } else {
        workshop::undo(txn, actor, change).await
    }
}

pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    api::router()
}

pub fn pages() -> Vec<Page> {
    web_pages::pages(Access::guarded(Permission::DataImport, Permission::DataImport), web::routes())
}

pub fn menu() -> Vec<MenuEntry> {
    vec![MenuEntry::new(Module::Administration, "nav.imports", "/imports", Audience::May(Permission::DataImport))]
}

/// Runs checks, imports and undos; every five minutes, ends runs whose job is
/// over; once a day, forgets imports older than [`service::KEPT_DAYS`].
pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let (db, files) = (state.db.clone(), state.files.clone());
    registry
        .handle(service::PRUNE_JOB, move |_job| {
            let (db, files) = (db.clone(), files.clone());
            async move {
                service::prune(&db, &files, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every(service::PRUNE_JOB, DAILY);
    let db = state.db.clone();
    registry
        .handle(service::SWEEP_JOB, move |_job| {
            let db = db.clone();
            async move {
                service::sweep(&db, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every(service::SWEEP_JOB, std::time::Duration::from_secs(300));
    let (db, files, cipher) = (state.db.clone(), state.files.clone(), state.cipher.clone());
    registry.handle(service::RUN_JOB, move |job| {
        let (db, files, cipher) = (db.clone(), files.clone(), cipher.clone());
        async move { service::run_job(&db, &files, &cipher, &job).await }
    });
    let (db, files, cipher) = (state.db.clone(), state.files.clone(), state.cipher.clone());
    registry.handle(service::UNDO_JOB, move |job| {
        let (db, files, cipher) = (db.clone(), files.clone(), cipher.clone());
        async move { service::undo_job(&db, &files, &cipher, &job).await }
    });
}
