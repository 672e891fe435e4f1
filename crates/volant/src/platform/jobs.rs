//! Background jobs: a durable queue in the application's own database.
//!
//! A job is a row of `jobs`, inserted with the transaction of the change that
//! causes it (so neither is ever kept without the other). Workers claim due
//! jobs under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
//! writer on SQLite), run them, and mark them done; a worker that dies leaves
//! its lease to expire and the job is claimed again (at least once — handlers
//! are idempotent). A failure is retried after an exponential backoff with
//! jitter; after `max_attempts` the job is dead until someone retries it.
//!
//! Scheduled jobs are ordinary jobs whose idempotency key names their period
//! (`schedule:<kind>:<period start>`): every instance offers them, the unique
//! index keeps one, so each runs once per period across all instances.

use crate::platform::db::table;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::platform::db::{Writer, statement};
use crate::platform::error::{AppError, AppResult};
use crate::platform::tenant::OrgId;

table! {
    pub mod entity = "jobs" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: Option<i64>,
        pub kind: String,
        pub payload: String,
        pub idempotency_key: Option<String>,
        /// `queued`, `running`, `done` or `dead`.
        pub status: String,
        pub attempts: i32,
        pub max_attempts: i32,
        pub run_at: DateTimeUtc,
        pub locked_by: Option<String>,
        pub locked_until: Option<DateTimeUtc>,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
    }
}

/// Attempts before a job is dead, unless the job says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: serde_json::Value,
    pub organization: Option<OrgId>,
    /// Enqueueing a second job with the same key does nothing.
    pub key: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: serde_json::Value) -> Self {
        Self { kind, payload, organization: None, key: None, run_at: None, max_attempts: DEFAULT_MAX_ATTEMPTS }
    }

    pub fn for_org(mut self, org: OrgId) -> Self {
        self.organization = Some(org);
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// One run for every job of `name` queued within the same `window`: run at
    /// the window's end, a second one in the window is the same job (a burst of
    /// changes asks for one run, which sees them all).
    pub fn coalesced(self, name: &str, window: Duration) -> Self {
        let seconds = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
        let end = Utc::now().timestamp().div_euclid(seconds).saturating_add(1).saturating_mul(seconds);
        let at = DateTime::from_timestamp(end, 0).unwrap_or_else(Utc::now);
        self.key(format!("{name}:{end}")).at(at)
    }

    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = Some(run_at);
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// Queues a job; call it with the transaction of the change that causes it.
/// Returns the new job's id, or `None` when a job with the same key exists.
pub async fn enqueue(db: &impl ConnectionTrait, job: NewJob) -> Result<Option<i64>, DbErr> {
    let now = Utc::now();
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(statement(
            backend,
            "INSERT INTO jobs (organization_id, kind, payload, idempotency_key, status, attempts, max_attempts,
                               run_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
            vec![
                job.organization.map(OrgId::get).into(),
                job.kind.into(),
                job.payload.to_string().into(),
                job.key.into(),
                job.max_attempts.into(),
                job.run_at.unwrap_or(now).into(),
                now.into(),
            ],
        ))
        .await?;
    match rows.first() {
        Some(row) => Ok(Some(row.try_get_by_index::<i64>(0)?)),
        None => Ok(None),
    }
}

/// A job's status (`queued`, `running`, `done`, `dead`); `None` once pruned.
pub async fn status_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<String>, DbErr> {
    use sea_orm::{EntityTrait, QuerySelect};
    entity::Entity::find_by_id(id).select_only().column(entity::Column::Status).into_tuple().one(db).await
}

/// A job a worker holds.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub organization_id: Option<i64>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
}

impl ClaimedJob {
    /// A handler marks its work as failed for good on the last attempt.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }

    /// An `i64` field of the payload.
    pub fn id_field(&self, name: &str) -> Result<i64, JobError> {
        self.payload
            .get(name)
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| JobError(format!("payload without `{name}`")))
    }
}

