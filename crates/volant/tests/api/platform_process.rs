//! A real `volant serve`: SIGTERM stops it gracefully (requests in flight
//! finish, live streams close, exit 0), and its JSON logs say which user and
//! organization made a request, never a password or a token.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TEST_PASSWORD, TestApp};
use crate::servers::{free_port, volant, wait_ready};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_gracefully_and_its_logs_name_ids_not_secrets() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::sqlite().await;
    let admin = app.admin().await.clone();
    let session = app.admin_session().await.to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let log = dir.path().join("volant.log");
    let mut child = volant(&app.database_url(), dir.path(), &["serve"])
        .env("VOLANT_ADDR", format!("127.0.0.1:{port}"))
        .env("VOLANT_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start volant");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    assert!(wait_ready(&http, &format!("{base}/health/ready")).await, "the server answered");

    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": admin.email, "password": TEST_PASSWORD }))
        .send()
        .await
        .expect("login");
    let token = login.json::<Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned();
    let garages = http.get(format!("{base}/api/v1/garages")).bearer_auth(&token).send().await.expect("garages");
    assert_eq!(garages.status(), 200);

    // A page's live stream stays open until the server stops.
    let stream = http
        .get(format!("{base}/notifications/stream"))
        .header("cookie", format!("volant_session={session}"))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let mut body = stream;
    let first = body.chunk().await.expect("bytes").expect("an event");
    assert!(String::from_utf8_lossy(&first).contains("event: unread"));

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..150 {
        if let Some(status) = child.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = exited else {
        let _ = child.kill();
        panic!("still running 15 s after SIGTERM");
    };
    assert!(status.success(), "exit {status}");
    // The stream was ended by the server, not cut.
    while body.chunk().await.expect("a clean end of stream").is_some() {}

    let logs = std::fs::read_to_string(&log).expect("logs");
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "JSON lines: {logs}");
    let who = lines.iter().find(|l| l["span"]["user_id"] == admin.id && l["span"]["path"] == "/api/v1/garages");
    let who = who.unwrap_or_else(|| panic!("a line of the garages request names its user: {logs}"));
    assert_eq!(who["span"]["organization_id"], app.org.get());
    assert!(who["span"]["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    // Each request ends with one line a log store indexes: route template, status, latency in numbers.
    let finished = lines
        .iter()
        .find(|l| l["message"] == "request finished" && l["span"]["path"] == "/api/v1/garages")
        .unwrap_or_else(|| panic!("a line ends the garages request: {logs}"));
    assert_eq!((finished["status"].as_u64(), finished["span"]["route"].as_str()), (Some(200), Some("/api/v1/garages")));
    assert!(finished["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{finished}");
    assert_eq!(finished["span"]["user_id"], admin.id);
    assert!(!logs.contains(TEST_PASSWORD), "the password never reaches the logs");
    assert!(!logs.contains(&token) && !logs.contains(&session), "nor a token");
    assert!(lines.iter().any(|l| l["message"] == "stopped"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_exported_as_traces_to_an_otlp_collector() {
    use std::sync::{Arc, Mutex};
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The collector: an HTTP server that keeps what it receives on /v1/traces.
    // (content type, body) of every export.
    type Exports = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Exports = Arc::default();
    let keep = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                keep.lock().expect("lock").push((kind, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let collector_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let app = TestApp::sqlite().await;
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut child = volant(&app.database_url(), dir.path(), &["serve"])
        .env("VOLANT_ADDR", format!("127.0.0.1:{port}"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector_addr}"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start volant");
    let http = reqwest::Client::new();
    assert!(wait_ready(&http, &format!("http://127.0.0.1:{port}/health/ready")).await);
    assert_eq!(
        http.get(format!("http://127.0.0.1:{port}/api/v1/garages")).send().await.expect("request").status(),
        401
    );
    // Stopping flushes the spans still buffered.
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill").success());
    let mut exited = false;
    for _ in 0..150 {
        if child.try_wait().expect("wait").is_some() {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !exited {
        let _ = child.kill();
    }
    assert!(exited, "stopped");
    let received = received.lock().expect("lock").clone();
    assert!(!received.is_empty(), "the collector received traces");
    assert!(
        received.iter().all(|(kind, _)| kind == "application/x-protobuf"),
        "{:?}",
        received.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    let bytes: Vec<u8> = received.into_iter().flat_map(|(_, body)| body).collect();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"volant"), "the service name");
    assert!(contains(b"request") && contains(b"/api/v1/garages"), "the request span and its path");
}
