//! An import's life: the file arrives and is read once (headers, first rows,
//! count); its columns are mapped; the check runs every row through the same
//! code as the import, a batch at a time in a transaction rolled back; the
//! import commits a batch per transaction with its progress, so a job run again
//! after a crash goes on where the last commit left it; the undo walks the
//! changes back, newest first, refusing as soon as one record changed since.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::entity::{change, import, result};
use super::{Context, ImportKind, ImportStatus};
use crate::identity::audit::{self, Actor};
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::files::FileStore;
use crate::platform::i18n::{self, Locale, Msg};
use crate::platform::import::{self as table, Change, DateOrder, Row};
use crate::platform::jobs::{self, ClaimedJob, JobError, JobResult, NewJob};
use crate::platform::tenant::{self, OrgId};

pub const RUN_JOB: &str = "imports.run";
pub const UNDO_JOB: &str = "imports.undo";
pub const PRUNE_JOB: &str = "imports.prune";
/// Rows per transaction: short enough for other writers to take turns between.
pub const BATCH: usize = 500;
/// First rows the mapping screen shows.
const SAMPLE: usize = 5;
/// Characters kept of a header or a first row's cell, for the pages.
const SHOWN: usize = 200;
/// How the audit trail names imports.
pub const AUDIT_ENTITY: &str = "import";

/// A field of the kind and the file's column it is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MappedField {
    pub field: String,
    pub label: String,
    /// The column's index among `headers`; `null`: not imported.
    pub column: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Import {
    pub id: i64,
    pub kind: ImportKind,
    pub file_name: String,
    pub status: ImportStatus,
    /// Rows under the headers.
    pub total_rows: i64,
    /// Rows checked or imported so far (changes undone, while undoing).
    pub processed_rows: i64,
    pub created_rows: i64,
    pub updated_rows: i64,
    pub unchanged_rows: i64,
    pub refused_rows: i64,
    /// While undoing: the changes to take back, and those taken back so far.
    pub undo_total: i64,
    pub undone_rows: i64,
    /// Why the last run stopped, if it did.
    pub error: Option<String>,
    pub headers: Vec<String>,
    /// The first rows, as the mapping screen shows them.
    pub sample: Vec<Vec<String>>,
    pub mapping: Vec<MappedField>,
    /// The vehicle a file of history is about (its plate), when chosen at upload.
    pub vehicle_plate: Option<String>,
    /// How the file's slashed dates are read.
    pub date_order: DateOrder,
    pub created_at: chrono::DateTime<Utc>,
    pub finished_at: Option<chrono::DateTime<Utc>>,
}

/// What an import knows beyond its columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// The vehicle a whole file of history is about (a LubeLogger export is one vehicle's).
    #[serde(default)]
    pub vehicle_id: Option<i64>,
    #[serde(default)]
    pub vehicle_plate: Option<String>,
    #[serde(default)]
    pub date_order: DateOrder,
}

fn options_of(model: &import::Model) -> AppResult<ImportOptions> {
    model.options.as_deref().map_or_else(|| Ok(ImportOptions::default()), parse_json)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(|e| AppError::Internal(format!("import column: {e}")))
}

fn mapping_of(model: &import::Model) -> AppResult<Vec<Option<usize>>> {
    let fields = model.kind.fields();
    let mut mapping: Vec<Option<usize>> = match &model.mapping {
        Some(text) => parse_json(text)?,
        None => vec![None; fields.len()],
    };
    mapping.resize(fields.len(), None);
    Ok(mapping)
}

/// The encryption contexts of what a file says: itself, and its first rows.
const FILE: &str = "import_file";
const SAMPLE_CONTEXT: &str = "import_sample";

impl Import {
    /// The import as shown; its first rows decrypted with `cipher` (left out without one).
    fn from_model(m: import::Model, cipher: Option<&FieldCipher>) -> AppResult<Self> {
        let tr = i18n::current();
        let mapping = mapping_of(&m)?
            .into_iter()
            .zip(m.kind.fields())
            .map(|(column, field)| MappedField {
                field: field.key.to_owned(),
                label: tr.text(field.label).to_owned(),
                column,
            })
            .collect();
        let processed = m.processed_rows;
        let options = options_of(&m)?;
        let unchanged = std::cmp::max(processed - m.created_rows - m.updated_rows - m.refused_rows, 0);
        Ok(Self {
            id: m.id,
            kind: m.kind,
            file_name: m.file_name,
            status: m.status,
            total_rows: m.total_rows,
            processed_rows: processed,
            created_rows: m.created_rows,
            updated_rows: m.updated_rows,
            unchanged_rows: unchanged,
            refused_rows: m.refused_rows,
            undo_total: m.undo_total,
            undone_rows: m.undone_rows,
            error: m.error,
            headers: parse_json(&m.headers)?,
            sample: match cipher {
                Some(cipher) if !m.sample.is_empty() => parse_json(&cipher.decrypt(SAMPLE_CONTEXT, &m.sample)?)?,
                _ => Vec::new(),
            },
            mapping,
            vehicle_plate: options.vehicle_plate,
            date_order: options.date_order,
            created_at: m.created_at,
            finished_at: m.finished_at,
        })
    }

    /// What the progress bar counts: changes undone while undoing, rows otherwise.
    pub fn progress(&self) -> (i64, i64) {
        if self.status == ImportStatus::Undoing {
            (self.undone_rows, self.undo_total)
        } else {
            (self.processed_rows, self.total_rows)
        }
    }

    /// Percent done, for the progress bar.
    pub fn percent(&self) -> i64 {
        let (done, total) = self.progress();
        if total == 0 { 100 } else { (done * 100 / total).clamp(0, 100) }
    }
}

