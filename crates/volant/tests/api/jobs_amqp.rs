//! Jobs through a real RabbitMQ (127.0.0.1:5672, guest/guest): two processes'
//! worth of relays and consumers, each job once, a real e-mail at the end.
//! Skipped when no broker listens, except in CI.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::TransactionTrait;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use volant::platform::amqp::{self, Broker};
use volant::platform::jobs::{self, NewJob, WorkerOptions};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::TestApp;
use crate::servers::SmtpServer;

fn rabbitmq() -> Option<String> {
    if std::net::TcpStream::connect_timeout(&"127.0.0.1:5672".parse().expect("address"), Duration::from_secs(2)).is_ok()
    {
        return Some("amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have RabbitMQ on 127.0.0.1:5672");
    None
}

backend_tests!(jobs_go_through_rabbitmq_and_each_runs_once);

async fn jobs_go_through_rabbitmq_and_each_runs_once(app: TestApp) {
    let admin = app.as_admin();
    let Some(url) = rabbitmq() else { return };
    let smtp = SmtpServer::start();
    let mut state = app.state.clone();
    let mut config = (*state.config).clone();
    config.notify.smtp_url = Some(smtp.url());
    state.config = Arc::new(config);
    let mut registry = volant::app::jobs_for(&state).expect("registry");
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let seen = runs.clone();
    registry.handle("test.count", move |job| {
        let seen = seen.clone();
        async move {
            *seen.lock().unwrap().entry(job.id).or_default() += 1;
            Ok(())
        }
    });
    let registry = Arc::new(registry);
    let total = 120;
    let txn = app.db.begin().await.unwrap();
    for n in 0..total {
        jobs::enqueue(&txn, NewJob::new("test.count", json!({ "n": n }))).await.unwrap();
    }
    txn.commit().await.unwrap();
    let marie = client(&app, json!({ "name": "Marie", "email": "marie@exemple.fr" })).await;
    let quote = admin.post("/api/v1/quotes", &json!({
            "client_id": marie,
            "lines": [{ "kind": "labour", "description": "Vidange", "quantity": 1, "unit_price": 60, "vat_rate": 20 }]
        })).await.json();
    let sent = admin.post(&format!("/api/v1/quotes/{}/email", quote["id"]), &json!({})).await;
    assert_eq!(sent.status, axum::http::StatusCode::ACCEPTED);

    let broker = Broker { url, queue: format!("volant.test.{}", fastrand::u64(..)) };
    let stop = CancellationToken::new();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let mut options = WorkerOptions::new(4, Duration::from_secs(30));
            options.poll = Duration::from_millis(50);
            tokio::spawn(amqp::run(
                app.db.clone(),
                registry.clone(),
                broker.clone(),
                options,
                stop.clone(),
                Duration::from_secs(5),
            ))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while runs.lock().unwrap().len() < total || smtp.count() < 1 {
        assert!(tokio::time::Instant::now() < deadline, "{} of {total} jobs ran", runs.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Outcomes are recorded before acknowledging: wait for the last ones.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while jobs::stats(&app.db, jobs::JobScope::operator(app.org)).await.unwrap().running > 0 {
        assert!(tokio::time::Instant::now() < deadline, "jobs left running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(runs.lock().unwrap().values().all(|n| *n == 1), "each job once");
    assert_eq!(smtp.received()[0].to, vec!["marie@exemple.fr".to_owned()]);
    let stats = jobs::stats(&app.db, jobs::JobScope::operator(app.org)).await.unwrap();
    assert_eq!((stats.dead, stats.running, stats.retrying), (0, 0, 0));
    // Leave the broker as it was.
    let connection = lapin::Connection::connect(&broker.url, lapin::ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.queue_delete(broker.queue.as_str().into(), lapin::options::QueueDeleteOptions::default()).await.unwrap();
}
