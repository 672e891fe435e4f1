//! Point-in-time recovery with pgBackRest, as `deploy/postgres/pgbackrest.conf`
//! sets it up (encrypted repository, WAL archiving): on a cluster the test
//! starts, a base backup, writes through Volant, a noted time, more writes; the
//! cluster restored to the noted time, and Volant reads exactly the rows
//! committed before it.

use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use volant::platform::db::{self, DbSettings};

use crate::cluster::{Cluster, as_owner, eventually, run};
use crate::helpers::{TestApp, json_request, send};

/// The deploy's configuration, with this cluster's folders and port.
fn pgbackrest_conf(cluster: &Cluster) -> std::path::PathBuf {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/postgres/pgbackrest.conf");
    let text = std::fs::read_to_string(deploy).expect("deploy/postgres/pgbackrest.conf");
    let dir = cluster.dir.display();
    let mut conf: Vec<String> = text
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or("").trim();
            match key {
                "repo1-path" => format!("repo1-path={dir}/repo"),
                "spool-path" => format!("spool-path={dir}/spool"),
                "log-path" => format!("log-path={dir}/log"),
                "lock-path" => format!("lock-path={dir}/lock"),
                "pg1-path" => {
                    format!("pg1-path={}\npg1-port={}\npg1-socket-path={dir}", cluster.data.display(), cluster.port)
                }
                _ => line.to_owned(),
            }
        })
        .collect();
    assert!(conf.iter().any(|l| l.contains("pg1-port=")), "the deploy's stanza names pg1-path");
    // The passphrase comes from the environment in production; the test's cluster reads it here.
    let global = conf.iter().position(|l| l.trim() == "[global]").expect("[global]");
    conf.insert(global + 1, "repo1-cipher-pass=pitr-test-passphrase-0123456789".to_owned());
    let path = cluster.dir.join("pgbackrest.conf");
    std::fs::write(&path, conf.join("\n") + "\n").expect("pgbackrest.conf");
    if crate::cluster::is_root() {
        run(std::process::Command::new("chown").args(["postgres:postgres"]).arg(&path));
    }
    path
}

fn pgbackrest(conf: &std::path::Path, args: &[&str]) -> std::process::Output {
    run(as_owner("pgbackrest").arg(format!("--config={}", conf.display())).arg("--stanza=volant").args(args))
}

async fn garage_names(router: &axum::Router, app: &TestApp) -> Vec<String> {
    let listed = send(
        router.clone(),
        app.as_admin().authorize(json_request(Method::GET, "/api/v1/garages", &json!(null))).await,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let mut names: Vec<String> =
        listed.json().as_array().expect("list").iter().filter_map(|g| g["name"].as_str().map(str::to_owned)).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_restored_to_a_noted_time_holds_exactly_what_was_committed_before_it() {
    let Some(cluster) = Cluster::init("wal_level = replica\narchive_mode = on\nmax_wal_senders = 4") else { return };
    let conf = pgbackrest_conf(&cluster);
    {
        use std::io::Write;
        let mut settings =
            std::fs::OpenOptions::new().append(true).open(cluster.data.join("postgresql.conf")).expect("conf");
        writeln!(
            settings,
            "archive_command = 'pgbackrest --config={} --stanza=volant archive-push %p'",
            conf.display()
        )
        .expect("archive_command");
    }
    cluster.start();
    pgbackrest(&conf, &["stanza-create"]);
    pgbackrest(&conf, &["check"]);

    let app = TestApp::postgres_on(cluster.url("postgres"), |_| {}).await;
    let admin = app.as_admin();
    admin.get("/api/v1/garages").await.assert_success();
    pgbackrest(&conf, &["--type=full", "backup"]);
    // pgBackRest records a backup's stop time in whole seconds: the noted time comes after it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for name in ["Avant la sauvegarde", "Avant l'heure notée"] {
        admin
            .post("/api/v1/garages", &json!({ "name": name, "address": "1 rue du Temps" }))
            .await
            .assert_status(StatusCode::CREATED);
    }
    let noted: String = app
        .db
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'".to_owned(),
        ))
        .await
        .expect("time")
        .and_then(|r| r.try_get_by_index(0).ok())
        .expect("noted time");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    admin
        .post("/api/v1/garages", &json!({ "name": "Après l'heure notée", "address": "2 rue du Temps" }))
        .await
        .assert_status(StatusCode::CREATED);
    // The segment holding the later commit is archived before the cluster goes.
    let segment: String = app
        .db
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_walfile_name(pg_switch_wal())".to_owned(),
        ))
        .await
        .expect("switch")
        .and_then(|r| r.try_get_by_index(0).ok())
        .expect("segment");
    eventually("the WAL segment archived", async || {
        let archived = app
            .db
            .query_one_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT COALESCE(last_archived_wal, '') FROM pg_stat_archiver".to_owned(),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get_by_index::<String>(0).ok())
            .unwrap_or_default();
        archived.as_str() >= segment.as_str()
    })
    .await;
    let schema = app.schema().expect("schema").to_owned();
    app.db.clone().close().await.ok();
    cluster.stop();

    pgbackrest(&conf, &["--delta", "--type=time", &format!("--target={noted}"), "--target-action=promote", "restore"]);
    cluster.start();
    let restored = db::connect(&DbSettings {
        url: cluster.url("postgres"),
        max_connections: 2,
        schema: Some(schema),
        sqlite_mmap_bytes: 0,
    })
    .await
    .expect("restored cluster");
    eventually("recovery done and promoted", async || {
        restored
            .query_one_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_is_in_recovery()".to_owned(),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get_by_index::<bool>(0).ok())
            == Some(false)
    })
    .await;
    let mut state = app.state.clone();
    state.db = restored.clone();
    state.replica = restored.clone();
    let router = volant::App::over(state).expect("app").router;
    assert_eq!(
        garage_names(&router, &app).await,
        vec!["Avant l'heure notée".to_owned(), "Avant la sauvegarde".to_owned()],
        "{}",
        cluster.log()
    );
    let _ = restored.close().await;
}
