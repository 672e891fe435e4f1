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
    let before = value(&scrape(&app).await, "volant_http_requests_total", &garages);
    for _ in 0..3 {
        assert_eq!(admin.get("/api/v1/garages").await.status, StatusCode::OK);
    }
    admin.get("/api/v1/garages/987654").await;
    let page = scrape(&app).await;
    assert!(value(&page, "volant_http_requests_total", &garages) >= before + 3.0, "{page}");
    // Route templates, never ids.
    assert!(value(&page, "volant_http_requests_total", &[("route", "/api/v1/garages/{id}"), ("status", "404")]) >= 1.0);
    assert!(!page.contains("987654"));
    assert!(value(&page, "volant_http_request_duration_seconds_count", &[("route", "/api/v1/garages")]) >= 3.0);
    assert!(page.contains("volant_http_request_duration_seconds_bucket{") && page.contains("le=\"0.1\""));
    assert!(value(&page, "volant_db_query_duration_seconds_count", &[("op", "select")]) > 0.0);
    for gauge in [
        "volant_http_requests_in_flight",
        "volant_db_pool_connections",
        "volant_jobs_queued",
        "volant_jobs_dead",
        "volant_jobs_oldest_due_age_seconds",
        "volant_vehicles",
        "volant_quotes",
        "volant_lessons",
    ] {
        assert!(page.lines().any(|l| l.starts_with(gauge)), "{gauge} missing");
    }

    // A job and an e-mail move their counters.
    // No SMTP server here: the e-mail is written to the outbox folder, counted as saved, not sent.
    let sent = [("channel", "email"), ("outcome", "saved")];
    let emails_before = value(&page, "volant_notifications_total", &sent);
    let jobs_before = value(&page, "volant_jobs_finished_total", &[("kind", "notify.email"), ("outcome", "done")]);
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
    assert!(value(&page, "volant_notifications_total", &sent) >= emails_before + 1.0);
    assert!(
        value(&page, "volant_jobs_finished_total", &[("kind", "notify.email"), ("outcome", "done")])
            >= jobs_before + 1.0
    );
    assert!(value(&page, "volant_job_duration_seconds_count", &[("kind", "notify.email")]) >= 1.0);
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

/// `promtool` (Debian's `prometheus` package), or `None` outside CI when it is missing.
fn promtool() -> Option<std::process::Command> {
    let found = std::process::Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have promtool (apt-get install prometheus)");
        eprintln!("promtool missing: Prometheus conventions not checked");
        return None;
    }
    Some(std::process::Command::new("promtool"))
}

