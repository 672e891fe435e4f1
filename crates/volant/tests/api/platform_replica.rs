//! With a read replica, API lists, the dashboard and reports read it, while
//! writes and the reads that must see them go to the primary. The replica is a
//! real hot standby streaming from a primary the test starts (`pg_basebackup
//! -R`); pausing its replay shows where each answer was read.

use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use volant::platform::db::{self, DbSettings};

use crate::cluster::{Cluster, eventually};
use crate::helpers::{TestApp, json_request, send};

async fn one<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> Option<T> {
    db.query_one_raw(Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql.to_owned()))
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get_by_index::<T>(0).ok())
}

/// Whether the standby has replayed everything the primary has written so far.
async fn caught_up(primary: &DatabaseConnection, standby: &DatabaseConnection) -> bool {
    let Some(written) = one::<String>(primary, "SELECT pg_current_wal_lsn()::text").await else { return false };
    let sql = format!("SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn");
    one::<bool>(standby, &sql).await == Some(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_reports_read_the_streaming_standby_while_writes_go_to_the_primary() {
    let Some(primary) = Cluster::init("wal_level = replica\nmax_wal_senders = 4") else { return };
    primary.start();
    let standby = Cluster::standby_of(&primary);
    standby.start();
    let app = TestApp::postgres_on(primary.url("postgres"), |_| {}).await;
    let replica = db::connect(&DbSettings {
        url: standby.url("postgres"),
        max_connections: 2,
        schema: app.schema().map(str::to_owned),
        sqlite_mmap_bytes: 0,
    })
    .await
    .expect("standby");
    eventually("the standby has the schema", async || caught_up(&app.db, &replica).await).await;
    assert_eq!(one::<bool>(&replica, "SELECT pg_is_in_recovery()").await, Some(true), "a standby");
    let refused = replica.execute_unprepared("CREATE TABLE written_on_the_standby (id INT)").await;
    assert!(refused.is_err_and(|e| e.to_string().contains("read-only")), "the standby takes no write");

    let mut state = app.state.clone();
    state.replica = replica.clone();
    let router = volant::App::over(state).expect("app").router;
    let as_admin = async |method: Method, uri: &str, body: &serde_json::Value| {
        send(router.clone(), app.as_admin().authorize(json_request(method, uri, body)).await).await
    };
    let names = async || -> Vec<String> {
        let listed = as_admin(Method::GET, "/api/v1/garages", &json!(null)).await.json();
        listed.as_array().expect("list").iter().filter_map(|g| g["name"].as_str().map(str::to_owned)).collect()
    };

    let created = as_admin(
        Method::POST,
        "/api/v1/garages",
        &json!({ "name": "Écrit sur le primaire", "address": "2 rue Proche" }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    eventually("the garage streamed to the standby", async || names().await == ["Écrit sur le primaire"]).await;

    // Replay paused: what the primary writes now is not on the standby yet.
    one::<String>(&replica, "SELECT pg_wal_replay_pause()::text").await;
    eventually("replay paused", async || one::<bool>(&replica, "SELECT pg_is_wal_replay_paused()").await == Some(true))
        .await;
    let created = as_admin(
        Method::POST,
        "/api/v1/garages",
        &json!({ "name": "Écrit pendant la pause", "address": "3 rue Proche" }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().expect("id");
    // Read-your-writes: the garage just made is there, from the primary.
    let read = as_admin(Method::GET, &format!("/api/v1/garages/{id}"), &json!(null)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["name"], "Écrit pendant la pause");
    // The list and the dashboard read the standby.
    assert_eq!(names().await, ["Écrit sur le primaire"], "{}", standby.log());
    let dashboard = as_admin(Method::GET, "/api/v1/dashboard", &json!(null)).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.text().contains("Écrit sur le primaire") && !dashboard.text().contains("pendant la pause"));

    one::<String>(&replica, "SELECT pg_wal_replay_resume()::text").await;
    eventually("the standby caught up", async || {
        let mut listed = names().await;
        listed.sort();
        listed == ["Écrit pendant la pause", "Écrit sur le primaire"]
    })
    .await;
    let _ = replica.close().await;
}
