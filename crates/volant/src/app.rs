//! The composition root: the one place that knows every domain. `main`, the
//! bench server and the test harness all build the application here, so what
//! tests drive is what runs.

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::identity::access::{AccessError, ApiAccess};
use crate::identity::auth::web_pages::{self, Page};
use crate::identity::navigation::MenuEntry;
use crate::platform::AppState;
use crate::platform::config::Config;
use crate::platform::db::{self, DbSettings};
use crate::platform::jobs::{self, Registry};
use crate::{billing, documents, fleet, identity, imports, notify, operations, platform, school, workshop};

/// The running application: its state and its whole HTTP router.
pub struct App {
    pub state: AppState,
    pub router: Router,
}

/// What stopped the application from starting, naming the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(sea_orm::DbErr),
    #[error("database migration: {0}")]
    Migration(sea_orm::DbErr),
    #[error("read replica (DATABASE_REPLICA_URL): {0}")]
    Replica(sea_orm::DbErr),
    #[error("default organization: {0}")]
    DefaultOrganization(String),
    #[error("signing secret: {0}")]
    SigningSecret(String),
    #[error("VOLANT_ADMIN_EMAIL/VOLANT_ADMIN_PASSWORD: {0}")]
    FirstAdmin(String),
    #[error("encryption keys: {0}")]
    Encryption(String),
    #[error("file store (VOLANT_OBJECT_STORE_URL/VOLANT_FILES_DIR): {0}")]
    Files(String),
    #[error("Redis (VOLANT_REDIS_URL): {0}")]
    Redis(String),
    #[error("OpenAPI document: {0}")]
    OpenApi(String),
    #[error("API access: {0}")]
    Access(#[from] AccessError),
    #[error("jobs: {0}")]
    Jobs(String),
}

impl App {
    /// Connects to the configured database, brings its schema up to date,
    /// prepares everything the application needs and builds its router.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let state = state(config).await?;
        Self::over(state)
    }

    /// [`App::build`] over a connection already open (the test harness gives each
    /// test its own PostgreSQL schema this way); everything else is the same.
    pub async fn build_on(db: sea_orm::DatabaseConnection, config: Config) -> Result<Self, StartupError> {
        let state = state_on(db, config).await?;
        Self::over(state)
    }

    /// The application over an existing state (a test's own Redis or replica).
    pub fn over(state: AppState) -> Result<Self, StartupError> {
        let router = router(state.clone())?;
        Ok(Self { state, router })
    }

    /// Every kind of background job and every schedule, bound to this state.
    pub fn jobs(&self) -> Result<Registry, StartupError> {
        jobs_for(&self.state)
    }

    /// Starts this process's workers: over the database queue, or through
    /// RabbitMQ when `VOLANT_QUEUE_URL` is set. They stop at `shutdown`, letting
    /// running jobs finish.
    pub fn start_workers(
        &self,
        concurrency: usize,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>, StartupError> {
        let registry = Arc::new(self.jobs()?);
        let state = &self.state;
        let options = jobs::WorkerOptions::new(concurrency, state.config.job_lease);
        let db = state.db.clone();
        let drain = std::time::Duration::from_secs(30);
        Ok(match &state.config.queue_url {
            Some(url) => {
                let broker = platform::amqp::Broker { url: url.clone(), queue: state.config.queue_name.clone() };
                tokio::spawn(platform::amqp::run(db, registry, broker, options, shutdown, drain))
            }
            None => tokio::spawn(jobs::run_worker(db, registry, options, shutdown, drain)),
        })
    }
}

/// The JSON API of every domain, each operation declaring who may call it.
fn api_routes() -> OpenApiRouter<AppState> {
    fleet::api_router()
        .merge(workshop::api_router())
        .merge(billing::api_router())
        .merge(documents::api_router())
        .merge(school::api_router())
        .merge(notify::api_router())
        .merge(identity::api_router())
        .merge(imports::api_router())
        .merge(operations::api_router())
}

