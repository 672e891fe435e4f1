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
use crate::platform::import::{self as table, Change, Row};
use crate::platform::jobs::{self, ClaimedJob, JobError, JobResult, NewJob};
use crate::platform::tenant::{self, OrgId};

pub const RUN_JOB: &str = "imports.run";
pub const UNDO_JOB: &str = "imports.undo";
/// Rows per transaction: short enough for other writers to take turns between.
pub const BATCH: usize = 500;
/// First rows the mapping screen shows.
const SAMPLE: usize = 5;
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
    /// Why the last run stopped, if it did.
    pub error: Option<String>,
    pub headers: Vec<String>,
    /// The first rows, as the mapping screen shows them.
    pub sample: Vec<Vec<String>>,
    pub mapping: Vec<MappedField>,
    pub created_at: chrono::DateTime<Utc>,
    pub finished_at: Option<chrono::DateTime<Utc>>,
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

impl Import {
    fn from_model(m: import::Model) -> AppResult<Self> {
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
        let unchanged = if m.status == ImportStatus::Undoing || m.status == ImportStatus::Undone {
            0
        } else {
            std::cmp::max(processed - m.created_rows - m.updated_rows - m.refused_rows, 0)
        };
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
            error: m.error,
            headers: parse_json(&m.headers)?,
            sample: parse_json(&m.sample)?,
            mapping,
            created_at: m.created_at,
            finished_at: m.finished_at,
        })
    }

    /// Percent done, for the progress bar.
    pub fn percent(&self) -> i64 {
        if self.total_rows == 0 { 100 } else { (self.processed_rows * 100 / self.total_rows).clamp(0, 100) }
    }
}

impl tenant::Owned for import::Entity {
    const ORGANIZATION_ID: import::Column = import::Column::OrganizationId;
    const ID: import::Column = import::Column::Id;
}

