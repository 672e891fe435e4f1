//! Backup → restore → every table's rows and content checksum, on both
//! backends (the seeds' monthly restore test, made automatic); a damaged file,
//! a database that is not empty, retention, and the commands themselves.

use std::time::{Duration, SystemTime};

use sea_orm::ConnectionTrait;
use volant::platform::backup;

use crate::backend_tests;
use crate::helpers::TestApp;

/// A new empty database for the restore, and how to drop it.
async fn empty_target(app: &TestApp, dir: &std::path::Path, name: &str) -> (String, Option<String>) {
    let source = app.database_url();
    if !source.starts_with("postgres") {
        return (format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display()), None);
    }
    let database = format!("vt_restore_{}_{}", name, fastrand::u32(..));
    app.db.execute_unprepared(&format!("CREATE DATABASE \"{database}\"")).await.expect("create database");
    let mut url = url::Url::parse(&source).expect("url");
    url.set_path(&format!("/{database}"));
    (url.to_string(), Some(database))
}

async fn drop_database(app: &TestApp, database: Option<String>) {
    if let Some(database) = database {
        let _ = app.db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).await;
    }
}

backend_tests!(a_backup_restores_into_an_empty_database_with_every_row_and_checksum);

async fn a_backup_restores_into_an_empty_database_with_every_row_and_checksum(app: TestApp) {
    volant::fleet::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("fleet");
    volant::workshop::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("workshop");
    // A vehicle's photo and a candidate's identity document (encrypted): the backup holds their files.
    let garage = app.garage("Garage sauvegardé").await;
    let vehicle = app.vehicle(garage, "BK-001-AA").await;
    let photo = crate::documents::upload(
        &app.as_admin(),
        &format!("/api/v1/vehicles/{vehicle}/documents"),
        &[("kind", "photo")],
        &[("photo.png", include_bytes!("files/logo.png"))],
    )
    .await;
    let photo = photo.assert_success().json()[0]["id"].as_i64().expect("id");
    let dir = tempfile::tempdir().expect("dir");
    let source = backup::summarize(&app.db).await.expect("summary");
    let blobs = backup::Blobs { store: &app.state.files, named_in: &[volant::documents::service::BLOBS] };
    let manifest = backup::backup(&app.db, &app.database_url(), dir.path(), Some(blobs)).await.expect("backup");
    assert_eq!(manifest.tables, source, "the manifest describes the database as it was");
    assert_eq!(manifest.files.len(), 2, "the photo and its thumbnail: {:?}", manifest.files);
    assert!(manifest.tables["vehicles"].rows > 0 && manifest.tables["quotes"].rows > 0);
    assert!(!manifest.migration.is_empty());
    let file = dir.path().join(&manifest.file);

    // A damaged copy of a file is refused before anything is restored.
    let (key, _) = manifest.files.iter().next().expect("a file");
    let kept = dir.path().join(format!("{}.files", manifest.file)).join(key);
    let original = std::fs::read(&kept).expect("copied");
    std::fs::write(&kept, b"altered").expect("alter");
    let (target, database) = empty_target(&app, dir.path(), "alteredfile").await;
    let refused = backup::restore(&file, &target, None).await.expect_err("a damaged file");
    assert!(refused.contains("damaged"), "{refused}");
    drop_database(&app, database).await;
    std::fs::write(&kept, &original).expect("mend");

    // Restored with its files into an empty store: the photo reads as it did.
    let (target, database) = empty_target(&app, dir.path(), "good").await;
    let store_dir = tempfile::tempdir().expect("store");
    let store = volant::platform::files::FileStore::local(store_dir.path()).expect("store");
    let restored = backup::restore(&file, &target, Some(&store)).await.expect("restore");
    assert_eq!(restored.tables, manifest.tables.len());
    assert_eq!(restored.files, 2);
    let served = app.as_admin().get(&format!("/api/v1/documents/{photo}/file")).await.body;
    let row = {
        use sea_orm::EntityTrait;
        volant::documents::entity::attachment::Entity::find_by_id(photo)
            .one(&app.db)
            .await
            .expect("row")
            .expect("found")
    };
    assert_eq!(store.get(&row.storage_key).await.expect("get"), Some(served), "the same bytes, back in the store");
    // Read back independently: every table, rows and content.
    let copy = volant::platform::db::connect(&volant::platform::db::DbSettings::new(target.clone(), 1))
        .await
        .expect("restored");
    assert_eq!(backup::summarize(&copy).await.expect("summary"), source);
    let _ = copy.close().await;
    let again = backup::restore(&file, &target, None).await.expect_err("not into a database with data");
    assert!(again.contains("not empty"), "{again}");
    drop_database(&app, database).await;

    // A damaged file is refused before anything is written.
    let damaged = dir.path().join(manifest.file.replace("volant-", "volant-damaged-"));
    let mut bytes = std::fs::read(&file).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&damaged, bytes).expect("write");
    std::fs::copy(format!("{}.json", file.display()), format!("{}.json", damaged.display())).expect("manifest");
    let (target, database) = empty_target(&app, dir.path(), "damaged").await;
    let refused = backup::restore(&damaged, &target, None).await.expect_err("damaged");
    assert!(refused.contains("damaged"), "{refused}");
    drop_database(&app, database).await;

    // Retention: a backup older than the window goes, with its manifest.
    let old = std::fs::File::options().write(true).open(&damaged).expect("open");
    old.set_modified(SystemTime::now() - Duration::from_secs(40 * 86_400)).expect("age it");
    let removed = backup::prune(dir.path(), Duration::from_secs(30 * 86_400)).expect("prune");
    assert_eq!(removed, vec![damaged.clone()]);
    assert!(file.exists(), "a recent backup stays");
    // An old backup's files go with it.
    let files_of_old = dir.path().join(format!("{}.files", manifest.file));
    for aged in [&file, &files_of_old] {
        std::fs::File::open(aged)
            .expect("open")
            .set_modified(SystemTime::now() - Duration::from_secs(40 * 86_400))
            .expect("age");
    }
    backup::prune(dir.path(), Duration::from_secs(30 * 86_400)).expect("prune");
    assert!(!files_of_old.exists() && !file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_and_restore_commands_round_trip() {
    let app = TestApp::sqlite().await;
    volant::fleet::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("fleet");
    let dir = tempfile::tempdir().expect("dir");
    let volant = |args: &[&str], database: &str| {
        // The command's answer is on standard output.
        crate::servers::volant(database, dir.path(), args)
            .stdout(std::process::Stdio::piped())
            .output()
            .expect("run volant")
    };
    let made = volant(&["backup", "--dir", "saved"], &app.database_url());
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let file = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    assert!(file.starts_with("saved/volant-") && file.ends_with(".db"), "{file}");
    let target = format!("sqlite://{}?mode=rwc", dir.path().join("restored.db").display());
    let restored = volant(&["restore", "--file", &file], &target);
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    let again = volant(&["restore", "--file", &file], &target);
    assert!(!again.status.success(), "refuses a database with data");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
