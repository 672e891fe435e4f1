//! Volant: operations software for garage networks and driving schools.
//!
//! Business domains (`fleet`, …) over a thin `platform` layer; see `DESIGN.md`.

pub mod fleet;
pub mod identity;
pub mod notify;
pub mod platform;
pub mod school;
pub mod workshop;

use axum::Router;

use crate::platform::AppState;
use crate::platform::config::Config;
use crate::platform::db::{self, DbSettings};

pub use crate::platform::http::router::api as api_router;

/// Connects to the configured database, brings its schema up to date and
/// returns the application's state.
pub async fn init_state(config: Config) -> Result<AppState, sea_orm::DbErr> {
    let settings = DbSettings::new(config.database_url.clone(), config.db_max_connections);
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let default_org = identity::organizations::service::ensure_default(&db)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(format!("default organization: {e}")))?;
    let signing_key = platform::secrets::ensure(&db, identity::auth::SIGNING_SECRET)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(format!("signing secret: {e}")))?;
    if let Some((email, password)) = &config.first_admin {
        match identity::users::service::ensure_first_admin(&db, default_org, email, password).await {
            Ok(Some(admin)) => tracing::info!(user_id = admin.id, "first administrator created"),
            Ok(None) => {}
            Err(err) => {
                let detail = match &err {
                    platform::error::AppError::Validation(errors) => errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message.render(platform::i18n::Locale::En)))
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                return Err(sea_orm::DbErr::Custom(format!("VOLANT_ADMIN_EMAIL/VOLANT_ADMIN_PASSWORD: {detail}")));
            }
        }
    }
    let cipher = platform::crypto::load(config.encryption_keys.as_deref(), &config.encryption_key_file)
        .map_err(sea_orm::DbErr::Custom)?;
    let replica = match &config.database_replica_url {
        // A replica follows the primary's schema: it is never migrated from here.
        Some(url) => Some(db::connect(&DbSettings::new(url.clone(), config.db_max_connections)).await?),
        None => None,
    };
    let redis = config.redis_url.clone().map(|url| (url, config.redis_prefix.clone()));
    let files = platform::files::FileStore::open(config.object_store_url.as_deref(), &config.files_dir)
        .map_err(sea_orm::DbErr::Custom)?;
    let mut state = AppState::new(db, config, default_org, signing_key.into(), cipher, files);
    if let Some(replica) = replica {
        state.replica = replica;
        tracing::info!("read-only queries go to the replica");
    }
    if let Some((url, prefix)) = redis {
        let limits = platform::ratelimit::RateLimits::shared(
            state.config.login_attempts_per_minute,
            state.config.api_requests_per_minute,
            &url,
            &prefix,
        )
        .await
        .map_err(sea_orm::DbErr::Custom)?;
        state.limits = std::sync::Arc::new(limits);
        tracing::info!("rate limits shared through Redis");
    }
    Ok(state)
}

/// Every page route of the application (path, handlers, who may use it), as the
/// domains declare them: the router mounts exactly these pages, and the page role
/// matrix test reads them.
pub fn page_table() -> Vec<identity::auth::web_pages::Page> {
    let mut pages = fleet::pages();
    pages.extend(workshop::pages());
    pages.extend(school::pages());
    pages.extend(notify::pages());
    pages.extend(identity::pages());
    pages
}

/// The whole HTTP application over an existing state (what tests drive).
pub fn build_app(state: AppState) -> Router {
    platform::http::router::build(state)
}

/// Every kind of background job and every schedule, bound to this state.
pub fn job_registry(state: &AppState) -> Result<platform::jobs::Registry, String> {
    let mut registry = platform::jobs::Registry::default();
    notify::register_jobs(&mut registry, state)?;
    workshop::register_jobs(&mut registry, state);
    school::register_jobs(&mut registry, state);
    let db = state.db.clone();
    registry
        .handle("jobs.prune", move |_job| {
            let db = db.clone();
            async move {
                // Finished jobs are kept a week for the admin page, then deleted.
                platform::jobs::prune(&db, chrono::Utc::now() - chrono::Duration::days(7)).await?;
                Ok(())
            }
        })
        .every("jobs.prune", std::time::Duration::from_secs(24 * 3600));
    if let Some(dir) = state.config.backup_dir.clone() {
        let (db, url, keep) = (state.db.clone(), state.config.database_url.clone(), state.config.backup_keep);
        let offsite = state.config.object_store_url.is_some().then(|| state.files.clone());
        registry
            .handle("ops.backup", move |_job| {
                let (db, url, dir, offsite) = (db.clone(), url.clone(), dir.clone(), offsite.clone());
                async move {
                    let manifest = platform::backup::backup(&db, &url, &dir).await.map_err(platform::jobs::JobError)?;
                    if let Some(files) = offsite {
                        platform::backup::copy_offsite(&files, &dir, &manifest)
                            .await
                            .map_err(platform::jobs::JobError)?;
                    }
                    let removed = tokio::task::spawn_blocking(move || platform::backup::prune(&dir, keep))
                        .await
                        .map_err(|e| platform::jobs::JobError(e.to_string()))?;
                    removed.map_err(platform::jobs::JobError)?;
                    Ok(())
                }
            })
            .every("ops.backup", std::time::Duration::from_secs(24 * 3600));
    }
    Ok(registry)
}

/// Starts this process's workers: over the database queue, or through RabbitMQ
/// when `VOLANT_QUEUE_URL` is set. They stop at `shutdown`, letting running jobs finish.
pub fn start_workers(
    state: &AppState,
    concurrency: usize,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let registry = std::sync::Arc::new(job_registry(state)?);
    let options = platform::jobs::WorkerOptions::new(concurrency, state.config.job_lease);
    let db = state.db.clone();
    let drain = std::time::Duration::from_secs(30);
    Ok(match &state.config.queue_url {
        Some(url) => {
            let broker = platform::amqp::Broker { url: url.clone(), queue: state.config.queue_name.clone() };
            tokio::spawn(platform::amqp::run(db, registry, broker, options, shutdown, drain))
        }
        None => tokio::spawn(platform::jobs::run_worker(db, registry, options, shutdown, drain)),
    })
}
