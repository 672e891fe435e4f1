//! The job queue on both backends: enqueued with its transaction or not at all,
//! idempotency keys, retries with backoff, dead jobs and their retry, several
//! workers sharing one queue, schedules once per period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use volant::platform::jobs::{self, NewJob, Registry, WorkerOptions, entity};

use crate::backend_tests;
use crate::helpers::TestApp;

async fn job(app: &TestApp, id: i64) -> entity::Model {
    entity::Entity::find_by_id(id).one(&app.db).await.expect("read").expect("the job")
}

/// Makes a job due now (instead of waiting for its backoff).
async fn due_now(app: &TestApp, id: i64) {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::Entity::update_many()
        .col_expr(entity::Column::RunAt, Utc::now().into())
        .filter(entity::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .expect("update");
}

backend_tests! {
    async fn a_job_exists_only_with_the_transaction_that_queued_it(app) {
        let txn = app.db.begin().await.unwrap();
        jobs::enqueue(&txn, NewJob::new("test.noop", json!({}))).await.unwrap();
        txn.rollback().await.unwrap();
        assert_eq!(entity::Entity::find().count(&app.db).await.unwrap(), 0, "rolled back with its change");

        let txn = app.db.begin().await.unwrap();
        let first = jobs::enqueue(&txn, NewJob::new("test.noop", json!({})).key("once")).await.unwrap();
        txn.commit().await.unwrap();
        assert!(first.is_some());
        let again = jobs::enqueue(&app.db, NewJob::new("test.noop", json!({})).key("once")).await.unwrap();
        assert_eq!(again, None, "the same key is queued once");
        assert_eq!(entity::Entity::find().count(&app.db).await.unwrap(), 1);
    }

    async fn failures_back_off_then_the_job_dies_and_an_admin_retries_it(app) {
        let mut registry = Registry::default();
        registry.handle("test.flaky", |_job| async { Err(jobs::JobError("the mail server is down".to_owned())) });
        registry.handle("test.panics", |_job| async { panic!("a bug") });
        let id = jobs::enqueue(&app.db, NewJob::new("test.flaky", json!({})).max_attempts(2)).await.unwrap().unwrap();
        let before = Utc::now();
        assert_eq!(jobs::run_until_idle(&app.db, &registry).await.unwrap(), 1);
        let failed = job(&app, id).await;
        assert_eq!((failed.status.as_str(), failed.attempts), ("queued", 1));
        assert_eq!(failed.last_error.as_deref(), Some("the mail server is down"));
        let wait = (failed.run_at - before).num_milliseconds();
        assert!((7_000..=13_000).contains(&wait), "backs off about 10 s with jitter: {wait} ms");
        assert_eq!(jobs::run_until_idle(&app.db, &registry).await.unwrap(), 0, "not before its time");

        let stats = app.get("/api/v1/admin/jobs/stats").await.json();
        assert_eq!((stats["retrying"].as_i64(), stats["scheduled"].as_i64()), (Some(1), Some(1)), "{stats}");

        due_now(&app, id).await;
        jobs::run_until_idle(&app.db, &registry).await.unwrap();
        let dead = job(&app, id).await;
        assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 2));
        let listed = app.get("/api/v1/admin/jobs?status=dead").await.json();
        assert_eq!(listed[0]["id"].as_i64(), Some(id), "{listed}");
        assert_eq!(listed[0]["last_error"], "the mail server is down");
        let page = app.get("/admin/jobs").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("the mail server is down") && page.text().contains("test.flaky"));

        let retried = app.post_json(&format!("/api/v1/admin/jobs/{id}/retry"), &json!({})).await;
        assert_eq!(retried.status, StatusCode::OK, "{}", retried.text());
        assert_eq!(retried.json()["status"], "queued");
        app.post_json(&format!("/api/v1/admin/jobs/{id}/retry"), &json!({})).await.problem(StatusCode::CONFLICT, "job_not_dead");
        app.post_json("/api/v1/admin/jobs/999999/retry", &json!({})).await.problem(StatusCode::NOT_FOUND, "not_found");
        jobs::run_until_idle(&app.db, &registry).await.unwrap();
        assert_eq!(job(&app, id).await.attempts, 1, "a retried job starts its attempts again");

        let bug = jobs::enqueue(&app.db, NewJob::new("test.panics", json!({})).max_attempts(1)).await.unwrap().unwrap();
        let unknown = jobs::enqueue(&app.db, NewJob::new("test.nobody", json!({})).max_attempts(1)).await.unwrap().unwrap();
        jobs::run_until_idle(&app.db, &registry).await.unwrap();
        let bug = job(&app, bug).await;
        assert_eq!(bug.status, "dead");
        assert!(bug.last_error.unwrap_or_default().contains("panicked"));
        assert!(job(&app, unknown).await.last_error.unwrap_or_default().contains("no handler"));
    }

    async fn workers_sharing_a_queue_run_each_job_once(app) {
        let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
        let mut registry = Registry::default();
        let seen = runs.clone();
        registry.handle("test.count", move |job| {
            let seen = seen.clone();
            async move {
                *seen.lock().unwrap().entry(job.id).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(())
            }
        });
        let registry = Arc::new(registry);
        let total = 300;
        for chunk in 0..(total / 50) {
            let txn = app.db.begin().await.unwrap();
            for n in 0..50 {
                jobs::enqueue(&txn, NewJob::new("test.count", json!({ "n": chunk * 50 + n }))).await.unwrap();
            }
            txn.commit().await.unwrap();
        }
        let stop = CancellationToken::new();
        let mut workers = Vec::new();
        for _ in 0..4 {
            let mut options = WorkerOptions::new(4, Duration::from_secs(30));
            options.poll = Duration::from_millis(20);
            workers.push(tokio::spawn(jobs::run_worker(app.db.clone(), registry.clone(), options, stop.clone(), Duration::from_secs(5))));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let done = jobs::stats(&app.db, app.org).await.unwrap().done;
            if done == total {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "only {done} of {total} jobs done");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
        for worker in workers {
            worker.await.unwrap();
        }
        let runs = runs.lock().unwrap();
        assert_eq!(runs.len() as i64, total, "every job ran");
        assert!(runs.values().all(|n| *n == 1), "no job ran twice: {:?}", runs.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>());
    }

    async fn a_schedule_is_queued_once_per_period_however_many_instances_offer_it(app) {
        let mut registry = Registry::default();
        registry.handle("test.tick", |_job| async { Ok(()) }).every("test.tick", Duration::from_secs(3600));
        let registry = Arc::new(registry);
        let now = Utc::now();
        let offers: Vec<_> = (0..8)
            .map(|_| {
                let (db, registry) = (app.db.clone(), registry.clone());
                tokio::spawn(async move { jobs::offer_schedules(&db, &registry, now, &mut jobs::OfferedPeriods::new()).await.unwrap() })
            })
            .collect();
        let mut queued = 0;
        for offer in offers {
            queued += offer.await.unwrap();
        }
        assert_eq!(queued, 1, "one instance wins the period");
        // One process remembers the period it saw queued: no write until the next one.
        let mut offered = jobs::OfferedPeriods::new();
        assert_eq!(jobs::offer_schedules(&app.db, &registry, now, &mut offered).await.unwrap(), 0);
        assert_eq!(offered.len(), 1);
        assert_eq!(jobs::offer_schedules(&app.db, &registry, now + chrono::Duration::hours(1), &mut offered).await.unwrap(), 1, "the next period");
        let rows = app.db.query_all_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), "SELECT idempotency_key FROM jobs WHERE kind = 'test.tick'")).await.unwrap();
        assert_eq!(rows.len(), 2);
    }
}
