//! Prometheus metrics: requests by route template, method and status, their
//! latency, requests in flight, database queries and pool, the job queue,
//! notifications, backups and restore drills, and a few business counts. `GET
//! /metrics` renders them; it answers a bearer token (`VOLANT_METRICS_TOKEN`),
//! or, without one, loopback clients only (never a request relayed by a proxy,
//! even one on this host); `VOLANT_METRICS_ADDR` serves it on an internal address instead.
//!
//! Every metric is named in [`CATALOGUE`] with the `volant_` prefix and its help
//! text, described when the recorder is installed (at start-up), so each one
//! the page lists has its `# HELP` and `# TYPE` (`promtool check metrics` in CI).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::platform::AppState;
use crate::platform::secrets::token_hash;

/// The metrics' names, one constant each: code, dashboard and alert rules agree on them.
pub mod name {
    pub const HTTP_REQUESTS: &str = "volant_http_requests_total";
    pub const HTTP_REQUEST_DURATION: &str = "volant_http_request_duration_seconds";
    pub const HTTP_REQUESTS_IN_FLIGHT: &str = "volant_http_requests_in_flight";
    pub const DB_QUERY_DURATION: &str = "volant_db_query_duration_seconds";
    pub const DB_QUERY_ERRORS: &str = "volant_db_query_errors_total";
    pub const DB_POOL_CONNECTIONS: &str = "volant_db_pool_connections";
    pub const DB_POOL_IDLE_CONNECTIONS: &str = "volant_db_pool_idle_connections";
    pub const CREDENTIAL_CACHE_LOOKUPS: &str = "volant_credential_cache_lookups_total";
    pub const JOBS_QUEUED: &str = "volant_jobs_queued";
    pub const JOBS_RUNNING: &str = "volant_jobs_running";
    pub const JOBS_DEAD: &str = "volant_jobs_dead";
    pub const JOBS_OLDEST_DUE_AGE: &str = "volant_jobs_oldest_due_age_seconds";
    pub const JOBS_FINISHED: &str = "volant_jobs_finished_total";
    pub const JOB_DURATION: &str = "volant_job_duration_seconds";
    pub const NOTIFICATIONS: &str = "volant_notifications_total";
    pub const VEHICLES: &str = "volant_vehicles";
    pub const QUOTES: &str = "volant_quotes";
    pub const LESSONS: &str = "volant_lessons";
    pub const BACKUP_LATEST_AGE: &str = "volant_backup_latest_age_seconds";
    pub const RESTORE_DRILL_LAST_SUCCESS: &str = "volant_restore_drill_last_success_timestamp_seconds";
    pub const RESTORE_DRILL_LAST_RUN: &str = "volant_restore_drill_last_run_timestamp_seconds";
    pub const RESTORE_DRILL_LAST_RUN_OK: &str = "volant_restore_drill_last_run_success";
    pub const RESTORE_DRILL_INTERVAL: &str = "volant_restore_drill_interval_seconds";
    pub const BUILD_INFO: &str = "volant_build_info";
    pub const START_TIME: &str = "volant_start_time_seconds";
}

/// What a metric is, for its `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric Volant exports: name, kind and help text.
pub const CATALOGUE: &[(&str, Kind, &str)] = &[
    (name::HTTP_REQUESTS, Kind::Counter, "HTTP requests answered, by method, route template and status."),
    (name::HTTP_REQUEST_DURATION, Kind::Histogram, "Time to answer an HTTP request, by method and route template."),
    (name::HTTP_REQUESTS_IN_FLIGHT, Kind::Gauge, "HTTP requests being answered now."),
    (
        name::DB_QUERY_DURATION,
        Kind::Histogram,
        "Time of a database statement, by kind (select, insert, update, delete, with, other).",
    ),
    (name::DB_QUERY_ERRORS, Kind::Counter, "Database statements that failed, by kind."),
    (name::DB_POOL_CONNECTIONS, Kind::Gauge, "Connections open in the database pool."),
    (name::DB_POOL_IDLE_CONNECTIONS, Kind::Gauge, "Idle connections in the database pool."),
    (
        name::CREDENTIAL_CACHE_LOOKUPS,
        Kind::Counter,
        "Sessions and API tokens checked, by outcome (hit, miss, bypassed).",
    ),
    (name::JOBS_QUEUED, Kind::Gauge, "Background jobs waiting, every organization."),
    (name::JOBS_RUNNING, Kind::Gauge, "Background jobs running now."),
    (name::JOBS_DEAD, Kind::Gauge, "Background jobs that gave up after all their attempts."),
    (name::JOBS_OLDEST_DUE_AGE, Kind::Gauge, "How long the oldest due job has waited."),
    (name::JOBS_FINISHED, Kind::Counter, "Background job runs, by kind and outcome (done, failed, dead)."),
    (name::JOB_DURATION, Kind::Histogram, "Time of a background job run, by kind."),
    (name::NOTIFICATIONS, Kind::Counter, "Notifications delivered or not, by channel and outcome."),
    (name::VEHICLES, Kind::Gauge, "Vehicles in the database."),
    (name::QUOTES, Kind::Gauge, "Quotes in the database."),
    (name::LESSONS, Kind::Gauge, "Driving lessons in the database."),
    (name::BACKUP_LATEST_AGE, Kind::Gauge, "Age of the newest backup in the backup folder."),
    (
        name::RESTORE_DRILL_LAST_SUCCESS,
        Kind::Gauge,
        "When the last restore drill that succeeded finished (Unix time; 0: none yet).",
    ),
    (
        name::RESTORE_DRILL_LAST_RUN,
        Kind::Gauge,
        "When the last restore drill finished, whatever its outcome (Unix time; 0: none yet).",
    ),
    (
        name::RESTORE_DRILL_LAST_RUN_OK,
        Kind::Gauge,
        "1 when the last restore drill succeeded, 0 when it failed or none ran.",
    ),
    (
        name::RESTORE_DRILL_INTERVAL,
        Kind::Gauge,
        "Time between restore drills (VOLANT_RESTORE_DRILL_DAYS): the alert on an old drill follows it.",
    ),
    (name::BUILD_INFO, Kind::Gauge, "Always 1; the running version is its label."),
    (name::START_TIME, Kind::Gauge, "When this process started (Unix time)."),
];