/// Claims up to `limit` due jobs (and jobs whose worker's lease ran out) for `worker`.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    limit: u64,
    lease: Duration,
) -> Result<Vec<ClaimedJob>, DbErr> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3
         WHERE id IN (SELECT id FROM jobs
                      WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3)
                      ORDER BY run_at, id LIMIT $4 {lock})
         RETURNING id, organization_id, kind, payload, attempts, max_attempts"
    );
    // A read first: on SQLite an idle poll must not take the write lock.
    if !has_due(db, now).await? {
        return Ok(Vec::new());
    }
    let _turn = db.write_turn().await;
    let rows = db
        .query_all_raw(statement(
            backend,
            &sql,
            vec![worker.into(), until.into(), now.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ))
        .await?;
    let mut jobs = rows
        .into_iter()
        .map(|row| {
            let payload: String = row.try_get_by_index(3)?;
            Ok(ClaimedJob {
                id: row.try_get_by_index(0)?,
                organization_id: row.try_get_by_index(1)?,
                kind: row.try_get_by_index(2)?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                attempt: row.try_get_by_index(4)?,
                max_attempts: row.try_get_by_index(5)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

async fn has_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<bool, DbErr> {
    use entity::Column;
    use sea_orm::ExprTrait;
    let due = entity::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(
            sea_orm::Condition::any()
                .add(Column::Status.eq("queued").and(Column::RunAt.lte(now)))
                .add(Column::Status.eq("running").and(Column::LockedUntil.lt(now))),
        )
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(due.is_some())
}

/// Marks a claimed job done (a no-op if its lease was lost meanwhile).
pub async fn complete(db: &DatabaseConnection, job: &ClaimedJob, worker: &str) -> Result<(), DbErr> {
    let now = Utc::now();
    let _turn = db.write_turn().await;
    db.execute_raw(statement(
        db.get_database_backend(),
        "UPDATE jobs SET status = 'done', finished_at = $1, updated_at = $1, locked_by = NULL, locked_until = NULL
         WHERE id = $2 AND locked_by = $3 AND status = 'running'",
        vec![now.into(), job.id.into(), worker.into()],
    ))
    .await?;
    Ok(())
}

/// Records a failure: the job is queued again after a backoff, or dead after its last attempt.
pub async fn fail(db: &DatabaseConnection, job: &ClaimedJob, worker: &str, error: &str) -> Result<(), DbErr> {
    let now = Utc::now();
    let error: String = error.chars().take(2000).collect();
    let _turn = db.write_turn().await;
    let backend = db.get_database_backend();
    if job.is_last_attempt() {
        tracing::error!(job_id = job.id, kind = %job.kind, attempts = job.attempt, %error, "job is dead");
        db.execute_raw(statement(
            backend,
            "UPDATE jobs SET status = 'dead', last_error = $1, finished_at = $2, updated_at = $2,
                             locked_by = NULL, locked_until = NULL
             WHERE id = $3 AND locked_by = $4 AND status = 'running'",
            vec![error.into(), now.into(), job.id.into(), worker.into()],
        ))
        .await?;
    } else {
        let delay = backoff(job.attempt);
        tracing::warn!(job_id = job.id, kind = %job.kind, attempt = job.attempt, retry_in = ?delay, %error, "job failed");
        let run_at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
        db.execute_raw(statement(
            backend,
            "UPDATE jobs SET status = 'queued', last_error = $1, run_at = $2, updated_at = $3,
                             locked_by = NULL, locked_until = NULL
             WHERE id = $4 AND locked_by = $5 AND status = 'running'",
            vec![error.into(), run_at.into(), now.into(), job.id.into(), worker.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Delay before the next attempt after `attempt` failed: 10 s doubled each
/// time, capped at an hour, with ±25 % jitter so that jobs failing together
/// (a mail server down) do not all come back at the same second.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(16);
    let base = (10u64 << exponent).min(3600) as f64;
    let jitter = 0.75 + fastrand::f64() * 0.5;
    Duration::from_secs_f64(base * jitter)
}

/// Extends the lease of every job `worker` is running (its heartbeat).
pub async fn extend_leases(db: &DatabaseConnection, worker: &str, lease: Duration) -> Result<u64, DbErr> {
    let until = Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    let _turn = db.write_turn().await;
    let result = db
        .execute_raw(statement(
            db.get_database_backend(),
            "UPDATE jobs SET locked_until = $1 WHERE locked_by = $2 AND status = 'running'",
            vec![until.into(), worker.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Deletes finished jobs older than `before` (dead ones are kept until retried or looked at).
#[tracing::instrument(skip_all, err)]
pub async fn prune(db: &DatabaseConnection, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let _turn = db.write_turn().await;
    let result = entity::Entity::delete_many()
        .filter(entity::Column::Status.eq("done"))
        .filter(entity::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// A handler's failure: the message is kept as the job's last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError(pub String);

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DbErr> for JobError {
    fn from(err: DbErr) -> Self {
        Self(format!("database: {err}"))
    }
}

impl From<AppError> for JobError {
    fn from(err: AppError) -> Self {
        Self(err.to_string())
    }
}

pub type JobResult = Result<(), JobError>;
type BoxedHandler = Arc<dyn Fn(ClaimedJob) -> Pin<Box<dyn Future<Output = JobResult> + Send>> + Send + Sync>;

/// A job run on a schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub kind: &'static str,
    pub every: Duration,
}

/// Which function runs each kind of job, and which kinds run on a schedule.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, BoxedHandler>,
    schedules: Vec<Schedule>,
}

impl Registry {
    pub fn handle<F, Fut>(&mut self, kind: &'static str, handler: F) -> &mut Self
    where
        F: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        self.handlers.insert(kind, Arc::new(move |job| Box::pin(handler(job))));
        self
    }

    /// Runs `kind` once every `every`, across all instances.
    pub fn every(&mut self, kind: &'static str, every: Duration) -> &mut Self {
        self.schedules.push(Schedule { kind, every });
        self
    }

    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    /// Runs one claimed job to its end (done, queued again or dead).
    pub async fn run(&self, db: &DatabaseConnection, job: ClaimedJob, worker: &str) -> Result<(), DbErr> {
        let started = std::time::Instant::now();
        let outcome = match self.handlers.get(job.kind.as_str()) {
            // Its own task: a panic in a handler fails the job, not the worker.
            Some(handler) => match tokio::spawn(handler(job.clone())).await {
                Ok(outcome) => outcome,
                Err(err) => Err(JobError(format!("the handler panicked: {err}"))),
            },
            None => Err(JobError(format!("no handler for jobs of kind `{}`", job.kind))),
        };
        let label = if outcome.is_ok() {
            "done"
        } else if job.is_last_attempt() {
            "dead"
        } else {
            "failed"
        };
        metrics::histogram!(crate::platform::metrics::name::JOB_DURATION, "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!(crate::platform::metrics::name::JOBS_FINISHED, "kind" => job.kind.clone(), "outcome" => label).increment(1);
        match outcome {
            Ok(()) => complete(db, &job, worker).await,
            Err(err) => fail(db, &job, worker, &err.0).await,
        }
    }
}

/// The periods a process has already seen queued, per scheduled kind: it then
/// offers each schedule once per period instead of writing every few seconds.
pub type OfferedPeriods = HashMap<&'static str, i64>;

/// Queues the scheduled jobs of the current period that no instance has queued yet.
pub async fn offer_schedules(
    db: &DatabaseConnection,
    registry: &Registry,
    now: DateTime<Utc>,
    offered: &mut OfferedPeriods,
) -> Result<usize, DbErr> {
    let mut queued = 0;
    for schedule in registry.schedules() {
        let every = i64::try_from(schedule.every.as_secs().max(1)).unwrap_or(i64::MAX);
        let start = now.timestamp() - now.timestamp().rem_euclid(every);
        if offered.get(schedule.kind) == Some(&start) {
            continue;
        }
        let period = DateTime::from_timestamp(start, 0).unwrap_or(now);
        let key = format!("schedule:{}:{}", schedule.kind, period.format("%Y-%m-%dT%H:%M:%SZ"));
        let job =
            NewJob::new(schedule.kind, serde_json::json!({ "period": period })).key(key).at(period).max_attempts(3);
        let _turn = db.write_turn().await;
        if enqueue(db, job).await?.is_some() {
            queued += 1;
        }
        // Queued here or by another instance: either way, this period is done.
        offered.insert(schedule.kind, start);
    }
    Ok(queued)
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Unique per worker: process id and a random part.
    pub name: String,
    pub concurrency: usize,
    pub lease: Duration,
    pub poll: Duration,
}

impl WorkerOptions {
    pub fn new(concurrency: usize, lease: Duration) -> Self {
        Self { name: worker_name(), concurrency: concurrency.max(1), lease, poll: Duration::from_millis(500) }
    }
}

fn worker_name() -> String {
    format!("worker-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// Runs jobs until `shutdown`, then lets the running ones finish (up to `drain`).
pub async fn run_worker(
    db: DatabaseConnection,
    registry: Arc<Registry>,
    options: WorkerOptions,
    shutdown: CancellationToken,
    drain: Duration,
) {
    tracing::info!(worker = %options.name, concurrency = options.concurrency, "worker started");
    let mut running = tokio::task::JoinSet::new();
    let mut schedule_tick = tokio::time::interval(Duration::from_secs(5));
    let mut heartbeat = tokio::time::interval(options.lease / 3);
    let mut offered = OfferedPeriods::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = schedule_tick.tick() => {
                if let Err(err) = offer_schedules(&db, &registry, Utc::now(), &mut offered).await {
                    tracing::error!(error = %err, "offering scheduled jobs failed");
                }
                continue;
            }
            _ = heartbeat.tick() => {
                if !running.is_empty()
                    && let Err(err) = extend_leases(&db, &options.name, options.lease).await
                {
                    tracing::error!(error = %err, "extending job leases failed");
                }
                continue;
            }
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = tokio::time::sleep(options.poll) => {}
        }
        let free = options.concurrency.saturating_sub(running.len());
        if free == 0 {
            continue;
        }
        match claim(&db, &options.name, free as u64, options.lease).await {
            Ok(jobs) => {
                for job in jobs {
                    let (db, registry, worker) = (db.clone(), registry.clone(), options.name.clone());
                    running.spawn(async move {
                        if let Err(err) = registry.run(&db, job, &worker).await {
                            tracing::error!(error = %err, "recording a job's outcome failed");
                        }
                    });
                }
            }
            Err(err) => tracing::error!(error = %err, "claiming jobs failed"),
        }
    }
    tracing::info!(worker = %options.name, running = running.len(), "worker stopping");
    let _ = tokio::time::timeout(drain, async { while running.join_next().await.is_some() {} }).await;
    tracing::info!(worker = %options.name, "worker stopped");
}

/// Runs every due job now, in this task, until none is left (tests, tools).
pub async fn run_until_idle(db: &DatabaseConnection, registry: &Registry) -> Result<usize, DbErr> {
    let worker = worker_name();
    let mut done = 0;
    loop {
        let jobs = claim(db, &worker, 50, Duration::from_secs(60)).await?;
        if jobs.is_empty() {
            return Ok(done);
        }
        for job in jobs {
            registry.run(db, job, &worker).await?;
            done += 1;
        }
    }
}

/// Counts of the queue for the admin page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueStats {
    /// Waiting and due now.
    pub queued: i64,
    /// Waiting for a later time (scheduled or backing off).
    pub scheduled: i64,
    pub running: i64,
    /// Queued again after a failure.
    pub retrying: i64,
    pub dead: i64,
    pub done: i64,
}

/// Whose jobs a reader sees: their organization's, and for a platform operator the
/// platform-wide ones too (no organization: schedules, backups, pruning). An
/// organization's administrator never sees nor retries another's, nor the platform's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobScope {
    pub org: OrgId,
    /// Whether the platform-wide jobs are included (operators only).
    pub platform: bool,
}

impl JobScope {
    /// One organization's jobs only.
    pub fn organization(org: OrgId) -> Self {
        Self { org, platform: false }
    }

    /// An operator's view: their organization's jobs and the platform-wide ones.
    pub fn operator(org: OrgId) -> Self {
        Self { org, platform: true }
    }
}

/// The jobs a scope covers.
fn visible_to(scope: JobScope) -> sea_orm::Condition {
    let own = sea_orm::Condition::any().add(entity::Column::OrganizationId.eq(scope.org.get()));
    if scope.platform { own.add(entity::Column::OrganizationId.is_null()) } else { own }
}

pub async fn stats(db: &impl ConnectionTrait, scope: JobScope) -> AppResult<QueueStats> {
    let sql = if scope.platform {
        "SELECT status, run_at <= $1, attempts > 0, COUNT(*) FROM jobs
         WHERE organization_id = $2 OR organization_id IS NULL
         GROUP BY 1, 2, 3"
    } else {
        "SELECT status, run_at <= $1, attempts > 0, COUNT(*) FROM jobs
         WHERE organization_id = $2
         GROUP BY 1, 2, 3"
    };
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), sql, vec![Utc::now().into(), scope.org.get().into()]))
        .await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get_by_index::<String>(0)?,
                row.try_get_by_index::<bool>(1)?,
                row.try_get_by_index::<bool>(2)?,
                row.try_get_by_index::<i64>(3)?,
            ))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let mut stats = QueueStats::default();
    for (status, due, retried, n) in rows {
        match status.as_str() {
            "queued" => {
                if due {
                    stats.queued += n;
                } else {
                    stats.scheduled += n;
                }
                if retried {
                    stats.retrying += n;
                }
            }
            "running" => stats.running += n,
            "dead" => stats.dead += n,
            _ => stats.done += n,
        }
    }
    Ok(stats)
}

/// A job as the admin page lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<entity::Model> for JobView {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            status: m.status,
            attempts: m.attempts,
            max_attempts: m.max_attempts,
            run_at: m.run_at,
            last_error: m.last_error,
            created_at: m.created_at,
            finished_at: m.finished_at,
        }
    }
}

/// Which jobs a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobFilter {
    /// Failed at least once and waiting for another attempt.
    Retrying,
    Running,
    Dead,
    Queued,
    Done,
}

pub async fn list(
    db: &impl ConnectionTrait,
    scope: JobScope,
    filter: JobFilter,
    limit: u64,
) -> AppResult<Vec<JobView>> {
    use entity::Column;
    let query = entity::Entity::find().filter(visible_to(scope));
    let query = match filter {
        JobFilter::Retrying => query.filter(Column::Status.eq("queued")).filter(Column::Attempts.gt(0)),
        JobFilter::Running => query.filter(Column::Status.eq("running")),
        JobFilter::Dead => query.filter(Column::Status.eq("dead")),
        JobFilter::Queued => query.filter(Column::Status.eq("queued")),
        JobFilter::Done => query.filter(Column::Status.eq("done")),
    };
    let rows = query.order_by_desc(Column::Id).limit(limit).all(db).await?;
    Ok(rows.into_iter().map(JobView::from).collect())
}

/// Gives a dead job new attempts, now. A job outside the scope is a 404.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn retry<W: Writer>(db: &W, scope: JobScope, id: i64) -> AppResult<JobView> {
    use entity::Column;
    let _turn = db.write_turn().await;
    let job = entity::Entity::find_by_id(id).filter(visible_to(scope)).one(db).await?.ok_or(AppError::NotFound)?;
    if job.status != "dead" {
        return Err(AppError::conflict("job_not_dead", crate::platform::i18n::Msg::new("jobs.error.not_dead")));
    }
    let now = Utc::now();
    entity::Entity::update_many()
        .col_expr(Column::Status, "queued".into())
        .col_expr(Column::Attempts, 0.into())
        .col_expr(Column::RunAt, now.into())
        .col_expr(Column::UpdatedAt, now.into())
        .col_expr(Column::FinishedAt, Option::<DateTime<Utc>>::None.into())
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq("dead"))
        .exec(db)
        .await?;
    tracing::info!(job_id = id, kind = %job.kind, "dead job queued again");
    let job = entity::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)?;
    Ok(job.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        for _ in 0..200 {
            let first = backoff(1).as_secs_f64();
            assert!((7.5..=12.5).contains(&first), "{first}");
            let third = backoff(3).as_secs_f64();
            assert!((30.0..=50.0).contains(&third), "{third}");
            let late = backoff(30).as_secs_f64();
            assert!((2700.0..=4500.0).contains(&late), "{late}");
        }
        let samples: std::collections::HashSet<u64> = (0..50).map(|_| backoff(2).as_millis() as u64).collect();
        assert!(samples.len() > 10, "jitter spreads retries");
    }
}
