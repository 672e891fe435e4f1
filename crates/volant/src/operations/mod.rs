//! Running the instance: its status for platform operators, the daily backup
//! and the pruning of finished jobs. Not a business domain: what an operator
//! (not an organization) looks after.

pub mod drills;
pub mod status;

use sea_orm::ConnectionTrait;
use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::jobs::{self, JobError, Registry};

const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
const HOURLY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The instance's status (platform operators).
pub fn api_router() -> OpenApiRouter<AppState> {
    status::api_router()
}

/// The status page (platform operators).
pub fn pages() -> Vec<Page> {
    web_pages::pages(Access::guarded(Permission::Platform, Permission::Platform), status::web_routes())
}

/// Forgets the idempotency keys (and their answers) older than a day.
pub const IDEMPOTENCY_PRUNE_JOB: &str = "idempotency.prune";

/// Refreshes SQLite's planner statistics of every table that needs it (bounded).
pub const SQLITE_STATISTICS_JOB: &str = "db.statistics";

/// Finished jobs are kept a week for the admin pages, then deleted; idempotency
/// keys a day; with a backup
/// folder configured, a consistent backup every day (copied off-site when an
/// object store is configured), then the retention.
/// The geocoder the configuration names, if any (its User-Agent names Volant and
/// this instance, as the public Nominatim's policy asks).
fn geocoder(config: &crate::platform::config::Config) -> Option<crate::platform::geo::Geocoder> {
    let url = config.geo.geocoder_url.as_deref()?;
    let agent = format!("Volant/{} (+{})", env!("CARGO_PKG_VERSION"), config.public_url);
    crate::platform::geo::Geocoder::new(url, config.geo.geocoder_interval, &agent, std::time::Duration::from_secs(10))
        .map_err(|err| tracing::error!(%err, "no geocoder"))
        .ok()
}

pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    // Places waiting for the geocoder: when an address is saved, and every five
    // minutes for those whose geocoder was unreachable.
    let db = state.db.clone();
    let geocoder = geocoder(&state.config).map(std::sync::Arc::new);
    registry
        .handle(crate::platform::geo::LOCATE_JOB, move |_job| {
            let (db, geocoder) = (db.clone(), geocoder.clone());
            async move {
                crate::platform::geo::locate_due(&db, geocoder.as_deref(), chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every(crate::platform::geo::LOCATE_JOB, std::time::Duration::from_secs(5 * 60));
    let db = state.db.clone();
    registry
        .handle("jobs.prune", move |_job| {
            let db = db.clone();
            async move {
                jobs::prune(&db, chrono::Utc::now() - chrono::Duration::days(7)).await?;
                Ok(())
            }
        })
        .every("jobs.prune", DAILY);
    let db = state.db.clone();
    registry
        .handle(IDEMPOTENCY_PRUNE_JOB, move |_job| {
            let db = db.clone();
            async move {
                crate::platform::http::idempotency::prune(&db, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every(IDEMPOTENCY_PRUNE_JOB, HOURLY);
    // Only SQLite keeps a log of credential changes (PostgreSQL notifies).
    if state.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        let db = state.db.clone();
        registry
            .handle("credentials.prune", move |_job| {
                let db = db.clone();
                async move { crate::platform::credentials::prune(&db).await.map_err(|err| JobError(err.to_string())) }
            })
            .every("credentials.prune", HOURLY);
        // The planner picks its indexes from statistics; connections live for
        // hours in the pool, so `optimize` on close seldom runs. Without them, a
        // grown table makes SQLite walk the wrong index (a full-scale benchmark
        // without statistics: school week 161 → 495 req/s once analyzed).
        let db = state.db.clone();
        registry
            .handle(SQLITE_STATISTICS_JOB, move |_job| {
                let db = db.clone();
                async move {
                    db.execute_unprepared("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002")
                        .await
                        .map(|_| ())
                        .map_err(|err| JobError(err.to_string()))
                }
            })
            .every(SQLITE_STATISTICS_JOB, HOURLY);
    }
    let Some(dir) = state.config.backup_dir.clone() else { return };
    let (db, url, keep) = (state.db.clone(), state.config.database_url.clone(), state.config.backup_keep);
    let (files, offsite) = (state.files.clone(), state.config.object_store_url.is_some());
    let recipients = state.config.backup_recipients.clone();
    registry
        .handle("ops.backup", move |_job| {
            let (db, url, dir, files, recipients) =
                (db.clone(), url.clone(), dir.clone(), files.clone(), recipients.clone());
            async move { daily_backup(&db, &url, dir, &files, offsite, keep, &recipients).await.map_err(JobError) }
        })
        .every("ops.backup", DAILY);
    // Checked every day, drilled when the last drill is old enough.
    let days = state.config.restore_drill_days;
    if days == 0 {
        return;
    }
    let (db, config) = (state.db.clone(), state.config.clone());
    registry
        .handle(drills::JOB, move |_job| {
            let (db, config) = (db.clone(), config.clone());
            async move {
                // A new instance's first backup may not be made yet: nothing to drill, nothing to tell.
                let has_backup = match config.backup_dir.as_deref() {
                    Some(dir) => crate::platform::backup::newest_of(dir).await.is_some(),
                    None => false,
                };
                if has_backup && drills::due(&db, days).await.map_err(|e| JobError(e.to_string()))? {
                    drills::run(&db, &config).await.map_err(|e| JobError(e.to_string()))?;
                }
                Ok(())
            }
        })
        .every(drills::JOB, DAILY);
}

#[tracing::instrument(skip_all, err)]
async fn daily_backup(
    db: &sea_orm::DatabaseConnection,
    url: &str,
    dir: std::path::PathBuf,
    files: &crate::platform::files::FileStore,
    offsite: bool,
    keep: std::time::Duration,
    recipients: &[age::x25519::Recipient],
) -> Result<(), String> {
    use crate::platform::backup;
    // The documents' files are copied beside the database, whatever the store.
    let blobs = backup::Blobs { store: files, named_in: &[crate::documents::service::BLOBS] };
    let manifest = backup::backup(db, url, &dir, backup::Options { blobs: Some(blobs), recipients }).await?;
    if offsite {
        backup::copy_offsite(files, &dir, &manifest).await?;
    }
    let removed = tokio::task::spawn_blocking(move || backup::prune(&dir, keep)).await.map_err(|e| e.to_string())?;
    removed.map(|_| ())
}