/// Latency buckets, in seconds: fine below 100 ms, where the targets are.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder (installed on first use).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &BUCKETS) {
            Ok(builder) => builder,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        describe();
        handle
    })
}

/// Installs the recorder (at start-up: a metric recorded before it would be lost).
pub fn install() {
    handle();
}

/// Each metric's help text, and the series that exist from the start.
fn describe() {
    for &(metric, kind, help) in CATALOGUE {
        match kind {
            Kind::Counter => metrics::describe_counter!(metric, help),
            Kind::Gauge => metrics::describe_gauge!(metric, help),
            Kind::Histogram => metrics::describe_histogram!(metric, help),
        }
    }
    metrics::gauge!(name::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    metrics::gauge!(name::START_TIME).set(started.as_secs_f64());
    metrics::gauge!(name::HTTP_REQUESTS_IN_FLIGHT).set(0.0);
}

/// Counts and times every request by route template (`/api/v1/garages/{id}`, never the ids).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    tracing::Span::current().record("route", route.as_str());
    let in_flight = metrics::gauge!(name::HTTP_REQUESTS_IN_FLIGHT);
    in_flight.increment(1.0);
    let started = Instant::now();
    let response = next.run(request).await;
    in_flight.decrement(1.0);
    let status = response.status().as_u16().to_string();
    metrics::histogram!(name::HTTP_REQUEST_DURATION, "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(name::HTTP_REQUESTS, "method" => method, "route" => route, "status" => status).increment(1);
    response
}

/// Times every database statement by kind (select, insert, update, delete, other).
pub fn record_query(elapsed: Duration, sql: &str, failed: bool) {
    let verb = sql.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
    let op = match verb.as_str() {
        "select" | "insert" | "update" | "delete" | "with" => verb,
        _ => "other".to_owned(),
    };
    metrics::histogram!(name::DB_QUERY_DURATION, "op" => op.clone()).record(elapsed.as_secs_f64());
    if failed {
        metrics::counter!(name::DB_QUERY_ERRORS, "op" => op).increment(1);
    }
}

/// `GET /metrics` on the main address.
pub async fn scrape(State(state): State<AppState>, extensions: Extensions, headers: HeaderMap) -> Response {
    let allowed = match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            // Compared as digests: the time taken says nothing about the token.
            .is_some_and(|given| token_hash(given) == token_hash(token)),
        // A loopback peer may be a proxy on the same host relaying anyone: only a
        // loopback client that no relay speaks for.
        None => {
            let client = crate::platform::proxy::ClientContext::of(&extensions);
            !client.relayed && client.ip.is_some_and(|ip| ip.is_loopback())
        }
    };
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    render(&state.db, &Sources::of(&state.config)).await
}

/// What a scrape reads beside the database: the backup folder, and restore drills.
#[derive(Debug, Clone)]
pub struct Sources {
    pub backup_dir: Option<std::path::PathBuf>,
    /// Whether this instance's workers drill (a backup folder and drills on).
    pub drills: bool,
    /// Time between drills (`VOLANT_RESTORE_DRILL_DAYS`; zero: drills off).
    pub drill_interval: Duration,
}

impl Sources {
    pub fn of(config: &crate::platform::config::Config) -> Self {
        Self {
            backup_dir: config.backup_dir.clone(),
            drills: config.backup_dir.is_some() && config.restore_drill_days > 0,
            drill_interval: Duration::from_secs(u64::from(config.restore_drill_days) * 86_400),
        }
    }
}

