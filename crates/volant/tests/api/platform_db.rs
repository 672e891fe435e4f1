//! The one transaction helper, `db::write`: commits on `Ok`, rolls back on `Err`,
//! nests as a savepoint; on SQLite and PostgreSQL.

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr};
use volant::platform::db;

use crate::helpers::TestApp;

/// Runs `check` against a fresh database of each configured backend.
async fn on_each_backend(check: impl AsyncFn(&DatabaseConnection)) {
    let app = TestApp::sqlite().await;
    check(&app.db).await;
    if let Some(app) = TestApp::postgres().await {
        check(&app.db).await;
    }
}

async fn create_probe(db: &DatabaseConnection) {
    db.execute_unprepared("CREATE TABLE write_probe (n INTEGER NOT NULL)").await.expect("create the probe table");
}

async fn insert(txn: &DatabaseTransaction, n: i32) -> Result<(), DbErr> {
    txn.execute_unprepared(&format!("INSERT INTO write_probe (n) VALUES ({n})")).await.map(|_| ())
}

/// The numbers the probe table holds, in order.
async fn probe(db: &DatabaseConnection) -> Vec<i32> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT n FROM write_probe ORDER BY n",
        ))
        .await
        .expect("read the probe table");
    rows.iter().map(|row| row.try_get_by_index::<i32>(0).expect("n")).collect()
}

fn refused() -> DbErr {
    DbErr::Custom("refused".to_owned())
}

fn is_refused<T>(answer: &Result<T, DbErr>) -> bool {
    matches!(answer, Err(DbErr::Custom(message)) if message == "refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_commits_what_the_work_did_when_it_succeeds() {
    on_each_backend(async |db| {
        create_probe(db).await;
        let answer = db::write(db, async |txn| {
            insert(txn, 1).await?;
            insert(txn, 2).await?;
            Ok::<_, DbErr>("done")
        })
        .await;
        assert_eq!(answer.ok(), Some("done"));
        assert_eq!(probe(db).await, [1, 2]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_rolls_back_everything_when_the_work_fails() {
    on_each_backend(async |db| {
        create_probe(db).await;
        let answer: Result<(), DbErr> = db::write(db, async |txn| {
            insert(txn, 1).await?;
            Err(refused())
        })
        .await;
        assert!(is_refused(&answer), "the work's own error comes back: {answer:?}");
        assert_eq!(probe(db).await, Vec::<i32>::new(), "nothing was committed");
        // A failed statement too: on PostgreSQL it aborts the transaction, which still rolls back.
        let answer = db::write(db, async |txn| {
            insert(txn, 3).await?;
            txn.execute_unprepared("INSERT INTO no_such_table (n) VALUES (1)").await?;
            Ok::<_, DbErr>(())
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(probe(db).await, Vec::<i32>::new());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_nests_as_a_savepoint_of_the_callers_transaction() {
    on_each_backend(async |db| {
        create_probe(db).await;
        // The inner part fails: only it is undone, and the outer one goes on and commits,
        // even after a statement PostgreSQL refused inside the inner part.
        db::write(db, async |txn| {
            insert(txn, 1).await?;
            let inner: Result<(), DbErr> = db::write(txn, async |inner| {
                insert(inner, 2).await?;
                inner.execute_unprepared("INSERT INTO no_such_table (n) VALUES (1)").await?;
                Ok(())
            })
            .await;
            assert!(inner.is_err());
            db::write(txn, async |inner| insert(inner, 3).await).await?;
            insert(txn, 4).await
        })
        .await
        .expect("the outer transaction commits");
        assert_eq!(probe(db).await, [1, 3, 4]);
        // The inner part succeeds but the outer one fails: nothing is committed.
        let answer: Result<(), DbErr> = db::write(db, async |txn| {
            db::write(txn, async |inner| insert(inner, 5).await).await?;
            Err(refused())
        })
        .await;
        assert!(is_refused(&answer), "{answer:?}");
        assert_eq!(probe(db).await, [1, 3, 4], "the inner part went with the outer one");
    })
    .await;
}

/// Another process writing the same SQLite file (the CLI's `seed-demo` beside a
/// running server) waits for the transaction that read first, instead of
/// making it fail with "database is locked" when it goes on to write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_that_reads_first_is_not_failed_by_another_process() {
    use volant::platform::db::DbSettings;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("shared.db").display());
    let ours = db::connect(&DbSettings::new(url.clone(), 2)).await.expect("connect");
    let theirs = db::connect(&DbSettings::new(url, 2)).await.expect("connect again");
    create_probe(&ours).await;
    let (read, other_writes) = tokio::sync::oneshot::channel::<()>();
    let other = tokio::spawn(async move {
        other_writes.await.expect("our read");
        // The other process's statement, through its own connection (not our queue).
        theirs.execute_unprepared("INSERT INTO write_probe (n) VALUES (2)").await.map(|_| ())
    });
    let answer = db::write(&ours, async |txn| {
        let before = txn
            .query_all_raw(sea_orm::Statement::from_string(txn.get_database_backend(), "SELECT n FROM write_probe"))
            .await?;
        read.send(()).expect("the other process waits");
        // Time for the other process to try its write while ours is open.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        insert(txn, 1).await?;
        Ok::<_, DbErr>(before.len())
    })
    .await;
    assert_eq!(answer.ok(), Some(0), "our transaction commits");
    other.await.expect("join").expect("theirs waits for ours, then commits");
    assert_eq!(probe(&ours).await, [1, 2]);
}

/// `VOLANT_SQLITE_MMAP_MB` reaches every connection of the pool as `PRAGMA mmap_size`.
#[tokio::test]
async fn sqlite_connections_map_the_file_when_asked() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("mmap.db").display());
    let mut settings = db::DbSettings::new(url.clone(), 2);
    settings.sqlite_mmap_bytes = 64 * 1024 * 1024;
    let mapped = db::connect(&settings).await.expect("connect");
    let plain = db::connect(&db::DbSettings::new(url, 2)).await.expect("connect");
    let mmap_size = async |db: &DatabaseConnection| {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "PRAGMA mmap_size"))
            .await
            .expect("pragma")
            .expect("row");
        row.try_get_by_index::<i64>(0).expect("value")
    };
    assert_eq!(mmap_size(&mapped).await, 64 * 1024 * 1024);
    assert_eq!(mmap_size(&plain).await, 0, "off by default");
}

/// The hourly statistics job gives SQLite's planner the statistics it picks
/// indexes from (the pool's connections seldom close, so `optimize` on close
/// alone leaves a growing database without them).
#[tokio::test]
async fn the_hourly_job_keeps_sqlite_statistics() {
    use sea_orm::TransactionTrait;
    use volant::platform::jobs::{self, NewJob};
    let app = TestApp::sqlite().await;
    let stats = async || {
        app.db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'",
            ))
            .await
            .expect("read")
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0)
    };
    app.garage("Statistiques").await;
    let txn = app.db.begin().await.expect("begin");
    jobs::enqueue(&txn, NewJob::new(volant::operations::SQLITE_STATISTICS_JOB, serde_json::json!({})))
        .await
        .expect("enqueue");
    txn.commit().await.expect("commit");
    app.run_jobs().await;
    assert_eq!(stats().await, 1, "ANALYZE ran");
    let analyzed = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'garages'",
        ))
        .await
        .expect("read")
        .and_then(|row| row.try_get_by_index::<i64>(0).ok());
    assert!(analyzed.is_some_and(|n| n > 0), "the garages' indexes have statistics");
}