/// `promtool check metrics` on a scraped page: its complaints, if any.
fn lint(page: &str) -> Option<String> {
    use std::io::Write;
    let mut command = promtool()?;
    let mut child = command
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool");
    child.stdin.take().expect("stdin").write_all(page.as_bytes()).expect("page to promtool");
    let output = child.wait_with_output().expect("promtool's verdict");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Some(if output.status.success() { String::new() } else { said })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_describes_every_metric_from_its_first_scrape_and_promtool_agrees() {
    use crate::servers::{free_port, volant, wait_ready};
    let app = TestApp::sqlite().await;
    let dir = tempfile::tempdir().expect("dir");
    // An encrypted backup and its drill, by the commands an operator types.
    let run = |args: &[&str], env: &[(&str, String)]| {
        let mut command = volant(&app.database_url(), dir.path(), args);
        command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let output = command.stdout(std::process::Stdio::piped()).output().expect("run volant");
        assert!(output.status.success(), "volant {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let key = run(&["generate-backup-key"], &[]);
    let public = key.lines().find_map(|l| l.strip_prefix("# public key (VOLANT_BACKUP_RECIPIENTS): ")).expect("public");
    assert!(public.starts_with("age1") && key.contains("AGE-SECRET-KEY-1"), "{key}");
    std::fs::write(dir.path().join("backup.key"), &key).expect("identity file");
    let backups = [
        ("VOLANT_BACKUP_DIR", "backups".to_owned()),
        ("VOLANT_BACKUP_RECIPIENTS", public.to_owned()),
        ("VOLANT_BACKUP_IDENTITY_FILE", "backup.key".to_owned()),
    ];
    // Typed where there is nothing to drill, the drill says why and records nothing:
    // no backup folder, no backup in it, an encrypted backup and no key.
    let astray = |env: &[(&str, String)], expected: &str| {
        let mut command = volant(&app.database_url(), dir.path(), &["restore-drill"]);
        command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let output = command.output().expect("run volant");
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success() && said.contains(expected), "{expected}: {said}");
    };
    astray(&[], "VOLANT_BACKUP_DIR is not set");
    astray(&backups[..1], "no complete backup");
    assert!(run(&["backup"], &backups).trim().ends_with(".db.age"));
    astray(&backups[..2], "is encrypted: set VOLANT_BACKUP_IDENTITY_FILE");
    assert!(run(&["restore-drill"], &backups).contains("restored and checked"));
    let port = free_port();
    let mut child = volant(&app.database_url(), dir.path(), &["serve"])
        .envs(backups.iter().map(|(k, v)| (*k, v.as_str())))
        .env("VOLANT_ADDR", format!("127.0.0.1:{port}"))
        .env("VOLANT_METRICS_TOKEN", TOKEN)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start volant");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    assert!(wait_ready(&http, &format!("{base}/health/ready")).await);
    let scrape = async || {
        let answer = http.get(format!("{base}/metrics")).bearer_auth(TOKEN).send().await.expect("scrape");
        assert_eq!(answer.status(), 200);
        answer.text().await.expect("page")
    };
    let first = scrape().await;
    // The first scrape already lists the gauges, the build and every described metric's help.
    for metric in ["volant_build_info", "volant_jobs_queued", "volant_db_pool_connections", "volant_start_time_seconds"]
    {
        assert!(first.contains(&format!("# HELP {metric} ")), "{metric}: {first}");
        assert!(first.lines().any(|l| l.starts_with(metric) && !l.starts_with('#')), "{metric} has a value: {first}");
    }
    assert!(first.contains(&format!("volant_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))));
    // The drill just made: a success, a few seconds old.
    assert_eq!(value(&first, "volant_restore_drill_last_run_success", &[]), 1.0, "{first}");
    assert_eq!(value(&first, "volant_restore_drill_interval_seconds", &[]), 30.0 * 86_400.0, "the default: monthly");
    let drilled = value(&first, "volant_restore_drill_last_success_timestamp_seconds", &[]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs_f64();
    assert!((now - drilled).abs() < 600.0, "{drilled} vs {now}");
    assert!(value(&first, "volant_backup_latest_age_seconds", &[]) < 600.0);
    if let Some(complaints) = lint(&first) {
        assert_eq!(complaints, "", "the first scrape:\n{first}");
    }
    assert_eq!(http.get(format!("{base}/api/v1/garages")).send().await.expect("garages").status(), 401);
    let later = scrape().await;
    // Every series is the application's own, described, and typed as the catalogue says.
    for line in later.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(line.starts_with("volant_"), "no application prefix: {line}");
    }
    for metric in
        ["volant_http_requests_total", "volant_http_request_duration_seconds", "volant_db_query_duration_seconds"]
    {
        assert!(later.contains(&format!("# HELP {metric} ")), "{metric}: {later}");
    }
    for (metric, kind, _) in volant::platform::metrics::CATALOGUE {
        let kind = format!("{kind:?}").to_lowercase();
        if let Some(line) = later.lines().find(|l| l.starts_with(&format!("# TYPE {metric} "))) {
            assert_eq!(line, format!("# TYPE {metric} {kind}"));
        }
    }
    if let Some(complaints) = lint(&later) {
        assert_eq!(complaints, "", "after requests:\n{later}");
    }
    let _ = child.kill();
    let _ = child.wait();
    let recorded = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        volant::operations::drills::drill::Entity::find().count(&app.db).await.expect("drills")
    };
    assert_eq!(recorded, 1, "one drill recorded, the good one");
}

/// The alert rules and the dashboard name only metrics Volant exports, and promtool
/// accepts the rules, their unit tests and the scrape configuration.
#[test]
fn rules_and_dashboard_follow_the_catalogue_and_promtool_accepts_them() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let known: Vec<&str> = volant::platform::metrics::CATALOGUE.iter().map(|(name, _, _)| *name).collect();
    for file in ["prometheus/alerts.yml", "grafana/dashboards/volant.json"] {
        let text = std::fs::read_to_string(deploy.join(file)).expect("deploy file");
        let mut named = 0;
        for (at, _) in text.match_indices("volant_") {
            let word: String =
                text[at..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit()).collect();
            let metric =
                ["_bucket", "_count", "_sum"].iter().fold(word.as_str(), |w, s| w.strip_suffix(s).unwrap_or(w));
            // Dashboard uids and job names may say "volant_" too: only PromQL is checked.
            if file.ends_with(".json") && !text[..at].rsplit('\n').next().unwrap_or("").contains("\"expr\"") {
                continue;
            }
            assert!(known.contains(&metric), "{file} names {word}, which Volant does not export");
            named += 1;
        }
        assert!(named > 5, "{file} names the metrics");
    }
    let Some(_) = promtool() else { return };
    for args in [
        vec!["check", "rules", "prometheus/alerts.yml"],
        vec!["test", "rules", "prometheus/alerts.test.yml"],
        vec!["check", "config", "--syntax-only", "prometheus/prometheus.yml"],
    ] {
        let output =
            std::process::Command::new("promtool").args(&args).current_dir(&deploy).output().expect("promtool");
        assert!(
            output.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
