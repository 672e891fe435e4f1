//! The status of this instance for platform operators (`Permission::Platform`):
//! version, uptime, database backend and schema, pool, job queue, delivery
//! settings, the latest backup and restore drill. Organizations' administrators do not see it.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::error::AppResult;
use crate::platform::jobs::{self, QueueStats};
use crate::platform::web::{PageCtx, WebResult};

/// This instance, as a platform operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Status {
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub uptime_seconds: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The latest migration applied.
    pub migration: String,
    /// Whether read-only queries go to a replica.
    pub replica: bool,
    pub pool_connections: u32,
    pub pool_idle: usize,
    /// The operator's organization's jobs and the platform-wide ones.
    pub queue: QueueStats,
    /// Jobs run at once by this server (0: separate workers only).
    pub workers: usize,
    /// `database` or `rabbitmq`.
    pub job_transport: String,
    /// `smtp` or `files`.
    pub email: String,
    /// `http` or `log`.
    pub sms: String,
    /// Where files are kept (`file://…` or `s3://…`).
    pub files: String,
    /// The newest backup in `VOLANT_BACKUP_DIR`, if scheduled backups are on.
    pub latest_backup: Option<DateTime<Utc>>,
    /// Whether backups are encrypted (`VOLANT_BACKUP_RECIPIENTS`).
    pub backups_encrypted: bool,
    /// Days between restore drills (0: none scheduled).
    pub restore_drill_days: u32,
    /// The latest restore drill, whatever its outcome.
    pub restore_drill: Option<super::drills::DrillRun>,
    /// When the latest successful restore drill finished.
    pub restore_drill_last_success: Option<DateTime<Utc>>,
    /// Drills are on and none succeeded for their interval and five days (the alert's rule).
    pub restore_drill_overdue: bool,
}

pub async fn status(caller: &Caller) -> AppResult<Status> {
    let db = &caller.db;
    let backend = db.get_database_backend();
    let migration = db
        .query_one_raw(Statement::from_string(backend, "SELECT MAX(version) FROM seaql_migrations".to_owned()))
        .await?
        .and_then(|row| row.try_get_by_index::<Option<String>>(0).ok().flatten())
        .unwrap_or_default();
    let database = if backend == DatabaseBackend::Postgres { "postgres" } else { "sqlite" };
    let (pool_connections, pool_idle) = crate::platform::db::pool_usage(db);
    let config = &caller.config;
    let latest_backup = crate::platform::backup::latest_age_of(config.backup_dir.as_deref())
        .await
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .map(|age| Utc::now() - age);
    let (restore_drill, good_drill) = super::drills::latest(db).await?;
    let now = Utc::now();
    let drill_days = if config.backup_dir.is_some() { config.restore_drill_days } else { 0 };
    let late = chrono::Duration::days(i64::from(drill_days) + 5);
    let restore_drill_overdue = drill_days > 0
        && match &good_drill {
            Some(good) => now - good.finished_at > late,
            // Never a success: overdue once drills have failed for as long.
            None => restore_drill.as_ref().is_some_and(|d| now - d.finished_at > late),
        };
    Ok(Status {
        restore_drill_overdue,
        backups_encrypted: !config.backup_recipients.is_empty(),
        restore_drill_days: drill_days,
        restore_drill,
        restore_drill_last_success: good_drill.map(|d| d.finished_at),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: caller.started_at,
        uptime_seconds: (now - caller.started_at).num_seconds(),
        database: database.to_owned(),
        migration,
        replica: config.database_replica_url.is_some(),
        pool_connections,
        pool_idle,
        queue: jobs::stats(db, jobs::JobScope::operator(caller.actor.org)).await?,
        workers: config.workers,
        job_transport: if config.queue_url.is_some() { "rabbitmq" } else { "database" }.to_owned(),
        email: if config.notify.delivers_email() { "smtp" } else { "files" }.to_owned(),
        sms: if config.notify.sms_url.is_some() { "http" } else { "log" }.to_owned(),
        files: caller.files.location.clone(),
        latest_backup,
    })
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_status))
}

/// This instance: version, uptime, database and schema, pool, job queue, channels, latest backup.
///
/// Platform operators only (403 for everyone else, organizations' administrators included).
#[utoipa::path(get, path = "/admin/status", security(("bearer" = ["platform"])), tag = "operations",
    responses((status = 200, body = Status), (status = 403, body = crate::platform::error::Problem)))]
async fn get_status(caller: Caller) -> AppResult<Json<Status>> {
    Ok(Json(status(&caller).await?))
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/status.html")]
struct StatusPage {
    page: PageCtx,
    status: Status,
    uptime: String,
    backup: String,
    /// When the latest drill finished, and the latest good one.
    drill_at: String,
    drill_good_at: String,
    drill_every: String,
}

pub fn web_routes() -> Routes {
    vec![("/admin/status", axum::routing::get(status_page))]
}

async fn status_page(caller: Caller, page: PageCtx) -> WebResult<StatusPage> {
    let status = status(&caller).await?;
    let minutes = status.uptime_seconds / 60;
    let uptime = format!("{} j {} h {} min", minutes / 1440, (minutes / 60) % 24, minutes % 60);
    let backup = status.latest_backup.map_or_else(|| "—".to_owned(), crate::platform::i18n::local_date_time);
    let drill_at = status
        .restore_drill
        .as_ref()
        .map_or_else(|| "—".to_owned(), |d| crate::platform::i18n::local_date_time(d.finished_at));
    let drill_good_at =
        status.restore_drill_last_success.map_or_else(|| "—".to_owned(), crate::platform::i18n::local_date_time);
    let drill_every = page.tr.f("status.drill_every", "days", &status.restore_drill_days.to_string());
    Ok(StatusPage { page, status, uptime, backup, drill_at, drill_good_at, drill_every })
}