impl tenant::Owned for import::Entity {
    const ORGANIZATION_ID: import::Column = import::Column::OrganizationId;
    const ID: import::Column = import::Column::Id;
}

async fn find(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<import::Model> {
    tenant::find::<import::Entity>(db, org, id).await
}

pub async fn get(db: &impl ConnectionTrait, cipher: &FieldCipher, org: OrgId, id: i64) -> AppResult<Import> {
    Import::from_model(find(db, org, id).await?, Some(cipher))
}

/// The organization's last 50 imports, newest first (without their columns
/// and first rows: each import's own answer has them).
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<Import>> {
    tenant::scoped::<import::Entity>(org)
        .order_by_desc(import::Column::Id)
        .limit(50)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            Import::from_model(m, None).map(|mut i| {
                (i.headers, i.sample, i.mapping) = (Vec::new(), Vec::new(), Vec::new());
                i
            })
        })
        .collect()
}

fn file_refused(err: &table::Unreadable) -> AppError {
    let message = match err {
        table::Unreadable::Damaged(detail) => Msg::new(err.message_key()).arg("detail", detail),
        table::Unreadable::TooManyRows => Msg::new(err.message_key()).arg("max", table::MAX_ROWS),
        table::Unreadable::TooManyColumns => Msg::new(err.message_key()).arg("max", table::MAX_COLUMNS),
        _ => Msg::new(err.message_key()),
    };
    AppError::validation("file", message)
}

/// Takes a file: reads it once (off the async workers), keeps it in the file
/// store, and records the import with the columns guessed from its headers.
pub async fn upload<C: Writer>(
    db: &C,
    (files, cipher): (&FileStore, &FieldCipher),
    actor: &Actor,
    kind: ImportKind,
    (file_name, vehicle): (Option<String>, Option<&str>),
    bytes: Vec<u8>,
) -> AppResult<Import> {
    let mut options = ImportOptions::default();
    if let Some(plate) = vehicle.map(str::trim).filter(|p| !p.is_empty() && kind.is_vehicle_history()) {
        let found = crate::fleet::vehicles::service::find_by_plate(db, actor.org, plate).await?;
        let found = found
            .ok_or_else(|| AppError::validation("vehicle", Msg::new("import.vehicle_unknown").arg("plate", plate)))?;
        options.vehicle_id = Some(found.id);
        options.vehicle_plate = Some(found.license_plate);
    }
    if bytes.is_empty() {
        return Err(AppError::validation("file", Msg::new("field.required")));
    }
    let (preview, bytes) = tokio::task::spawn_blocking(move || (table::preview(&bytes, SAMPLE), bytes))
        .await
        .map_err(|e| AppError::Internal(format!("reading an import: {e}")))?;
    let preview = preview.map_err(|e| file_refused(&e))?;
    // What the pages show of the file: its headers and first cells, each cut short.
    let short = |cell: String| -> String { cell.chars().take(SHOWN).collect() };
    let headers: Vec<String> = preview.headers.into_iter().map(short).collect();
    let guessed = table::guess(kind.fields(), &headers);
    let sample: Vec<Vec<String>> =
        preview.sample.into_iter().map(|r| r.cells.into_iter().map(short).collect()).collect();
    let key = format!("imports/{}/{}", actor.org.get(), crate::platform::secrets::random_token(16)?);
    // What the file says of people is encrypted at rest, as documents are.
    let sealed = cipher.encrypt_bytes(FILE, &bytes)?;
    drop(bytes);
    files.put(&key, sealed).await.map_err(AppError::Unavailable)?;
    let now = Utc::now();
    let file_name: String = file_name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned();
    let row = import::ActiveModel {
        organization_id: Set(actor.org.get()),
        kind: Set(kind),
        file_name: Set(if file_name.is_empty() { "import".to_owned() } else { file_name }),
        file_key: Set(key.clone()),
        headers: Set(json!(headers).to_string()),
        sample: Set(cipher.encrypt(SAMPLE_CONTEXT, &json!(sample).to_string())?),
        mapping: Set(Some(json!(guessed).to_string())),
        options: Set(Some(json!(options).to_string())),
        status: Set(ImportStatus::Uploaded),
        active: Set(false),
        total_rows: Set(i64::try_from(preview.rows).unwrap_or(i64::MAX)),
        processed_rows: Set(0),
        created_rows: Set(0),
        updated_rows: Set(0),
        refused_rows: Set(0),
        undo_total: Set(0),
        undone_rows: Set(0),
        error: Set(None),
        locale: Set(i18n::current()),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
        ..Default::default()
    };
    let saved = match db::write(db, async |txn| row.insert(txn).await).await {
        Ok(saved) => saved,
        Err(err) => {
            // The file was kept for nothing.
            let _ = files.delete(&key).await;
            return Err(err.into());
        }
    };
    tracing::info!(import_id = saved.id, kind = %kind, rows = preview.rows, "import uploaded");
    Import::from_model(saved, Some(cipher))
}

/// The columns chosen for the kind's fields: field key → column index.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MappingInput {
    /// Each field to import and the index of its column in `headers`; fields left out are not imported.
    #[schema(example = json!({"license_plate": 0, "brand": 1, "model": 2, "year": 3}))]
    pub mapping: HashMap<String, usize>,
    /// How dates like `01/02/2020` are read: `day_first` (default, 1 February) or
    /// `month_first` (2 January, as LubeLogger writes them in English).
    #[serde(default)]
    pub date_order: Option<DateOrder>,
}