/// Every page of the application (path, handlers, who may use it), as the
/// domains declare them: the router mounts exactly these, and the page role
/// matrix test reads them.
pub fn page_table() -> Vec<Page> {
    [
        fleet::pages(),
        workshop::pages(),
        billing::pages(),
        documents::pages(),
        school::pages(),
        notify::pages(),
        identity::pages(WELCOME),
        imports::pages(),
        operations::pages(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every domain's first steps for a new business, in the order to take them.
const WELCOME: &[platform::web::WelcomeSteps] = &[fleet::welcome_steps, school::welcome_steps, notify::welcome_steps];

/// Every domain's navigation entries; the page guard keeps those the signed-in
/// person may use, grouped by module.
pub fn menu_table() -> Vec<MenuEntry> {
    [
        fleet::menu(),
        workshop::menu(),
        documents::menu(),
        billing::menu(),
        school::menu(),
        identity::menu(),
        notify::menu(),
        imports::menu(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The API under `/api/v1` with its OpenAPI document, behind the access layer
/// read from that document (see [`identity::access`]).
pub fn api(state: &AppState) -> Result<(Router<AppState>, serde_json::Value), StartupError> {
    guarded_api(state, api_routes())
}

/// `routes` under `/api/v1`, each operation behind the requirement its
/// document declares (an operation that declares none is an error), and the
/// document completed with the answers every operation shares.
pub fn guarded_api(
    state: &AppState,
    routes: OpenApiRouter<AppState>,
) -> Result<(Router<AppState>, serde_json::Value), StartupError> {
    let (router, doc) = OpenApiRouter::with_openapi(platform::http::openapi::ApiDoc::openapi())
        .nest("/api/v1", routes)
        .split_for_parts();
    let mut document = serde_json::to_value(&doc).map_err(|e| StartupError::OpenApi(e.to_string()))?;
    platform::http::openapi::complete(&mut document);
    let access = Arc::new(ApiAccess::from_document(&document)?);
    let guarded =
        router.route_layer(axum::middleware::from_fn_with_state((state.clone(), access), identity::access::enforce));
    Ok((guarded, document))
}

/// The whole HTTP application over a state.
pub fn router(state: AppState) -> Result<Router, StartupError> {
    let (api, doc) = api(&state)?;
    let pages = web_pages::mount(&state, page_table(), menu_table());
    Ok(platform::http::router::build(state, api.merge(pages), &doc))
}

/// Every domain's job handlers and schedules, bound to `state`.
pub fn jobs_for(state: &AppState) -> Result<Registry, StartupError> {
    let mut registry = Registry::default();
    notify::register_jobs(&mut registry, state).map_err(StartupError::Jobs)?;
    workshop::register_jobs(&mut registry, state);
    billing::register_jobs(&mut registry, state);
    documents::register_jobs(&mut registry, state);
    school::register_jobs(&mut registry, state);
    imports::register_jobs(&mut registry, state);
    operations::register_jobs(&mut registry, state);
    Ok(registry)
}

/// Connects (primary, replica), migrates, and loads what every request needs:
/// the default organization, the signing secret, the field cipher, the file
/// store and the shared rate limits; creates the first administrator when asked.
pub async fn state(config: Config) -> Result<AppState, StartupError> {
    let mut settings = DbSettings::new(config.database_url.clone(), config.db_max_connections);
    settings.sqlite_mmap_bytes = config.sqlite_mmap_mb.saturating_mul(1024 * 1024);
    let db = db::connect(&settings).await.map_err(StartupError::Database)?;
    state_on(db, config).await
}

/// [`state`] over a connection already open.
pub async fn state_on(db: sea_orm::DatabaseConnection, config: Config) -> Result<AppState, StartupError> {
    // Before anything is measured: the first scrape lists every described metric.
    crate::platform::metrics::install();
    db::migrate(&db).await.map_err(StartupError::Migration)?;
    let default_org = identity::organizations::service::ensure_default(&db)
        .await
        .map_err(|e| StartupError::DefaultOrganization(e.for_operator()))?;
    let signing_key = platform::secrets::ensure(&db, identity::auth::SIGNING_SECRET)
        .await
        .map_err(|e| StartupError::SigningSecret(e.for_operator()))?;
    // The Web Push key pair is made at first start, like the signing key.
    notify::push::Vapid::load(&db).await.map_err(|e| StartupError::SigningSecret(e.for_operator()))?;
    if let Some((email, password)) = &config.first_admin {
        let created = identity::users::service::ensure_first_admin(&db, default_org, email, password)
            .await
            .map_err(|e| StartupError::FirstAdmin(e.for_operator()))?;
        if let Some(admin) = created {
            tracing::info!(user_id = admin.id, "first administrator created");
        }
    }
    let cipher = platform::crypto::load(config.encryption_keys.as_deref(), &config.encryption_key_file)
        .map_err(StartupError::Encryption)?;
    let replica = match &config.database_replica_url {
        // A replica follows the primary's schema: it is never migrated from here.
        Some(url) => Some(
            db::connect(&DbSettings::new(url.clone(), config.db_max_connections))
                .await
                .map_err(StartupError::Replica)?,
        ),
        None => None,
    };
    let redis = config.redis_url.clone().map(|url| (url, config.redis_prefix.clone()));
    let files = platform::files::FileStore::open(config.object_store_url.as_deref(), &config.files_dir)
        .map_err(StartupError::Files)?;
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
        .map_err(StartupError::Redis)?;
        state.limits = Arc::new(limits);
        tracing::info!("rate limits shared through Redis");
    }
    Ok(state)
}
