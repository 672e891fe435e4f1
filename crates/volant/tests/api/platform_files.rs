//! The file store against S3-compatible storage on loopback (moto's server,
//! installed by `.ci/run`; skipped outside CI when absent): files round trip,
//! a large file goes up in parts, a backup is copied off-site with its manifest.

use std::process::{Command, Stdio};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use volant::platform::files::FileStore;

use crate::helpers::TestApp;
use crate::servers::{Process, free_port};

fn moto(port: u16) -> Option<Process> {
    match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Some(Process(child)),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "CI must have moto_server (pip install 'moto[server]')");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_backups_go_to_s3_compatible_storage() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let Some(_server) = moto(port) else { return };
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut created = false;
    for _ in 0..100 {
        if http.put(format!("{endpoint}/volant-test")).send().await.is_ok_and(|r| r.status().is_success()) {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "the bucket exists");
    let builder = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_region("us-east-1");
    let store = FileStore::s3(builder, "s3://volant-test/instance-1").expect("store");

    store.put("reports/1/7", b"n;taux\n1;80".to_vec()).await.expect("put");
    assert_eq!(store.get("reports/1/7").await.expect("get").as_deref(), Some(&b"n;taux\n1;80"[..]));
    assert_eq!(store.get("reports/1/8").await.expect("get"), None);
    store.delete("reports/1/7").await.expect("delete");
    assert_eq!(store.get("reports/1/7").await.expect("get"), None);
    // The prefix keeps instances apart in one bucket.
    let listed =
        http.get(format!("{endpoint}/volant-test?list-type=2")).send().await.expect("list").text().await.expect("text");
    assert!(!listed.contains("<Key>reports/"), "{listed}");

    // A backup (and its manifest) copied off-site; 12 MB of it goes up in parts.
    let app = TestApp::sqlite().await;
    volant::fleet::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("demo");
    let dir = tempfile::tempdir().expect("dir");
    let manifest = volant::platform::backup::backup(&app.db, &app.database_url(), dir.path(), Default::default())
        .await
        .expect("backup");
    volant::platform::backup::copy_offsite(&store, dir.path(), &manifest).await.expect("off-site");
    let copy = store.get(&format!("backups/{}", manifest.file)).await.expect("get").expect("the copy");
    assert_eq!(copy, std::fs::read(dir.path().join(&manifest.file)).expect("local"));
    assert!(store.get(&format!("backups/{}.json", manifest.file)).await.expect("get").is_some());
    let large: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let path = dir.path().join("large.bin");
    std::fs::write(&path, &large).expect("write");
    store.put_file("backups/large.bin", &path).await.expect("multipart");
    assert_eq!(store.get("backups/large.bin").await.expect("get").expect("large"), large);

    // Documents on S3: a candidate's identity document goes up encrypted, comes
    // back whole, and a blob no row names is removed by the cleanup.
    use volant::documents::model::{Owner, OwnerKind};
    use volant::documents::service::{self as documents, Incoming, Limits, Storage, UploadInput, Variant};
    let storage = Storage {
        files: &store,
        cipher: &app.state.cipher,
        limits: Limits { max_file_bytes: 20_000_000, quota_bytes: 1_000_000_000 },
    };
    let person = crate::fixtures::school::candidate(&app, serde_json::json!({})).await["id"].as_i64().expect("id");
    let actor = volant::identity::audit::Actor::system(app.org);
    let identity = b"%PDF-1.7\nidentity card\n%%EOF\n".to_vec();
    let input = UploadInput { kind: "identity_document".to_owned(), ..Default::default() };
    let files = vec![Incoming { name: Some("cni.pdf".to_owned()), bytes: identity.clone() }];
    let saved =
        documents::upload(&app.db, storage, &actor, Owner { kind: OwnerKind::Candidate, id: person }, &input, files)
            .await
            .expect("upload to S3");
    let row = {
        use sea_orm::EntityTrait;
        volant::documents::entity::attachment::Entity::find_by_id(saved[0].id)
            .one(&app.db)
            .await
            .expect("row")
            .expect("found")
    };
    let stored = store.get(&row.storage_key).await.expect("get").expect("in the bucket");
    assert!(stored.starts_with(b"VLTE1") && !stored.windows(8).any(|w| w == b"identity"), "encrypted in the bucket");
    let read = documents::read(&app.db, storage, app.org, saved[0].id, Variant::Original).await.expect("read");
    assert_eq!(read.bytes, identity);
    store.put("attachments/1/abandoned/original", b"never finished".to_vec()).await.expect("put");
    let cleaned =
        documents::cleanup(&app.db, &store, chrono::Utc::now() + chrono::Duration::days(2)).await.expect("cleanup");
    assert_eq!(cleaned.orphans, 1);
    assert!(store.get(&row.storage_key).await.expect("get").is_some(), "a named blob stays");
}