fn checked_mapping(
    kind: ImportKind,
    headers: usize,
    input: &MappingInput,
    options: &ImportOptions,
) -> AppResult<Vec<Option<usize>>> {
    let fields = kind.fields();
    let mut errors = Vec::new();
    let mut mapping = vec![None; fields.len()];
    let mut keys: Vec<&String> = input.mapping.keys().collect();
    keys.sort();
    for key in keys {
        let column = input.mapping[key];
        match fields.iter().position(|f| f.key == key) {
            None => errors.push(crate::platform::error::FieldError::new(
                key.clone(),
                Msg::new("import.field_unknown").arg("field", key),
            )),
            Some(_) if column >= headers => errors.push(crate::platform::error::FieldError::new(
                key.clone(),
                Msg::new("import.column_unknown").arg("column", column.saturating_add(1)),
            )),
            Some(at) => mapping[at] = Some(column),
        }
    }
    let tr = i18n::current();
    for group in kind.required() {
        let mapped = group.iter().any(|key| fields.iter().zip(&mapping).any(|(f, c)| f.key == *key && c.is_some()));
        if !mapped {
            let names: Vec<&str> = group
                .iter()
                .filter_map(|key| fields.iter().find(|f| f.key == *key))
                .map(|f| tr.text(f.label))
                .collect();
            errors.push(crate::platform::error::FieldError::new(
                group[0],
                Msg::new("import.required_unmapped").arg("fields", names.join(" / ")),
            ));
        }
    }
    let plate_mapped = fields.iter().zip(&mapping).any(|(f, c)| f.key == "license_plate" && c.is_some());
    if kind.is_vehicle_history() && options.vehicle_id.is_none() && !plate_mapped {
        errors.push(crate::platform::error::FieldError::new("license_plate", Msg::new("import.vehicle_or_plate")));
    }
    if errors.is_empty() { Ok(mapping) } else { Err(AppError::Validation(errors)) }
}