/// The metrics page itself (also served alone on `VOLANT_METRICS_ADDR`).
pub async fn render(db: &DatabaseConnection, sources: &Sources) -> Response {
    sample(db).await;
    if let Some(age) = crate::platform::backup::latest_age_of(sources.backup_dir.as_deref()).await {
        metrics::gauge!(name::BACKUP_LATEST_AGE).set(age.as_secs_f64());
    }
    // Only where drills are on or were run: elsewhere, the alert on an old drill stays quiet.
    if sources.drill_interval > Duration::ZERO {
        sample_drills(db, sources).await;
    }
    let handle = handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// Gauges read at scrape time: the pool, the queue, deliveries and business counts.
async fn sample(db: &DatabaseConnection) {
    let (size, idle) = crate::platform::db::pool_usage(db);
    metrics::gauge!(name::DB_POOL_CONNECTIONS).set(f64::from(size));
    metrics::gauge!(name::DB_POOL_IDLE_CONNECTIONS).set(idle as f64);
    let counts = [
        (name::JOBS_QUEUED, "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"),
        (name::JOBS_RUNNING, "SELECT COUNT(*) FROM jobs WHERE status = 'running'"),
        (name::JOBS_DEAD, "SELECT COUNT(*) FROM jobs WHERE status = 'dead'"),
        (name::VEHICLES, "SELECT COUNT(*) FROM vehicles"),
        (name::QUOTES, "SELECT COUNT(*) FROM quotes"),
        (name::LESSONS, "SELECT COUNT(*) FROM school_lessons"),
    ];
    for (name, sql) in counts {
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await;
        if let Ok(Some(row)) = row
            && let Ok(n) = row.try_get_by_index::<i64>(0)
        {
            metrics::gauge!(name).set(n as f64);
        }
    }
    // The oldest due job's wait: a backlog shows here first.
    let oldest = "SELECT MIN(run_at) FROM jobs WHERE status = 'queued'";
    if let Ok(Some(row)) = db.query_one_raw(Statement::from_string(db.get_database_backend(), oldest.to_owned())).await
    {
        let age = row
            .try_get_by_index::<Option<chrono::DateTime<chrono::Utc>>>(0)
            .ok()
            .flatten()
            .map_or(0.0, |at| (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!(name::JOBS_OLDEST_DUE_AGE).set(age);
    }
}

/// The restore drills' gauges (the `restore_drills` table), where drills are on
/// or one was recorded (a drill run by a scheduled `volant restore-drill`
/// elsewhere); before the first, 0. A failed read leaves the last values.
async fn sample_drills(db: &DatabaseConnection, sources: &Sources) {
    let backend = db.get_database_backend();
    let last = "SELECT finished_at, succeeded FROM restore_drills ORDER BY finished_at DESC LIMIT 1";
    let Ok(last) = db.query_one_raw(Statement::from_string(backend, last.to_owned())).await else { return };
    let seconds =
        |at: Option<chrono::DateTime<chrono::Utc>>| at.map_or(0.0, |at| at.timestamp_millis() as f64 / 1000.0);
    let Some(last) = last else {
        if sources.drills {
            // None yet: a success that never happened is as old as can be.
            for gauge in
                [name::RESTORE_DRILL_LAST_SUCCESS, name::RESTORE_DRILL_LAST_RUN, name::RESTORE_DRILL_LAST_RUN_OK]
            {
                metrics::gauge!(gauge).set(0.0);
            }
            metrics::gauge!(name::RESTORE_DRILL_INTERVAL).set(sources.drill_interval.as_secs_f64());
        }
        return;
    };
    let good = "SELECT MAX(finished_at) FROM restore_drills WHERE succeeded = TRUE";
    let Ok(good) = db.query_one_raw(Statement::from_string(backend, good.to_owned())).await else { return };
    let good = good.and_then(|row| row.try_get_by_index::<Option<chrono::DateTime<chrono::Utc>>>(0).ok().flatten());
    let finished = last.try_get_by_index::<chrono::DateTime<chrono::Utc>>(0).ok();
    let succeeded = last.try_get_by_index::<bool>(1).unwrap_or(false);
    metrics::gauge!(name::RESTORE_DRILL_LAST_RUN).set(seconds(finished));
    metrics::gauge!(name::RESTORE_DRILL_LAST_RUN_OK).set(if succeeded { 1.0 } else { 0.0 });
    metrics::gauge!(name::RESTORE_DRILL_LAST_SUCCESS).set(seconds(good));
    metrics::gauge!(name::RESTORE_DRILL_INTERVAL).set(sources.drill_interval.as_secs_f64());
}

/// Serves `/metrics` alone on an internal address (`VOLANT_METRICS_ADDR`), for
/// servers and workers alike, until `shutdown`.
pub async fn serve_internal(
    addr: SocketAddr,
    db: DatabaseConnection,
    sources: Sources,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (db, sources) = (db.clone(), sources.clone());
            async move { render(&db, &sources).await }
        }),
    );
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
    tracing::info!(%addr, "metrics served on the internal address");
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await.map_err(|e| e.to_string())
}