async fn find(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<import::Model> {
    tenant::find::<import::Entity>(db, org, id).await
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Import> {
    Import::from_model(find(db, org, id).await?)
}

/// The organization's last 50 imports, newest first.
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<Import>> {
    tenant::scoped::<import::Entity>(org)
        .order_by_desc(import::Column::Id)
        .limit(50)
        .all(db)
        .await?
        .into_iter()
        .map(Import::from_model)
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
    files: &FileStore,
    actor: &Actor,
    kind: ImportKind,
    file_name: Option<String>,
    bytes: Vec<u8>,
) -> AppResult<Import> {
    if bytes.is_empty() {
        return Err(AppError::validation("file", Msg::new("field.required")));
    }
    let (preview, bytes) = tokio::task::spawn_blocking(move || (table::preview(&bytes, SAMPLE), bytes))
        .await
        .map_err(|e| AppError::Internal(format!("reading an import: {e}")))?;
    let preview = preview.map_err(|e| file_refused(&e))?;
    let guessed = table::guess(kind.fields(), &preview.headers);
    let sample: Vec<Vec<String>> = preview.sample.into_iter().map(|r| r.cells).collect();
    let key = format!("imports/{}/{}", actor.org.get(), crate::platform::secrets::random_token(16)?);
    files.put(&key, bytes).await.map_err(AppError::Unavailable)?;
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
        headers: Set(json!(preview.headers).to_string()),
        sample: Set(json!(sample).to_string()),
        mapping: Set(Some(json!(guessed).to_string())),
        status: Set(ImportStatus::Uploaded),
        active: Set(false),
        total_rows: Set(i64::try_from(preview.rows).unwrap_or(i64::MAX)),
        processed_rows: Set(0),
        created_rows: Set(0),
        updated_rows: Set(0),
        refused_rows: Set(0),
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
    Import::from_model(saved)
}

/// The columns chosen for the kind's fields: field key → column index.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MappingInput {
    /// Each field to import and the index of its column in `headers`; fields left out are not imported.
    #[schema(example = json!({"license_plate": 0, "brand": 1, "model": 2, "year": 3}))]
    pub mapping: HashMap<String, usize>,
}

fn checked_mapping(kind: ImportKind, headers: usize, input: &MappingInput) -> AppResult<Vec<Option<usize>>> {
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
                Msg::new("import.column_unknown").arg("column", column + 1),
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
    if errors.is_empty() { Ok(mapping) } else { Err(AppError::Validation(errors)) }
}

fn busy(err: sea_orm::DbErr) -> AppError {
    AppError::conflict("import_busy", Msg::new("import.busy")).if_refused(err, Constraint::is_unique)
}

/// Starts a job on the import, moving it from one of `from` to `to` (and
/// making it the organization's one active import).
async fn start_job<C: Writer>(
    db: &C,
    org: OrgId,
    id: i64,
    from: &[ImportStatus],
    to: ImportStatus,
    job: &'static str,
    also: impl AsyncFnOnce(&DatabaseTransaction) -> AppResult<()>,
) -> AppResult<()> {
    db::write(db, async |txn| {
        let moved = import::Entity::update_many()
            .col_expr(import::Column::Status, Expr::value(to.as_str()))
            .col_expr(import::Column::Active, Expr::value(true))
            .col_expr(import::Column::ProcessedRows, Expr::value(0))
            .col_expr(import::Column::CreatedRows, Expr::value(0))
            .col_expr(import::Column::UpdatedRows, Expr::value(0))
            .col_expr(import::Column::RefusedRows, Expr::value(0))
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
        jobs::enqueue(txn, NewJob::new(job, json!({ "import_id": id })).for_org(org)).await?;
        Ok(())
    })
    .await
}

/// Sets the columns and starts the check (the dry run) of every row.
pub async fn check<C: Writer>(db: &C, actor: &Actor, id: i64, input: &MappingInput) -> AppResult<Import> {
    let current = find(db, actor.org, id).await?;
    let headers: Vec<String> = parse_json(&current.headers)?;
    let mapping = checked_mapping(current.kind, headers.len(), input)?;
    let from = [ImportStatus::Uploaded, ImportStatus::Checked, ImportStatus::Failed];
    start_job(db, actor.org, id, &from, ImportStatus::Checking, RUN_JOB, async |txn| {
        import::Entity::update_many()
            .col_expr(import::Column::Mapping, Expr::value(json!(mapping).to_string()))
            .filter(import::Column::Id.eq(id))
            .exec(txn)
            .await?;
        result::Entity::delete_many().filter(result::Column::ImportId.eq(id)).exec(txn).await?;
        Ok(())
    })
    .await?;
    tracing::info!(import_id = id, "import check queued");
    get(db, actor.org, id).await
}

/// Starts the import of a checked file, with the columns checked.
pub async fn start<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<Import> {
    find(db, actor.org, id).await?;
    start_job(db, actor.org, id, &[ImportStatus::Checked], ImportStatus::Importing, RUN_JOB, async |txn| {
        result::Entity::delete_many()
            .filter(result::Column::ImportId.eq(id))
            .filter(result::Column::Phase.eq(Phase::Import.as_str()))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await?;
    tracing::info!(import_id = id, "import queued");
    get(db, actor.org, id).await
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

/// Why a run stops: a file that cannot be read to its end (the import fails,
/// not retried), a refusal the whole batch rolls back for, or an error to retry.
enum Stop {
    Refused(String),
    App(AppError),
    /// The check's batch was applied; its transaction is rolled back with its results.
    Checked(Vec<RowResult>),
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

/// Applies rows, each in its own savepoint: a refused row leaves nothing behind.
async fn apply_rows(
    txn: &DatabaseTransaction,
    actor: &Actor,
    context: &Context,
    kind: ImportKind,
    locale: Locale,
    rows: &[Row],
) -> AppResult<(Vec<RowResult>, Vec<(i64, Change)>)> {
    let (mut results, mut changes) = (Vec::with_capacity(rows.len()), Vec::new());
    for row in rows {
        let line = i64::try_from(row.line).unwrap_or(i64::MAX);
        match db::write(txn, async |savepoint| context.apply(savepoint, actor, row).await).await {
            Ok(applied) => {
                let label = if applied.label.is_empty() { kind.label_of(row) } else { applied.label };
                results.push(RowResult { line, outcome: applied.outcome.as_str().to_owned(), label, reason: None });
                changes.extend(applied.changes.into_iter().map(|c| (line, c)));
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

/// Writes a batch's results and changes, and counts them in the import's progress.
async fn record(
    txn: &DatabaseTransaction,
    id: i64,
    phase: Phase,
    results: &[RowResult],
    changes: Vec<(i64, Change)>,
) -> AppResult<()> {
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
    // One change per record: the first says what to undo, the last when it was written.
    let mut merged: Vec<change::ActiveModel> = Vec::new();
    let mut at: HashMap<(&'static str, i64), usize> = HashMap::new();
    for (position, (line, c)) in changes.into_iter().enumerate() {
        if let Some(&i) = at.get(&(c.entity, c.id)) {
            merged[i].stamp = Set(c.stamp);
            continue;
        }
        at.insert((c.entity, c.id), merged.len());
        merged.push(change::ActiveModel {
            import_id: Set(id),
            entity: Set(c.entity.to_owned()),
            entity_id: Set(c.id),
            seq: Set(line * 16 + i64::try_from(position % 16).unwrap_or(0)),
            action: Set(if c.created { "created" } else { "updated" }.to_owned()),
            label: Set(c.label.chars().take(255).collect()),
            previous: Set(c.previous.map(|p| p.to_string())),
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
    let count = |outcome: &str| results.iter().filter(|r| r.outcome == outcome).count() as i64;
    import::Entity::update_many()
        .col_expr(import::Column::ProcessedRows, Expr::col(import::Column::ProcessedRows).add(results.len() as i64))
        .col_expr(import::Column::CreatedRows, Expr::col(import::Column::CreatedRows).add(count("created")))
        .col_expr(import::Column::UpdatedRows, Expr::col(import::Column::UpdatedRows).add(count("updated")))
        .col_expr(import::Column::RefusedRows, Expr::col(import::Column::RefusedRows).add(count("refused")))
        .col_expr(import::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(import::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Who acts for an import run by a worker: the person who started it.
fn actor_of(model: &import::Model) -> Actor {
    Actor { user_id: model.created_by, ..Actor::system(OrgId::new(model.organization_id)) }
}

/// Ends a run: the import's new status, no longer active.
async fn finish(
    db: &DatabaseConnection,
    model: &import::Model,
    status: ImportStatus,
    error: Option<String>,
) -> AppResult<()> {
    let actor = actor_of(model);
    db::write(db, async |txn| {
        let now = Utc::now();
        let done = import::Entity::update_many()
            .col_expr(import::Column::Status, Expr::value(status.as_str()))
            .col_expr(import::Column::Active, Expr::value(false))
            .col_expr(import::Column::Error, Expr::value(error.clone()))
            .col_expr(import::Column::FinishedAt, Expr::value(Some(now)))
            .col_expr(import::Column::UpdatedAt, Expr::value(now))
            .filter(import::Column::Id.eq(model.id))
            .filter(import::Column::Status.eq(model.status.as_str()))
            .exec(txn)
            .await?;
        if done.rows_affected == 1 && matches!(status, ImportStatus::Imported | ImportStatus::Undone) {
            let after = import::Entity::find_by_id(model.id).one(txn).await?;
            let details = after.map(|a| {
                json!({ "status": status, "kind": a.kind, "file_name": a.file_name, "rows": a.total_rows,
                    "created": a.created_rows, "updated": a.updated_rows, "refused": a.refused_rows })
            });
            audit::record_change(txn, &actor, (AUDIT_ENTITY, model.id), None::<&serde_json::Value>, details.as_ref())
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
    let phase = match model.status {
        ImportStatus::Checking => Phase::Check,
        ImportStatus::Importing => Phase::Import,
        _ => return Ok(()),
    };
    let ended = match run(db, files, cipher, &model, phase).await {
        Ok(()) => {
            finish(db, &model, if phase == Phase::Check { ImportStatus::Checked } else { ImportStatus::Imported }, None)
                .await
        }
        Err(Stop::Refused(reason)) => finish(db, &model, ImportStatus::Failed, Some(reason)).await,
        Err(Stop::App(err)) if job.is_last_attempt() => {
            let reason = model.locale.text("import.failed_server").to_owned();
            finish(db, &model, ImportStatus::Failed, Some(reason)).await?;
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
    model: &import::Model,
    phase: Phase,
) -> Result<(), Stop> {
    let locale = model.locale;
    let bytes = files
        .get(&model.file_key)
        .await
        .map_err(|e| Stop::App(AppError::Unavailable(e)))?
        .ok_or_else(|| Stop::Refused(locale.text("import.file_missing").to_owned()))?;
    let (kind, actor) = (model.kind, actor_of(model));
    let fields = kind.fields();
    let mapping = mapping_of(model)?;
    let context = Context::load(db, cipher, actor.org, kind).await?;
    let skip = u64::try_from(model.processed_rows).unwrap_or(0);
    let mut batches = table::read_rows(bytes, skip, BATCH);
    while let Some(batch) = batches.recv().await {
        let batch = batch.map_err(|e| Stop::Refused(file_refused(&e).detail(locale)))?;
        let rows: Vec<Row> = batch.iter().map(|r| Row::new(r.line, fields, &mapping, &r.cells)).collect();
        match phase {
            Phase::Check => {
                let checked = db::write(db, async |txn| -> Result<(), Stop> {
                    let (results, _) = apply_rows(txn, &actor, &context, kind, locale, &rows).await?;
                    Err(Stop::Checked(results))
                })
                .await;
                let results = match checked {
                    Err(Stop::Checked(results)) => results,
                    Err(other) => return Err(other),
                    Ok(()) => Vec::new(),
                };
                db::write(db, async |txn| record(txn, model.id, phase, &results, Vec::new()).await).await?;
            }
            Phase::Import => {
                db::write(db, async |txn| {
                    let (results, changes) = apply_rows(txn, &actor, &context, kind, locale, &rows).await?;
                    record(txn, model.id, phase, &results, changes).await
                })
                .await?;
            }
        }
    }
    Ok(())
}

/// Records of the import changed or deleted since it wrote them (their labels,
/// at most `limit`), read a page at a time.
async fn changed_since(db: &impl ConnectionTrait, org: OrgId, id: i64, limit: usize) -> AppResult<Vec<String>> {
    let mut changed = Vec::new();
    let mut after = i64::MIN;
    loop {
        let page = change::Entity::find()
            .filter(change::Column::ImportId.eq(id))
            .filter(change::Column::Seq.gt(after))
            .order_by_asc(change::Column::Seq)
            .limit(1000)
            .all(db)
            .await?;
        let Some(last) = page.last() else { return Ok(changed) };
        after = last.seq;
        changed.extend(changed_among(db, org, &page).await?);
        if changed.len() >= limit {
            changed.truncate(limit);
            return Ok(changed);
        }
    }
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
/// import came after it or when one of its records changed since.
pub async fn undo<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<Import> {
    let current = find(db, actor.org, id).await?;
    if current.status != ImportStatus::Imported {
        return Err(AppError::conflict("import_state", Msg::new("import.wrong_state")));
    }
    let later = tenant::scoped::<import::Entity>(actor.org)
        .filter(import::Column::Id.gt(id))
        .filter(import::Column::Status.is_in([ImportStatus::Importing.as_str(), ImportStatus::Imported.as_str()]))
        .count(db)
        .await?;
    if later > 0 {
        return Err(AppError::conflict("import_not_last", Msg::new("import.not_last")));
    }
    let changed = changed_since(db, actor.org, id, 5).await?;
    if !changed.is_empty() {
        return Err(AppError::conflict(
            "import_changed_since",
            Msg::new("import.changed_since").arg("records", changed.join(", ")),
        ));
    }
    let changes = change::Entity::find().filter(change::Column::ImportId.eq(id)).count(db).await?;
    start_job(db, actor.org, id, &[ImportStatus::Imported], ImportStatus::Undoing, UNDO_JOB, async |txn| {
        import::Entity::update_many()
            .col_expr(import::Column::TotalRows, Expr::value(i64::try_from(changes).unwrap_or(i64::MAX)))
            .filter(import::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await?;
    tracing::info!(import_id = id, changes, "import undo queued");
    get(db, actor.org, id).await
}

/// The job of an undo: the changes, newest first, a batch per transaction; it
/// stops (the import stays imported, the reason said) at a record changed
/// since or one its domain refuses to take back (a client with a quote now).
pub async fn undo_job(db: &DatabaseConnection, cipher: &FieldCipher, job: &ClaimedJob) -> JobResult {
    let id = job.id_field("import_id")?;
    let Some(model) = import::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    if model.status != ImportStatus::Undoing {
        return Ok(());
    }
    let (actor, locale) = (actor_of(&model), model.locale);
    loop {
        let batch = change::Entity::find()
            .filter(change::Column::ImportId.eq(id))
            .order_by_desc(change::Column::Seq)
            .limit(BATCH as u64)
            .all(db)
            .await?;
        if batch.is_empty() {
            return finish(db, &model, ImportStatus::Undone, None).await.map_err(JobError::from);
        }
        let undone = db::write(db, async |txn| -> Result<(), Stop> {
            let changed = changed_among(txn, actor.org, &batch).await?;
            if !changed.is_empty() {
                let records = changed.into_iter().take(5).collect::<Vec<_>>().join(", ");
                return Err(Stop::Refused(locale.format("import.changed_since", &[("records", &records)])));
            }
            for c in &batch {
                let entity = super::entity_name(&c.entity)?;
                let previous = c.previous.as_deref().map(parse_json).transpose()?;
                let undo = Change {
                    entity,
                    id: c.entity_id,
                    label: c.label.clone(),
                    created: c.action == "created",
                    previous,
                    stamp: c.stamp,
                };
                match db::write(txn, async |savepoint| super::undo(savepoint, cipher, &actor, &undo).await).await {
                    Ok(()) => {}
                    Err(err) if is_refusal(&err) => {
                        return Err(Stop::Refused(format!("{} : {}", c.label, err.detail(locale))));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            let seqs: Vec<i64> = batch.iter().map(|c| c.seq).collect();
            change::Entity::delete_many()
                .filter(change::Column::ImportId.eq(id))
                .filter(change::Column::Seq.is_in(seqs))
                .exec(txn)
                .await?;
            import::Entity::update_many()
                .col_expr(
                    import::Column::ProcessedRows,
                    Expr::col(import::Column::ProcessedRows).add(batch.len() as i64),
                )
                .col_expr(import::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(import::Column::Id.eq(id))
                .exec(txn)
                .await?;
            Ok(())
        })
        .await;
        match undone {
            Ok(()) => {}
            Err(Stop::Refused(reason)) => {
                // What was undone stays undone; the rest can be undone once the record is put back.
                return finish(db, &model, ImportStatus::Imported, Some(reason)).await.map_err(JobError::from);
            }
            Err(Stop::App(err)) => return Err(JobError::from(err)),
            Err(Stop::Checked(_)) => return Err(JobError("an undo's batch escaped".to_owned())),
        }
    }
}