/// A new run counts from zero.
async fn reset_counts(txn: &DatabaseTransaction, id: i64) -> AppResult<()> {
    import::Entity::update_many()
        .col_expr(import::Column::ProcessedRows, Expr::value(0))
        .col_expr(import::Column::CreatedRows, Expr::value(0))
        .col_expr(import::Column::UpdatedRows, Expr::value(0))
        .col_expr(import::Column::RefusedRows, Expr::value(0))
        .filter(import::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

fn busy(err: sea_orm::DbErr) -> AppError {
    AppError::conflict("import_busy", Msg::new("import.busy")).if_refused(err, Constraint::is_unique)
}

/// Starts a job on the import, moving it from one of `from` to `to` (and
/// making it the organization's one active import).
async fn start_job<C: Writer>(
    db: &C,
    actor: &Actor,
    id: i64,
    (from, to): (&[ImportStatus], ImportStatus),
    job: &'static str,
    also: impl AsyncFnOnce(&DatabaseTransaction) -> AppResult<()>,
) -> AppResult<()> {
    let org = actor.org;
    db::write(db, async |txn| {
        let moved = import::Entity::update_many()
            .col_expr(import::Column::Status, Expr::value(to.as_str()))
            .col_expr(import::Column::Active, Expr::value(true))
            .col_expr(import::Column::Error, Expr::value(Option::<String>::None))
            .col_expr(import::Column::FinishedAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .col_expr(import::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(import::Column::OrganizationId.eq(org.get()))
            .filter(import::Column::Id.eq(id))
            .filter(import::Column::Status.is_in(from.iter().map(|s| s.as_str())))
            .exec(txn)
            .await
            .map_err(busy)?;
        if moved.rows_affected == 0 {
            return Err(AppError::conflict("import_state", Msg::new("import.wrong_state")));
        }
        also(txn).await?;
        // The person who asked: the rows' audit records name them.
        let payload = json!({ "import_id": id, "user_id": actor.user_id });
        let job_id = jobs::enqueue(txn, NewJob::new(job, payload).for_org(org)).await?;
        import::Entity::update_many()
            .col_expr(import::Column::JobId, Expr::value(job_id))
            .filter(import::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await
}

/// Sets the columns and starts the check (the dry run) of every row.
pub async fn check<C: Writer>(db: &C, actor: &Actor, id: i64, input: &MappingInput) -> AppResult<()> {
    let current = find(db, actor.org, id).await?;
    let headers: Vec<String> = parse_json(&current.headers)?;
    let mut options = options_of(&current)?;
    let mapping = checked_mapping(current.kind, headers.len(), input, &options)?;
    options.date_order = input.date_order.unwrap_or(options.date_order);
    let from = [ImportStatus::Uploaded, ImportStatus::Checked, ImportStatus::Failed];
    start_job(db, actor, id, (&from, ImportStatus::Checking), RUN_JOB, async |txn| {
        reset_counts(txn, id).await?;
        import::Entity::update_many()
            .col_expr(import::Column::Mapping, Expr::value(json!(mapping).to_string()))
            .col_expr(import::Column::Options, Expr::value(json!(options).to_string()))
            .filter(import::Column::Id.eq(id))
            .exec(txn)
            .await?;
        result::Entity::delete_many().filter(result::Column::ImportId.eq(id)).exec(txn).await?;
        Ok(())
    })
    .await?;
    tracing::info!(import_id = id, "import check queued");
    Ok(())
}

/// Starts the import of a checked file, with the columns checked.
pub async fn start<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    find(db, actor.org, id).await?;
    start_job(db, actor, id, (&[ImportStatus::Checked], ImportStatus::Importing), RUN_JOB, async |txn| {
        reset_counts(txn, id).await?;
        result::Entity::delete_many()
            .filter(result::Column::ImportId.eq(id))
            .filter(result::Column::Phase.eq(Phase::Import.as_str()))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await?;
    tracing::info!(import_id = id, "import queued");
    Ok(())
}

/// A row's result, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowResult {
    /// The row's line in the file (the headers are line 1).
    pub line: i64,
    /// `created`, `updated`, `unchanged` or `refused`.
    pub outcome: String,
    /// What names the row (a plate, a name).
    pub label: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Check,
    Import,
}

impl Phase {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Import => "import",
        }
    }
}

/// A page of the rows' results of a phase, in file order after line `after`,
/// those with `outcome` only if given.
pub async fn results(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: i64,
    phase: Phase,
    outcome: Option<&str>,
    after: i64,
    limit: u64,
) -> AppResult<Vec<RowResult>> {
    find(db, org, id).await?;
    let mut query = result::Entity::find()
        .filter(result::Column::ImportId.eq(id))
        .filter(result::Column::Phase.eq(phase.as_str()))
        .filter(result::Column::Line.gt(after));
    if let Some(outcome) = outcome {
        query = query.filter(result::Column::Outcome.eq(outcome));
    }
    Ok(query
        .order_by_asc(result::Column::Line)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|r| RowResult { line: r.line, outcome: r.outcome, label: r.label, reason: r.reason })
        .collect())
}

/// Why a run stops: a file that cannot be read to its end, a row refused to
/// an undo (both end the run, not retried), an error to retry, or another
/// runner of the same job having moved the import on.
enum Stop {
    Refused(String),
    App(AppError),
    /// The check's batch was applied; its transaction is rolled back with its results.
    Checked(Vec<RowResult>),
    /// The import's progress is not where this runner left it: another runner has it.
    Superseded,
}

impl From<sea_orm::DbErr> for Stop {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::App(err.into())
    }
}

impl From<AppError> for Stop {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

/// A refusal a row can get (its data), as against a failure of the server (retried).
fn is_refusal(err: &AppError) -> bool {
    !matches!(err, AppError::Database(_) | AppError::Internal(_) | AppError::Unavailable(_))
}

/// A refusal in words, each field named as the mapping screen names it.
fn describe(err: &AppError, kind: ImportKind, locale: Locale) -> String {
    match err {
        AppError::Validation(errors) => errors
            .iter()
            .map(|e| {
                let name = e.field.strip_suffix("_id").unwrap_or(&e.field);
                let field = kind
                    .fields()
                    .iter()
                    .find(|f| f.key == e.field || f.key == name)
                    .map_or(e.field.as_str(), |f| locale.text(f.label));
                locale.format("import.refusal_field", &[("field", field), ("message", &e.message.render(locale))])
            })
            .collect::<Vec<_>>()
            .join(" ; "),
        other => other.detail(locale),
    }
}

/// A change as written: the undo takes them back by `seq`, newest first, and a
/// row's own changes in reverse (an ownership before its vehicle, a vehicle
/// before the owner created with it).
struct Numbered {
    seq: i64,
    change: Change,
}

/// Applies rows, each in its own savepoint: a refused row leaves nothing behind.
async fn apply_rows(
    txn: &DatabaseTransaction,
    actor: &Actor,
    context: &Context,
    kind: ImportKind,
    locale: Locale,
    rows: &[Row],
) -> AppResult<(Vec<RowResult>, Vec<Numbered>)> {
    let (mut results, mut changes) = (Vec::with_capacity(rows.len()), Vec::new());
    for row in rows {
        let line = i64::try_from(row.line).unwrap_or(i64::MAX / 32);
        match db::write(txn, async |savepoint| context.apply(savepoint, actor, row).await).await {
            Ok(applied) => {
                let label = if applied.label.is_empty() { kind.label_of(row) } else { applied.label };
                results.push(RowResult { line, outcome: applied.outcome.as_str().to_owned(), label, reason: None });
                // A row writes a handful of records (a client, a vehicle, an ownership).
                let numbered = applied.changes.into_iter().enumerate().map(|(i, change)| Numbered {
                    seq: line.saturating_mul(16).saturating_add(i64::try_from(i.min(15)).unwrap_or(15)),
                    change,
                });
                changes.extend(numbered);
            }
            Err(err) if is_refusal(&err) => results.push(RowResult {
                line,
                outcome: "refused".to_owned(),
                label: kind.label_of(row),
                reason: Some(describe(&err, kind, locale)),
            }),
            Err(err) => return Err(err),
        }
    }
    Ok((results, changes))
}

/// Where a runner expects the import to be: its status and progress.
#[derive(Debug, Clone, Copy)]
struct Expected {
    status: ImportStatus,
    processed: i64,
    job_id: i64,
}

/// Writes a batch's results and changes, and counts them in the import's
/// progress — only if the progress is where this runner expects it (else
/// another runner has the job: `Superseded`, the batch rolled back).
async fn record(
    txn: &DatabaseTransaction,
    cipher: &FieldCipher,
    (id, phase, expected): (i64, Phase, Expected),
    results: &[RowResult],
    changes: Vec<Numbered>,
) -> Result<(), Stop> {
    let count = |outcome: &str| results.iter().filter(|r| r.outcome == outcome).count() as i64;
    let moved = import::Entity::update_many()
        .col_expr(import::Column::ProcessedRows, Expr::col(import::Column::ProcessedRows).add(results.len() as i64))
        .col_expr(import::Column::CreatedRows, Expr::col(import::Column::CreatedRows).add(count("created")))
        .col_expr(import::Column::UpdatedRows, Expr::col(import::Column::UpdatedRows).add(count("updated")))
        .col_expr(import::Column::RefusedRows, Expr::col(import::Column::RefusedRows).add(count("refused")))
        .col_expr(import::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(import::Column::Id.eq(id))
        .filter(import::Column::Status.eq(expected.status.as_str()))
        .filter(import::Column::ProcessedRows.eq(expected.processed))
        .filter(import::Column::JobId.eq(expected.job_id))
        .exec(txn)
        .await?;
    if moved.rows_affected == 0 {
        return Err(Stop::Superseded);
    }
    let rows: Vec<result::ActiveModel> = results
        .iter()
        .map(|r| result::ActiveModel {
            import_id: Set(id),
            phase: Set(phase.as_str().to_owned()),
            line: Set(r.line),
            outcome: Set(r.outcome.clone()),
            label: Set(r.label.chars().take(255).collect()),
            reason: Set(r.reason.clone()),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        result::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    // One change per record: the first says what to undo and where it goes in
    // the undo's order; the last, when the record was written.
    let mut merged: Vec<change::ActiveModel> = Vec::new();
    let mut at: HashMap<(&'static str, i64), usize> = HashMap::new();
    for Numbered { seq, change: c } in changes {
        if let Some(&i) = at.get(&(c.entity, c.id)) {
            merged[i].stamp = Set(c.stamp);
            continue;
        }
        at.insert((c.entity, c.id), merged.len());
        let previous = c.previous.map(|p| cipher.encrypt(PREVIOUS, &p.to_string())).transpose()?;
        merged.push(change::ActiveModel {
            import_id: Set(id),
            entity: Set(c.entity.to_owned()),
            entity_id: Set(c.id),
            seq: Set(seq),
            action: Set(if c.created { "created" } else { "updated" }.to_owned()),
            label: Set(c.label.chars().take(255).collect()),
            previous: Set(previous),
            stamp: Set(c.stamp),
        });
    }
    if !merged.is_empty() {
        change::Entity::insert_many(merged)
            .on_conflict(
                OnConflict::columns([change::Column::ImportId, change::Column::Entity, change::Column::EntityId])
                    .update_column(change::Column::Stamp)
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The encryption context of changes' previous fields.
const PREVIOUS: &str = "import_change";

/// Who acts for a run: the person who asked for it (the job's), else the uploader.
fn actor_of(model: &import::Model, job: &ClaimedJob) -> Actor {
    let asked = job.payload.get("user_id").and_then(serde_json::Value::as_i64);
    Actor { user_id: asked.or(model.created_by), ..Actor::system(OrgId::new(model.organization_id)) }
}

/// Ends a run: the import's new status, no longer active; an audit record
/// for an import or an undo that went through.
async fn finish(
    db: &DatabaseConnection,
    (model, actor): (&import::Model, &Actor),
    status: ImportStatus,
    error: Option<String>,
) -> AppResult<()> {
    db::write(db, async |txn| {
        let now = Utc::now();
        let mut update = import::Entity::update_many()
            .col_expr(import::Column::Status, Expr::value(status.as_str()))
            .col_expr(import::Column::Active, Expr::value(false))
            .col_expr(import::Column::Error, Expr::value(error.clone()))
            .col_expr(import::Column::FinishedAt, Expr::value(Some(now)))
            .col_expr(import::Column::UpdatedAt, Expr::value(now));
        if status == ImportStatus::Undone {
            // What the file said of people is not kept once its import is taken back.
            update = update.col_expr(import::Column::Sample, Expr::value(""));
        }
        let run = match model.job_id {
            Some(job) => import::Column::JobId.eq(job),
            None => import::Column::JobId.is_null(),
        };
        let done = update
            .filter(import::Column::Id.eq(model.id))
            .filter(import::Column::Status.eq(model.status.as_str()))
            .filter(run)
            .exec(txn)
            .await?;
        if done.rows_affected == 1 && error.is_none() && matches!(status, ImportStatus::Imported | ImportStatus::Undone)
        {
            let after = import::Entity::find_by_id(model.id).one(txn).await?;
            let details = after.map(|a| {
                json!({ "status": status, "kind": a.kind, "file_name": a.file_name, "rows": a.total_rows,
                    "created": a.created_rows, "updated": a.updated_rows, "refused": a.refused_rows })
            });
            audit::record_change(txn, actor, (AUDIT_ENTITY, model.id), None::<&serde_json::Value>, details.as_ref())
                .await?;
        }
        Ok(())
    })
    .await
}

/// The job of a check or an import: every row from where the last commit left off.
pub async fn run_job(
    db: &DatabaseConnection,
    files: &FileStore,
    cipher: &std::sync::Arc<FieldCipher>,
    job: &ClaimedJob,
) -> JobResult {
    let id = job.id_field("import_id")?;
    let Some(model) = import::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    if model.job_id != Some(job.id) {
        // A run asked for before the current one: not this job's import any more.
        return Ok(());
    }
    let (phase, done) = match model.status {
        ImportStatus::Checking => (Phase::Check, ImportStatus::Checked),
        // An import stopped halfway stays imported (what it wrote can be undone), the reason said.
        ImportStatus::Importing => (Phase::Import, ImportStatus::Imported),
        _ => return Ok(()),
    };
    let stopped = if phase == Phase::Check { ImportStatus::Failed } else { ImportStatus::Imported };
    let actor = actor_of(&model, job);
    let ended = match run(db, files, cipher, (&model, &actor, job.id), phase).await {
        Ok(()) => finish(db, (&model, &actor), done, None).await,
        Err(Stop::Superseded) => return Ok(()),
        Err(Stop::Refused(reason)) => finish(db, (&model, &actor), stopped, Some(reason)).await,
        Err(Stop::App(err)) if job.is_last_attempt() => {
            let reason = model.locale.text("import.failed_server").to_owned();
            finish(db, (&model, &actor), stopped, Some(reason)).await?;
            return Err(JobError::from(err));
        }
        Err(Stop::App(err)) => return Err(JobError::from(err)),
        Err(Stop::Checked(_)) => Err(AppError::Internal("a check's batch escaped".to_owned())),
    };
    ended.map_err(JobError::from)
}

async fn run(
    db: &DatabaseConnection,
    files: &FileStore,
    cipher: &std::sync::Arc<FieldCipher>,
    (model, actor, job): (&import::Model, &Actor, i64),
    phase: Phase,
) -> Result<(), Stop> {
    let locale = model.locale;
    let bytes = files
        .get(&model.file_key)
        .await
        .map_err(|e| Stop::App(AppError::Unavailable(e)))?
        .ok_or_else(|| Stop::Refused(locale.text("import.file_missing").to_owned()))?;
    let bytes = cipher.decrypt_bytes(FILE, &bytes)?;
    let kind = model.kind;
    let fields = kind.fields();
    let mapping = mapping_of(model)?;
    let options = options_of(model)?;
    let context = Context::load(db, cipher, actor.org, kind, (&options, locale)).await?;
    let mut expected = Expected { status: model.status, processed: model.processed_rows, job_id: job };
    let skip = u64::try_from(model.processed_rows).unwrap_or(0);
    let mut batches = table::read_rows(bytes, skip, BATCH);
    while let Some(batch) = batches.recv().await {
        let batch = batch.map_err(|e| Stop::Refused(file_refused(&e).detail(locale)))?;
        let rows: Vec<Row> = batch.iter().map(|r| Row::new(r.line, fields, &mapping, &r.cells)).collect();
        let at = (model.id, phase, expected);
        match phase {
            Phase::Check => {
                let checked = db::write(db, async |txn| -> Result<(), Stop> {
                    let (results, _) = apply_rows(txn, actor, &context, kind, locale, &rows).await?;
                    Err(Stop::Checked(results))
                })
                .await;
                let results = match checked {
                    Err(Stop::Checked(results)) => results,
                    Err(other) => return Err(other),
                    Ok(()) => Vec::new(),
                };
                db::write(db, async |txn| record(txn, cipher, at, &results, Vec::new()).await).await?;
            }
            Phase::Import => {
                db::write(db, async |txn| {
                    let (results, changes) = apply_rows(txn, actor, &context, kind, locale, &rows).await?;
                    record(txn, cipher, at, &results, changes).await
                })
                .await?;
            }
        }
        expected.processed += rows.len() as i64;
    }
    Ok(())
}

fn change_of(c: &change::Model, cipher: &FieldCipher) -> AppResult<Change> {
    let previous = c.previous.as_deref().map(|p| cipher.decrypt(PREVIOUS, p)).transpose()?;
    Ok(Change {
        entity: super::entity_name(&c.entity)?,
        id: c.entity_id,
        label: c.label.clone(),
        created: c.action == "created",
        previous: previous.as_deref().map(parse_json).transpose()?,
        stamp: c.stamp,
    })
}

/// Records of the import changed or deleted since it wrote them (their labels,
/// at most `limit`), read a page at a time; with `deep`, also those it created
/// that have gained what taking them back would destroy (documents, quotes…).
async fn blocked(db: &impl ConnectionTrait, org: OrgId, id: i64, limit: usize, deep: bool) -> AppResult<Vec<String>> {
    let own = if deep { own_ownerships(db, id).await? } else { std::collections::HashSet::new() };
    let mut found = Vec::new();
    let mut after = i64::MIN;
    loop {
        let page = change::Entity::find()
            .filter(change::Column::ImportId.eq(id))
            .filter(change::Column::Seq.gt(after))
            .order_by_asc(change::Column::Seq)
            .limit(1000)
            .all(db)
            .await?;
        let Some(last) = page.last() else { return Ok(found) };
        after = last.seq;
        found.extend(changed_among(db, org, &page).await?);
        if deep {
            for c in page.iter().filter(|c| c.action == "created") {
                let probe = Change {
                    entity: super::entity_name(&c.entity)?,
                    id: c.entity_id,
                    label: c.label.clone(),
                    created: true,
                    previous: None,
                    stamp: c.stamp,
                };
                if found.len() < limit && super::in_use(db, org, &probe, &own).await? {
                    found.push(c.label.clone());
                }
            }
        }
        if found.len() >= limit {
            found.truncate(limit);
            return Ok(found);
        }
    }
}

/// The ownerships the import gave vehicles (taken back before the vehicles).
async fn own_ownerships(db: &impl ConnectionTrait, id: i64) -> AppResult<std::collections::HashSet<i64>> {
    let ids: Vec<i64> = change::Entity::find()
        .select_only()
        .column(change::Column::EntityId)
        .filter(change::Column::ImportId.eq(id))
        .filter(change::Column::Entity.eq(super::OWNERSHIP))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

async fn changed_among(db: &impl ConnectionTrait, org: OrgId, page: &[change::Model]) -> AppResult<Vec<String>> {
    let mut by_entity: HashMap<&str, Vec<i64>> = HashMap::new();
    for c in page {
        by_entity.entry(c.entity.as_str()).or_default().push(c.entity_id);
    }
    let mut stamps = HashMap::new();
    for (entity, ids) in by_entity {
        for (record, stamp) in super::stamps(db, org, entity, &ids).await? {
            stamps.insert((entity.to_owned(), record), stamp);
        }
    }
    Ok(page
        .iter()
        .filter(|c| stamps.get(&(c.entity.clone(), c.entity_id)) != Some(&c.stamp))
        .map(|c| c.label.clone())
        .collect())
}

/// Starts undoing the organization's last import, refused (409) when another
/// import came after it or when one of its records changed since; the job
/// looks deeper before it touches anything (what was added to the records).
pub async fn undo<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let current = find(db, actor.org, id).await?;
    if current.status != ImportStatus::Imported {
        return Err(AppError::conflict("import_state", Msg::new("import.wrong_state")));
    }
    let later = tenant::scoped::<import::Entity>(actor.org)
        .filter(import::Column::Id.gt(id))
        .filter(import::Column::Status.is_in([
            ImportStatus::Importing.as_str(),
            ImportStatus::Imported.as_str(),
            ImportStatus::Undoing.as_str(),
        ]))
        .count(db)
        .await?;
    if later > 0 {
        return Err(AppError::conflict("import_not_last", Msg::new("import.not_last")));
    }
    let changed = blocked(db, actor.org, id, 5, false).await?;
    if !changed.is_empty() {
        return Err(AppError::conflict(
            "import_changed_since",
            Msg::new("import.changed_since").arg("records", changed.join(", ")),
        ));
    }
    let changes = change::Entity::find().filter(change::Column::ImportId.eq(id)).count(db).await?;
    start_job(db, actor, id, (&[ImportStatus::Imported], ImportStatus::Undoing), UNDO_JOB, async |txn| {
        import::Entity::update_many()
            .col_expr(import::Column::UndoTotal, Expr::value(i64::try_from(changes).unwrap_or(i64::MAX)))
            .col_expr(import::Column::UndoneRows, Expr::value(0))
            .filter(import::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await?;
    tracing::info!(import_id = id, changes, "import undo queued");
    Ok(())
}

/// The job of an undo: first every change looked at without writing (each
/// record as the import left it, none grown documents, quotes or history);
/// then the changes, newest first, a batch per transaction. One found changed
/// ends it before anything is undone; a refusal met later (someone worked on a
/// record meanwhile) stops it there, the import still imported, the reason said.
pub async fn undo_job(db: &DatabaseConnection, files: &FileStore, cipher: &FieldCipher, job: &ClaimedJob) -> JobResult {
    let id = job.id_field("import_id")?;
    let Some(model) = import::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    if model.status != ImportStatus::Undoing || model.job_id != Some(job.id) {
        return Ok(());
    }
    let actor = actor_of(&model, job);
    let ended = match undo_all(db, cipher, (&model, &actor)).await {
        Ok(()) => {
            let _ = files.delete(&model.file_key).await;
            finish(db, (&model, &actor), ImportStatus::Undone, None).await
        }
        Err(Stop::Superseded) => return Ok(()),
        Err(Stop::Refused(reason)) => finish(db, (&model, &actor), ImportStatus::Imported, Some(reason)).await,
        Err(Stop::App(err)) if job.is_last_attempt() => {
            let reason = model.locale.text("import.failed_server").to_owned();
            finish(db, (&model, &actor), ImportStatus::Imported, Some(reason)).await?;
            return Err(JobError::from(err));
        }
        Err(Stop::App(err)) => return Err(JobError::from(err)),
        Err(Stop::Checked(_)) => Err(AppError::Internal("an undo's batch escaped".to_owned())),
    };
    ended.map_err(JobError::from)
}

async fn undo_all(
    db: &DatabaseConnection,
    cipher: &FieldCipher,
    (model, actor): (&import::Model, &Actor),
) -> Result<(), Stop> {
    let (id, locale, org) = (model.id, model.locale, actor.org);
    let blocking = blocked(db, org, id, 5, true).await?;
    let own = own_ownerships(db, id).await?;
    if !blocking.is_empty() {
        return Err(Stop::Refused(locale.format("import.changed_since", &[("records", &blocking.join(", "))])));
    }
    let mut undone = model.undone_rows;
    loop {
        let batch = change::Entity::find()
            .filter(change::Column::ImportId.eq(id))
            .order_by_desc(change::Column::Seq)
            .limit(BATCH as u64)
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        let count = batch.len() as i64;
        db::write(db, async |txn| -> Result<(), Stop> {
            let moved = import::Entity::update_many()
                .col_expr(import::Column::UndoneRows, Expr::col(import::Column::UndoneRows).add(count))
                .col_expr(import::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(import::Column::Id.eq(id))
                .filter(import::Column::Status.eq(ImportStatus::Undoing.as_str()))
                .filter(import::Column::UndoneRows.eq(undone))
                .filter(import::Column::JobId.eq(model.job_id))
                .exec(txn)
                .await?;
            if moved.rows_affected == 0 {
                return Err(Stop::Superseded);
            }
            let stop = |records: &str, done: i64| {
                let total = model.undo_total.to_string();
                Stop::Refused(locale.format(
                    "import.undo_stopped",
                    &[("records", records), ("done", &done.to_string()), ("total", &total)],
                ))
            };
            let changed = changed_among(txn, org, &batch).await?;
            if !changed.is_empty() {
                return Err(stop(&changed.into_iter().take(5).collect::<Vec<_>>().join(", "), undone));
            }
            for c in &batch {
                let change = change_of(c, cipher)?;
                let refused = |detail: String| stop(&format!("{} ({detail})", c.label), undone);
                if change.created && super::in_use(txn, org, &change, &own).await? {
                    return Err(refused(locale.text("import.in_use").to_owned()));
                }
                match db::write(txn, async |savepoint| super::undo(savepoint, cipher, actor, &change).await).await {
                    Ok(()) => {}
                    Err(err) if is_refusal(&err) => return Err(refused(err.detail(locale))),
                    Err(err) => return Err(err.into()),
                }
            }
            let seqs: Vec<i64> = batch.iter().map(|c| c.seq).collect();
            change::Entity::delete_many()
                .filter(change::Column::ImportId.eq(id))
                .filter(change::Column::Seq.is_in(seqs))
                .exec(txn)
                .await?;
            Ok(())
        })
        .await?;
        undone += count;
    }
}

/// Imports' files, first rows and changes' previous fields encrypted again
/// with the current key (key rotation).
pub async fn reencrypt_all(db: &DatabaseConnection, files: &FileStore, cipher: &FieldCipher) -> AppResult<u64> {
    let mut done = 0;
    let kept: Vec<(i64, String, String)> = import::Entity::find()
        .select_only()
        .column(import::Column::Id)
        .column(import::Column::FileKey)
        .column(import::Column::Sample)
        .into_tuple()
        .all(db)
        .await?;
    for (id, key, sample) in kept {
        if let Some(sealed) = files.get(&key).await.map_err(AppError::Unavailable)? {
            let again = cipher.encrypt_bytes(FILE, &cipher.decrypt_bytes(FILE, &sealed)?)?;
            files.put(&key, again).await.map_err(AppError::Unavailable)?;
        }
        if !sample.is_empty() {
            let again = cipher.encrypt(SAMPLE_CONTEXT, &cipher.decrypt(SAMPLE_CONTEXT, &sample)?)?;
            db::write(db, async |txn| -> AppResult<()> {
                import::Entity::update_many()
                    .col_expr(import::Column::Sample, Expr::value(again))
                    .filter(import::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                Ok(())
            })
            .await?;
        }
        done += 1;
    }
    let mut after: Option<(i64, i64)> = None;
    loop {
        let mut query = change::Entity::find().filter(change::Column::Previous.is_not_null());
        if let Some((import_id, seq)) = after {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(change::Column::ImportId.gt(import_id))
                    .add(change::Column::ImportId.eq(import_id).and(change::Column::Seq.gt(seq))),
            );
        }
        let page =
            query.order_by_asc(change::Column::ImportId).order_by_asc(change::Column::Seq).limit(500).all(db).await?;
        let Some(last) = page.last() else { return Ok(done) };
        after = Some((last.import_id, last.seq));
        db::write(db, async |txn| -> AppResult<()> {
            for c in &page {
                let Some(stored) = c.previous.as_deref() else { continue };
                let again = cipher.encrypt(PREVIOUS, &cipher.decrypt(PREVIOUS, stored)?)?;
                change::Entity::update_many()
                    .col_expr(change::Column::Previous, Expr::value(again))
                    .filter(change::Column::ImportId.eq(c.import_id))
                    .filter(change::Column::Entity.eq(c.entity.as_str()))
                    .filter(change::Column::EntityId.eq(c.entity_id))
                    .exec(txn)
                    .await?;
            }
            Ok(())
        })
        .await?;
        done += page.len() as u64;
    }
}

/// How long an import's file, report and changes are kept: past that, it can
/// no longer be undone, and what the file said of people is gone.
pub const KEPT_DAYS: i64 = 180;

/// Deletes imports last touched more than [`KEPT_DAYS`] ago (not at work),
/// their files first.
pub async fn prune(db: &DatabaseConnection, files: &FileStore, now: chrono::DateTime<Utc>) -> AppResult<u64> {
    let before = now - chrono::Duration::days(KEPT_DAYS);
    let old: Vec<(i64, String)> = import::Entity::find()
        .select_only()
        .column(import::Column::Id)
        .column(import::Column::FileKey)
        .filter(import::Column::UpdatedAt.lt(before))
        .filter(import::Column::Active.eq(false))
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    for (_, key) in &old {
        files.delete(key).await.map_err(AppError::Unavailable)?;
    }
    let ids: Vec<i64> = old.iter().map(|(id, _)| *id).collect();
    db::write(db, async |txn| -> AppResult<u64> {
        Ok(import::Entity::delete_many().filter(import::Column::Id.is_in(ids)).exec(txn).await?.rows_affected)
    })
    .await
}

/// Ends runs whose job is over without having ended them (a runner that lost
/// its job's lease, then failed; a crash on the last attempt): the import, no
/// longer active, says so. Only runs quiet for [`QUIET_MINUTES`] are looked at.
pub async fn sweep(db: &DatabaseConnection, now: chrono::DateTime<Utc>) -> AppResult<u64> {
    let quiet = now - chrono::Duration::minutes(QUIET_MINUTES);
    let stuck = import::Entity::find()
        .filter(import::Column::Active.eq(true))
        .filter(import::Column::UpdatedAt.lt(quiet))
        .limit(100)
        .all(db)
        .await?;
    let mut ended = 0;
    for model in stuck {
        let status = match model.job_id {
            Some(job) => jobs::status_of(db, job).await?,
            None => None,
        };
        if matches!(status.as_deref(), Some("queued" | "running")) {
            continue;
        }
        let after = match model.status {
            ImportStatus::Checking => ImportStatus::Failed,
            _ => ImportStatus::Imported,
        };
        let actor = Actor { user_id: model.created_by, ..Actor::system(OrgId::new(model.organization_id)) };
        let reason = model.locale.text("import.failed_server").to_owned();
        finish(db, (&model, &actor), after, Some(reason)).await?;
        tracing::warn!(import_id = model.id, "import run ended by the sweep: its job is over");
        ended += 1;
    }
    Ok(ended)
}

/// Minutes without progress after which an active import's job is looked at.
pub const QUIET_MINUTES: i64 = 15;
pub const SWEEP_JOB: &str = "imports.sweep";
