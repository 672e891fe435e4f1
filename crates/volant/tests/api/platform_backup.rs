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
    let options = backup::Options { blobs: Some(blobs), recipients: &[] };
    let manifest = backup::backup(&app.db, &app.database_url(), dir.path(), options).await.expect("backup");
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
    let refused = backup::restore(&file, &target, None, &[]).await.expect_err("a damaged file");
    assert!(refused.contains("damaged"), "{refused}");
    drop_database(&app, database).await;
    std::fs::write(&kept, &original).expect("mend");

    // Restored with its files into an empty store: the photo reads as it did.
    let (target, database) = empty_target(&app, dir.path(), "good").await;
    let store_dir = tempfile::tempdir().expect("store");
    let store = volant::platform::files::FileStore::local(store_dir.path()).expect("store");
    let restored = backup::restore(&file, &target, Some(&store), &[]).await.expect("restore");
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
    let again = backup::restore(&file, &target, None, &[]).await.expect_err("not into a database with data");
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
    let refused = backup::restore(&damaged, &target, None, &[]).await.expect_err("damaged");
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

/// An age identity for the tests, and its public key.
fn backup_key() -> (age::x25519::Identity, age::x25519::Recipient) {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    (identity, recipient)
}

backend_tests!(an_encrypted_backup_is_unreadable_in_storage_and_restores_only_with_its_key);

async fn an_encrypted_backup_is_unreadable_in_storage_and_restores_only_with_its_key(app: TestApp) {
    volant::fleet::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("fleet");
    let garage = app.garage("Garage Chiffré des Éoliennes").await;
    let vehicle = app.vehicle(garage, "CH-042-FF").await;
    let png = include_bytes!("files/logo.png");
    let photo = crate::documents::upload(
        &app.as_admin(),
        &format!("/api/v1/vehicles/{vehicle}/documents"),
        &[("kind", "photo")],
        &[("photo.png", png)],
    )
    .await;
    photo.assert_success();
    let (current, current_key) = backup_key();
    let (next, next_key) = backup_key();
    let (stranger, _) = backup_key();
    let dir = tempfile::tempdir().expect("dir");
    let source = backup::summarize(&app.db).await.expect("summary");
    let blobs = backup::Blobs { store: &app.state.files, named_in: &[volant::documents::service::BLOBS] };
    // Two recipients: the key in use and the one rotated in.
    let recipients = [current_key, next_key];
    let options = backup::Options { blobs: Some(blobs), recipients: &recipients };
    let manifest = backup::backup(&app.db, &app.database_url(), dir.path(), options).await.expect("backup");
    assert!(manifest.encrypted && manifest.file.ends_with(".age"), "{}", manifest.file);
    // The manifest names the keys: which backups still need an old one.
    assert_eq!(manifest.recipients, recipients.iter().map(ToString::to_string).collect::<Vec<_>>());
    assert_eq!(manifest.tables, source);

    // What the storage holds: age files, and no clear copy beside them.
    let mut stored: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        vec![manifest.file.clone(), format!("{}.files", manifest.file), format!("{}.json", manifest.file)]
    );
    let file = dir.path().join(&manifest.file);
    let bytes = std::fs::read(&file).expect("read");
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"), "the age format");
    let contains = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    for clear in [&b"SQLite format 3"[..], b"PGDMP", "Garage Chiffré des Éoliennes".as_bytes(), b"CH-042-FF"] {
        assert!(!contains(&bytes, clear), "{} readable in the backup", String::from_utf8_lossy(clear));
    }
    assert_eq!(manifest.files.len(), 2, "the photo and its thumbnail");
    for key in manifest.files.keys() {
        let sealed = std::fs::read(dir.path().join(format!("{}.files", manifest.file)).join(key)).expect("blob");
        assert!(sealed.starts_with(b"age-encryption.org/v1\n") && !contains(&sealed, b"\x89PNG"), "{key} is sealed");
    }

    // Without a key, or with another one: refused, nothing written.
    let (target, database) = empty_target(&app, dir.path(), "nokey").await;
    let refused = backup::restore(&file, &target, None, &[]).await.expect_err("no key");
    assert!(refused.contains("encrypted") && refused.contains("identity"), "{refused}");
    let refused = backup::restore(&file, &target, None, std::slice::from_ref(&stranger)).await.expect_err("wrong key");
    assert!(refused.contains("none of the identities"), "{refused}");
    let empty =
        volant::platform::db::connect(&volant::platform::db::DbSettings::new(target.clone(), 1)).await.expect("target");
    assert!(backup::summarize(&empty).await.expect("summary").is_empty(), "nothing restored without the key");
    let _ = empty.close().await;

    // With the key: every table, and the documents back in a store, in clear.
    let store_dir = tempfile::tempdir().expect("store");
    let store = volant::platform::files::FileStore::local(store_dir.path()).expect("store");
    let restored =
        backup::restore(&file, &target, Some(&store), std::slice::from_ref(&current)).await.expect("restore");
    assert_eq!((restored.tables, restored.files), (manifest.tables.len(), 2));
    let copy =
        volant::platform::db::connect(&volant::platform::db::DbSettings::new(target.clone(), 1)).await.expect("copy");
    assert_eq!(backup::summarize(&copy).await.expect("summary"), source);
    let _ = copy.close().await;
    let mut clear_files = 0;
    for key in manifest.files.keys() {
        let bytes = store.get(key).await.expect("get").expect("restored file");
        clear_files += usize::from(bytes.starts_with(b"\x89PNG"));
    }
    assert!(clear_files >= 1, "the photo is a PNG again");
    drop_database(&app, database).await;

    // The rotated-in key opens it alone (old backups stay readable while both are kept).
    let (target, database) = empty_target(&app, dir.path(), "nextkey").await;
    backup::restore(&file, &target, None, std::slice::from_ref(&next)).await.expect("the next key opens it");
    drop_database(&app, database).await;
}

