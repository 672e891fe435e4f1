//! Prometheus metrics: requests by route template, method and status, their
//! latency, requests in flight, database queries and pool, the job queue,
//! notifications, and a few business counts. `GET /metrics` renders them; it
//! answers a bearer token (`VOLANT_METRICS_TOKEN`), or, without one, loopback
//! clients only (never a request relayed by a proxy, even one on this host); `VOLANT_METRICS_ADDR` serves it on an internal address instead.

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
        handle
    })
}

/// Counts and times every request by route template (`/api/v1/garages/{id}`, never the ids).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let in_flight = metrics::gauge!("http_requests_in_flight");
    in_flight.increment(1.0);
    let started = Instant::now();
    let response = next.run(request).await;
    in_flight.decrement(1.0);
    let status = response.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}

/// Times every database statement by kind (select, insert, update, delete, other).
pub fn record_query(elapsed: Duration, sql: &str, failed: bool) {
    let verb = sql.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
    let op = match verb.as_str() {
        "select" | "insert" | "update" | "delete" | "with" => verb,
        _ => "other".to_owned(),
    };
    metrics::histogram!("db_query_duration_seconds", "op" => op.clone()).record(elapsed.as_secs_f64());
    if failed {
        metrics::counter!("db_query_errors_total", "op" => op).increment(1);
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
    render(&state.db, state.config.backup_dir.as_deref()).await
}

/// The metrics page itself (also served alone on `VOLANT_METRICS_ADDR`).
pub async fn render(db: &DatabaseConnection, backup_dir: Option<&std::path::Path>) -> Response {
    sample(db).await;
    if let Some(age) = crate::platform::backup::latest_age_of(backup_dir).await {
        metrics::gauge!("backup_latest_age_seconds").set(age.as_secs_f64());
    }
    let handle = handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// Gauges read at scrape time: the pool, the queue, deliveries and business counts.
async fn sample(db: &DatabaseConnection) {
    let (size, idle) = crate::platform::db::pool_usage(db);
    metrics::gauge!("db_pool_connections").set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    let counts = [
        ("jobs_queued", "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"),
        ("jobs_running", "SELECT COUNT(*) FROM jobs WHERE status = 'running'"),
        ("jobs_dead", "SELECT COUNT(*) FROM jobs WHERE status = 'dead'"),
        ("vehicles", "SELECT COUNT(*) FROM vehicles"),
        ("quotes", "SELECT COUNT(*) FROM quotes"),
        ("lessons", "SELECT COUNT(*) FROM school_lessons"),
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
        metrics::gauge!("jobs_oldest_due_age_seconds").set(age);
    }
}

/// Serves `/metrics` alone on an internal address (`VOLANT_METRICS_ADDR`), for
/// servers and workers alike, until `shutdown`.
pub async fn serve_internal(
    addr: SocketAddr,
    db: DatabaseConnection,
    backup_dir: Option<std::path::PathBuf>,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (db, backup_dir) = (db.clone(), backup_dir.clone());
            async move { render(&db, backup_dir.as_deref()).await }
        }),
    );
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
    tracing::info!(%addr, "metrics served on the internal address");
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await.map_err(|e| e.to_string())
}
