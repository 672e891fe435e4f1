//! `GET /metrics`: guarded by its token, and its counters move as requests,
//! jobs and notifications happen (the recorder is the process's: values only grow).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::fixtures::workshop::client;
use crate::helpers::TestApp;

const TOKEN: &str = "scrape-me-please";

async fn scrape(app: &TestApp) -> String {
    let request = Request::builder()
        .uri("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .expect("request");
    let response = app.anonymous().send(request).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").unwrap_or_default().starts_with("text/plain"));
    response.text()
}

/// The value of the series named `name` whose labels include every pair of `labels`.
fn value(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    page.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .filter(|line| labels.iter().all(|(k, v)| line.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn counters_move(app: TestApp) {
    let admin = app.as_admin();
    let wrong =
        Request::builder().uri("/metrics").header(header::AUTHORIZATION, "Bearer nope").body(Body::empty()).unwrap();
    assert_eq!(app.anonymous().send(wrong).await.status, StatusCode::NOT_FOUND);
    let none = Request::builder().uri("/metrics").body(Body::empty()).unwrap();
    assert_eq!(app.anonymous().send(none).await.status, StatusCode::NOT_FOUND, "no token, not loopback");

    let garages = [("method", "GET"), ("route", "/api/v1/garages"), ("status", "200")];
    let before = value(&scrape(&app).await, "http_requests_total", &garages);
    for _ in 0..3 {
        assert_eq!(admin.get("/api/v1/garages").await.status, StatusCode::OK);
    }
    admin.get("/api/v1/garages/987654").await;
    let page = scrape(&app).await;
    assert!(value(&page, "http_requests_total", &garages) >= before + 3.0, "{page}");
    // Route templates, never ids.
    assert!(value(&page, "http_requests_total", &[("route", "/api/v1/garages/{id}"), ("status", "404")]) >= 1.0);
    assert!(!page.contains("987654"));
    assert!(value(&page, "http_request_duration_seconds_count", &[("route", "/api/v1/garages")]) >= 3.0);
    assert!(page.contains("http_request_duration_seconds_bucket{") && page.contains("le=\"0.1\""));
    assert!(value(&page, "db_query_duration_seconds_count", &[("op", "select")]) > 0.0);
    for gauge in [
        "http_requests_in_flight",
        "db_pool_connections",
        "jobs_queued",
        "jobs_dead",
        "jobs_oldest_due_age_seconds",
        "vehicles",
        "quotes",
        "lessons",
    ] {
        assert!(page.lines().any(|l| l.starts_with(gauge)), "{gauge} missing");
    }

    // A job and an e-mail move their counters.
    // No SMTP server here: the e-mail is written to the outbox folder, counted as saved, not sent.
    let sent = [("channel", "email"), ("outcome", "saved")];
    let emails_before = value(&page, "notifications_total", &sent);
    let jobs_before = value(&page, "jobs_finished_total", &[("kind", "notify.email"), ("outcome", "done")]);
    let anna = client(&app, json!({ "name": "Anna", "email": "anna@exemple.fr" })).await;
    let quote = admin.post("/api/v1/quotes", &json!({
        "client_id": anna,
        "lines": [{ "kind": "labour", "description": "Diagnostic", "quantity": 1, "unit_price": 45, "vat_rate": 20 }]
    })).await.json();
    assert_eq!(
        admin.post(&format!("/api/v1/quotes/{}/email", quote["id"]), &json!({})).await.status,
        StatusCode::ACCEPTED
    );
    app.run_jobs().await;
    let page = scrape(&app).await;
    assert!(value(&page, "notifications_total", &sent) >= emails_before + 1.0);
    assert!(value(&page, "jobs_finished_total", &[("kind", "notify.email"), ("outcome", "done")]) >= jobs_before + 1.0);
    assert!(value(&page, "job_duration_seconds_count", &[("kind", "notify.email")]) >= 1.0);
}

crate::backend_tests!(the_status_page_tells_version_database_schema_and_queue);

async fn the_status_page_tells_version_database_schema_and_queue(app: TestApp) {
    let admin = app.as_admin();
    let status = admin.get("/api/v1/admin/status").await.json();
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    let backend = if app.database_url().starts_with("postgres") { "postgres" } else { "sqlite" };
    assert_eq!(status["database"], backend);
    let latest = {
        use migration::MigratorTrait;
        migration::Migrator::migrations().last().map(|m| m.name().to_owned()).unwrap()
    };
    assert_eq!(status["migration"].as_str(), Some(latest.as_str()), "{status}");
    assert!(status["uptime_seconds"].as_i64().unwrap() >= 0);
    assert_eq!((status["email"].as_str(), status["job_transport"].as_str()), (Some("files"), Some("database")));
    assert!(status["queue"]["dead"].is_number());
    let page = admin.get("/admin/status").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("État du service") && page.text().contains(backend));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_requests_jobs_and_notifications_happen_sqlite() {
    counters_move(TestApp::sqlite_with(|c| c.metrics_token = Some(TOKEN.to_owned())).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_requests_jobs_and_notifications_happen_postgres() {
    if let Some(app) = TestApp::postgres_with(|c| c.metrics_token = Some(TOKEN.to_owned())).await {
        counters_move(app).await;
    }
}