backend_tests!(a_restore_drill_restores_the_newest_backup_records_it_and_tells_operators_of_a_failure);

async fn a_restore_drill_restores_the_newest_backup_records_it_and_tells_operators_of_a_failure(app: TestApp) {
    use volant::operations::drills;
    volant::fleet::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("fleet");
    let admin = app.as_admin();
    let before = admin.get("/api/v1/admin/status").await.json();
    assert_eq!(before["restore_drill"], serde_json::Value::Null);
    assert!(drills::due(&app.db, 30).await.expect("due"), "never drilled: due");

    let dir = tempfile::tempdir().expect("dir");
    let (identity, recipient) = backup_key();
    let identity_file = dir.path().join("backup.key");
    std::fs::write(
        &identity_file,
        format!("# test key\n{}\n", {
            use age::secrecy::ExposeSecret;
            identity.to_string().expose_secret().to_owned()
        }),
    )
    .expect("identity file");
    let backups = dir.path().join("backups");
    let mut config = app.state.config.as_ref().clone();
    config.database_url = app.database_url();
    config.backup_dir = Some(backups.clone());
    config.backup_recipients = vec![recipient];
    config.backup_identity_file = Some(identity_file);

    // No backup yet: a failed drill, said.
    let none = drills::run(&app.db, &config).await.expect("drill");
    assert!(!none.succeeded && none.detail.contains("no backup"), "{none:?}");
    assert!(drills::due(&app.db, 30).await.expect("due"), "a failed drill is tried again the next day");

    let options = backup::Options { blobs: None, recipients: &config.backup_recipients };
    let manifest = backup::backup(&app.db, &config.database_url, &backups, options).await.expect("backup");
    // A backup that failed before its manifest is neither drilled nor counted as the newest.
    std::fs::write(backups.join("volant-29991231T000000.000Z.db.age.partial"), b"half").expect("partial");
    std::fs::write(backups.join("volant-29991231T000000.000Z.db.age"), b"no manifest").expect("orphan");
    assert_eq!(backup::newest(&backups), Some(backups.join(&manifest.file)));
    let good = drills::run(&app.db, &config).await.expect("drill");
    assert!(good.succeeded, "{good:?}");
    assert_eq!(good.backup_file.as_deref(), Some(manifest.file.as_str()));
    assert_eq!(good.tables_checked as usize, manifest.tables.len());
    assert_eq!(good.rows_checked, manifest.tables.values().map(|t| t.rows).sum::<i64>());
    assert!(!drills::due(&app.db, 30).await.expect("due"), "drilled today: not due for 30 days");

    // Backups written in clear while they should be encrypted: the drill tells.
    let clear =
        backup::backup(&app.db, &config.database_url, &backups, backup::Options::default()).await.expect("clear");
    let unsealed = drills::run(&app.db, &config).await.expect("drill");
    assert!(!unsealed.succeeded && unsealed.detail.contains("not encrypted"), "{unsealed:?}");
    for leftover in [clear.file.clone(), format!("{}.json", clear.file)] {
        std::fs::remove_file(backups.join(leftover)).expect("remove the clear backup");
    }
    if app.database_url().starts_with("postgres") {
        // A scratch database an interrupted drill left long ago goes at the next drill.
        app.db.execute_unprepared("CREATE DATABASE volant_drill_20000101000000000").await.expect("stale");
        assert!(drills::run(&app.db, &config).await.expect("drill").succeeded);
        // The scratch database is gone.
        let left = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'volant_drill_%'".to_owned(),
            ))
            .await
            .expect("count")
            .and_then(|r| r.try_get_by_index::<i64>(0).ok());
        assert_eq!(left, Some(0));
    }

    // A damaged backup: the drill fails, is recorded, and the operators hear of it.
    let file = backups.join(&manifest.file);
    let mut bytes = std::fs::read(&file).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&file, bytes).expect("damage");
    let bad = drills::run(&app.db, &config).await.expect("drill");
    assert!(!bad.succeeded && bad.detail.contains("damaged"), "{bad:?}");
    let status = admin.get("/api/v1/admin/status").await.json();
    assert_eq!(status["restore_drill"]["succeeded"], false, "{status}");
    assert_eq!(status["restore_drill"]["backup_file"], manifest.file.as_str());
    assert!(status["restore_drill_last_success"].is_string(), "the last good drill is still told: {status}");
    let emails = crate::helpers::queued_emails(&app, 5).await;
    let operator = app.admin().await.email.clone();
    assert!(
        emails.iter().any(|e| e.to == operator && e.subject.contains("restauration")),
        "the operator is told: {emails:?}"
    );
    let inbox = admin.get("/api/v1/notifications").await.json();
    assert!(inbox.to_string().contains("Échec de l'exercice de restauration"), "{inbox}");
    let page = admin.get("/admin/status").await.text();
    assert!(page.contains("Exercice de restauration") && page.contains("échoué") && page.contains("damaged"), "{page}");
    assert_eq!(status["restore_drill_overdue"], false, "the last good drill is recent");

    // With drills on and the last good one 40 days old, the status page says it is late.
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        use volant::operations::drills::drill;
        drill::Entity::update_many()
            .col_expr(
                drill::Column::FinishedAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::days(40)),
            )
            .filter(drill::Column::Succeeded.eq(true))
            .exec(&app.db)
            .await
            .expect("age the good drills");
    }
    let mut state = app.state.clone();
    state.config = std::sync::Arc::new(config.clone());
    let router = volant::App::over(state).expect("app").router;
    let status = crate::helpers::send(
        router,
        admin
            .authorize(crate::helpers::json_request(
                axum::http::Method::GET,
                "/api/v1/admin/status",
                &serde_json::json!(null),
            ))
            .await,
    )
    .await
    .json();
    assert_eq!(
        (status["restore_drill_days"].as_u64(), status["restore_drill_overdue"].as_bool()),
        (Some(30), Some(true)),
        "{status}"
    );
}
