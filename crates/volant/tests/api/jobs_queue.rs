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

backend_tests!(
    a_job_exists_only_with_the_transaction_that_queued_it,
    failures_back_off_then_the_job_dies_and_an_admin_retries_it,
    workers_sharing_a_queue_run_each_job_once,
    a_schedule_is_queued_once_per_period_however_many_instances_offer_it
);

async fn a_job_exists_only_with_the_transaction_that_queued_it(app: TestApp) {
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

async fn failures_back_off_then_the_job_dies_and_an_admin_retries_it(app: TestApp) {
    let admin = app.as_admin();
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

    let stats = admin.get("/api/v1/admin/jobs/stats").await.json();
    assert_eq!((stats["retrying"].as_i64(), stats["scheduled"].as_i64()), (Some(1), Some(1)), "{stats}");

    due_now(&app, id).await;
    jobs::run_until_idle(&app.db, &registry).await.unwrap();
    let dead = job(&app, id).await;
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 2));
    let listed = admin.get("/api/v1/admin/jobs?status=dead").await.json();
    assert_eq!(listed[0]["id"].as_i64(), Some(id), "{listed}");
    assert_eq!(listed[0]["last_error"], "the mail server is down");
    let page = admin.get("/admin/jobs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("the mail server is down") && page.text().contains("test.flaky"));

    let retried = admin.post(&format!("/api/v1/admin/jobs/{id}/retry"), &json!({})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text());
    assert_eq!(retried.json()["status"], "queued");
    admin
        .post(&format!("/api/v1/admin/jobs/{id}/retry"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "job_not_dead");
    admin.post("/api/v1/admin/jobs/999999/retry", &json!({})).await.problem(StatusCode::NOT_FOUND, "not_found");
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

async fn workers_sharing_a_queue_run_each_job_once(app: TestApp) {
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
        workers.push(tokio::spawn(jobs::run_worker(
            app.db.clone(),
            registry.clone(),
            options,
            stop.clone(),
            Duration::from_secs(5),
        )));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = jobs::stats(&app.db, jobs::JobScope::operator(app.org)).await.unwrap().done;
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
    assert!(
        runs.values().all(|n| *n == 1),
        "no job ran twice: {:?}",
        runs.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
}

async fn a_schedule_is_queued_once_per_period_however_many_instances_offer_it(app: TestApp) {
    let mut registry = Registry::default();
    registry.handle("test.tick", |_job| async { Ok(()) }).every("test.tick", Duration::from_secs(3600));
    let registry = Arc::new(registry);
    let now = Utc::now();
    let offers: Vec<_> = (0..8)
        .map(|_| {
            let (db, registry) = (app.db.clone(), registry.clone());
            tokio::spawn(async move {
                jobs::offer_schedules(&db, &registry, now, &mut jobs::OfferedPeriods::new()).await.unwrap()
            })
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
    assert_eq!(
        jobs::offer_schedules(&app.db, &registry, now + chrono::Duration::hours(1), &mut offered).await.unwrap(),
        1,
        "the next period"
    );
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT idempotency_key FROM jobs WHERE kind = 'test.tick'",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
}

/// A GET (`/api/…` with a bearer token, a page with a web session).
async fn get_with(app: &TestApp, token: &str, path: &str) -> crate::helpers::TestResponse {
    use axum::body::Body;
    use axum::http::{Request, header};
    let request = if path.starts_with("/api/") {
        Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}"))
    } else {
        Request::get(path).header(header::COOKIE, format!("volant_session={token}"))
    };
    app.anonymous().send(request.body(Body::empty()).expect("request")).await
}

async fn retry_with(app: &TestApp, token: &str, id: i64) -> crate::helpers::TestResponse {
    use axum::body::Body;
    use axum::http::{Request, header};
    let request = Request::post(format!("/api/v1/admin/jobs/{id}/retry"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    app.anonymous().send(request).await
}

backend_tests!(platform_jobs_and_the_instance_status_belong_to_operators);

async fn platform_jobs_and_the_instance_status_belong_to_operators(app: TestApp) {
    use volant::identity::roles::Role;

    let platform =
        jobs::enqueue(&app.db, NewJob::new("test.platform_wide", json!({})).max_attempts(1)).await.unwrap().unwrap();
    let ours = jobs::enqueue(&app.db, NewJob::new("test.our_own", json!({})).for_org(app.org).max_attempts(1))
        .await
        .unwrap()
        .unwrap();
    jobs::run_until_idle(&app.db, &Registry::default()).await.unwrap();
    assert_eq!(job(&app, platform).await.status, "dead");

    // The administrators of an organization, ours or another, are not operators.
    let theirs = app.other_org().await.user().await.clone();
    let colleague = app.user("adjoint@volant.test", &[Role::Admin]).await;
    for (who, admin, own_job) in
        [("another organization's admin", theirs, None), ("our second admin", colleague, Some(ours))]
    {
        let token = volant::identity::auth::issue(&app.db, &app.signing_key, &admin, "api").await.expect("token").token;
        let web = volant::identity::auth::issue(&app.db, &app.signing_key, &admin, "web").await.expect("session").token;
        let dead = get_with(&app, &token, "/api/v1/admin/jobs?status=dead").await.json();
        let ids: Vec<i64> = dead.as_array().expect("array").iter().filter_map(|j| j["id"].as_i64()).collect();
        assert_eq!(ids, own_job.into_iter().collect::<Vec<_>>(), "{who}: {dead}");
        let stats = get_with(&app, &token, "/api/v1/admin/jobs/stats").await.json();
        assert_eq!(stats["dead"].as_i64(), Some(i64::from(own_job.is_some())), "{who}: {stats}");
        retry_with(&app, &token, platform).await.problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(job(&app, platform).await.status, "dead", "{who} cannot retry it");
        get_with(&app, &token, "/api/v1/admin/status").await.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(get_with(&app, &web, "/admin/status").await.status, StatusCode::FORBIDDEN, "{who}");
        let page = get_with(&app, &web, "/admin/jobs").await;
        assert_eq!(page.status, StatusCode::OK, "{who}");
        let html = page.text();
        assert!(!html.contains("test.platform_wide"), "{who}");
        assert!(!html.contains("href=\"/admin/status\""), "{who}: the status is not offered");
    }

    // The operator sees the instance and the platform-wide jobs, and retries them.
    let listed = app.as_admin().get("/api/v1/admin/jobs?status=dead").await.json();
    let ids: Vec<i64> = listed.as_array().expect("array").iter().filter_map(|j| j["id"].as_i64()).collect();
    assert!(ids.contains(&platform) && ids.contains(&ours), "{listed}");
    let status = app.as_admin().get("/api/v1/admin/status").await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text());
    let page = app.as_admin().get("/admin/jobs").await.text();
    assert!(page.contains("test.platform_wide") && page.contains("href=\"/admin/status\""));
    assert_eq!(app.as_admin().get("/admin/status").await.status, StatusCode::OK);
    let retried = app.as_admin().post(&format!("/api/v1/admin/jobs/{platform}/retry"), &json!({})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text());
    assert_eq!(job(&app, platform).await.status, "queued");
}

backend_tests!(an_upgraded_instance_makes_its_first_administrator_the_operator);

async fn an_upgraded_instance_makes_its_first_administrator_the_operator(app: TestApp) {
    use migration::MigratorTrait;

    use volant::identity::roles::Role;
    use volant::identity::users::service as users;
    // Older than ours, but not ours: another organization's administrator, our manager.
    let theirs = app.other_org().await.user().await.clone();
    let manager = app.user("gerant@volant.test", &[Role::Manager]).await;
    let first = app.user("premier@volant.test", &[Role::Admin]).await;
    let second = app.user("second@volant.test", &[Role::Admin]).await;
    // Back to before the operator flag, then up again, as an upgrade does.
    let applied = migration::Migrator::get_applied_migrations(&app.db).await.expect("applied");
    let at = applied.iter().position(|m| m.name() == "m20261202_000013_operators").expect("the operators migration");
    let steps = u32::try_from(applied.len() - at).expect("steps");
    migration::Migrator::down(&app.db, Some(steps)).await.expect("down");
    migration::Migrator::up(&app.db, None).await.expect("up");
    for (user, operator) in [(&theirs, false), (&manager, false), (&first, true), (&second, false)] {
        let found = users::find_active(&app.db, user.id).await.expect("query").expect("user");
        assert_eq!(found.is_operator, operator, "{}", user.email);
    }
}
