//! Documents and photos: uploaded as a browser or a client sends them
//! (multipart), checked by their content, reduced, stored (encrypted for
//! people), served back with ranges, counted against a quota that concurrent
//! uploads cannot pass, kept or removed with what they belong to.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::html;
use crate::fixtures::school::candidate;
use crate::helpers::{TestApp, TestClient, TestResponse};
use volant::identity::roles::Role;

const JPEG: &[u8] = include_bytes!("files/logo.jpg");
const PNG: &[u8] = include_bytes!("files/logo.png");
const BOUNDARY: &str = "volant-documents-boundary";

/// A JPEG carrying a comment and an Exif block that say where it was taken.
fn photo_with_metadata() -> Vec<u8> {
    let mut out = JPEG[..2].to_vec();
    let secret = b"Exif\0\0GPSLatitude 48.8566N secret-position";
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(secret.len() + 2).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(secret);
    let comment = b"taken at secret-position";
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&u16::try_from(comment.len() + 2).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&JPEG[2..]);
    out
}

/// A PDF of about `size` bytes.
pub fn pdf(size: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n1 0 obj << >> endobj\n".to_vec();
    while out.len() + 7 < size {
        out.extend_from_slice(b"% padding line of a test document\n");
    }
    out.extend_from_slice(b"%%EOF\n");
    out
}

fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (file_name, bytes) in files {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub async fn upload(
    client: &TestClient<'_>,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> TestResponse {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(multipart(fields, files)))
        .expect("request");
    client.send(request).await
}

async fn get_with_range(client: &TestClient<'_>, path: &str, range: &str) -> TestResponse {
    let request = Request::get(path).header(header::RANGE, range).body(Body::empty()).expect("request");
    client.send(request).await
}

fn ids(response: &TestResponse) -> Vec<i64> {
    response.json().as_array().expect("a list").iter().map(|d| d["id"].as_i64().expect("id")).collect()
}

async fn a_vehicle(app: &TestApp, plate: &str) -> i64 {
    let garage = app.garage(&format!("Garage {plate}")).await;
    app.vehicle(garage, plate).await
}

backend_tests!(
    photos_and_pdfs_go_up_and_come_back_reduced_without_metadata,
    an_organization_may_keep_its_photos_as_taken,
    files_are_judged_by_their_content_and_refused_clearly,
    concurrent_uploads_cannot_pass_the_quota,
    a_candidates_documents_are_encrypted_at_rest,
    files_are_sealed_again_after_a_key_rotation,
    expiring_documents_are_notified_once_per_date,
    documents_follow_their_owners_permissions_retention_and_deletion,
    the_page_uploads_several_files_as_a_browser_does
);

async fn photos_and_pdfs_go_up_and_come_back_reduced_without_metadata(app: TestApp) {
    let admin = app.as_admin();
    let vehicle = a_vehicle(&app, "DOC-001-AA").await;
    let path = format!("/api/v1/vehicles/{vehicle}/documents");
    let report = pdf(40_000);
    let created = upload(
        &admin,
        &path,
        &[("kind", "inspection_report"), ("expires_on", "2027-03-01")],
        &[("contrôle été.jpg", &photo_with_metadata()), ("pv.pdf", &report)],
    )
    .await;
    created.assert_status(StatusCode::CREATED);
    let docs = created.json();
    assert_eq!(docs.as_array().map(Vec::len), Some(2), "{docs}");
    let (photo, document) = (&docs[0], &docs[1]);
    assert_eq!(photo["title"], "contrôle été.jpg", "the file's name, accents kept");
    assert_eq!(photo["content_type"], "image/jpeg");
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(240), Some(80)));
    assert_eq!(photo["has_thumbnail"], true);
    assert_eq!(photo["expires_on"], "2027-03-01");
    assert_eq!(photo["created_by"], app.admin().await.id, "who added it");
    assert_eq!(document["content_type"], "application/pdf");
    assert_eq!(document["has_thumbnail"], false);
    assert_eq!(ids(&admin.get(&path).await).len(), 2);

    // The photo comes back re-encoded: a JPEG with none of its metadata.
    let photo_id = photo["id"].as_i64().expect("id");
    let original = admin.get(&format!("/api/v1/documents/{photo_id}/file")).await;
    original.assert_status(StatusCode::OK);
    assert!(original.body.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(!original.body.windows(15).any(|w| w == b"secret-position"), "metadata stripped");
    assert_eq!(original.header("content-type"), Some("image/jpeg"));
    assert_eq!(original.header("x-content-type-options"), Some("nosniff"));
    assert!(original.header("content-security-policy").is_some_and(|csp| csp.contains("sandbox")));
    assert!(original.header("content-disposition").is_some_and(|d| d.starts_with("inline;") && d.contains("UTF-8''")));
    let thumbnail = admin.get(&format!("/api/v1/documents/{photo_id}/thumbnail")).await;
    thumbnail.assert_status(StatusCode::OK);
    assert!(thumbnail.body.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_eq!(photo["sha256"].as_str().map(str::len), Some(64));

    // The PDF as sent, downloaded, and in parts.
    let pdf_id = document["id"].as_i64().expect("id");
    let whole = admin.get(&format!("/api/v1/documents/{pdf_id}/file")).await;
    assert_eq!(whole.body, report);
    assert!(whole.header("content-disposition").is_some_and(|d| d.starts_with("attachment;")));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let part = get_with_range(&admin, &format!("/api/v1/documents/{pdf_id}/file"), "bytes=100-199").await;
    part.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, report[100..200]);
    assert_eq!(part.header("content-range"), Some(format!("bytes 100-199/{}", report.len()).as_str()));
    let tail = get_with_range(&admin, &format!("/api/v1/documents/{pdf_id}/file"), "bytes=-6").await;
    assert_eq!(tail.body, b"%%EOF\n");
    let beyond = get_with_range(&admin, &format!("/api/v1/documents/{pdf_id}/file"), "bytes=999999-").await;
    beyond.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
    admin.get(&format!("/api/v1/documents/{pdf_id}/thumbnail")).await.assert_status(StatusCode::NOT_FOUND);

    // Its description changes; the expiring list names it once due.
    let changed = admin
        .patch(&format!("/api/v1/documents/{pdf_id}"), &json!({ "title": "PV CT 2026 🚗", "expires_on": "2026-01-10" }))
        .await;
    changed.assert_status(StatusCode::OK);
    assert_eq!(changed.json()["title"], "PV CT 2026 🚗");
    let expiring = admin.get("/api/v1/documents/expiring").await;
    assert!(ids(&expiring).contains(&pdf_id), "{}", expiring.text());
    assert!(!ids(&expiring).contains(&photo_id), "due in March 2027: not yet");
    let page = admin.get("/documents/expiring").await;
    assert!(page.text().contains("PV CT 2026 🚗") && page.text().contains("DOC-001-AA"), "{}", page.text());
}

async fn an_organization_may_keep_its_photos_as_taken(app: TestApp) {
    let admin = app.as_admin();
    let vehicle = a_vehicle(&app, "DOC-009-AA").await;
    let path = format!("/api/v1/vehicles/{vehicle}/documents");
    // Ticked on the settings page (an unticked box sends nothing, and clears it).
    let fields = [("name", "Garage Preuve"), ("currency", "EUR"), ("locale", "fr"), ("time_zone", "Europe/Paris")];
    let mut ticked = fields.to_vec();
    ticked.push(("keep_photo_metadata", "on"));
    admin.post_form("/admin/organization", &ticked).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/api/v1/organization").await.json()["keep_photo_metadata"], true);
    assert!(
        html(&admin.get("/admin/organization").await)
            .contains("name=\"keep_photo_metadata\" aria-describedby=\"keep_photo_metadata-hint\" checked")
    );

    let photo = photo_with_metadata();
    let created = upload(&admin, &path, &[("kind", "photo")], &[("constat.jpg", &photo)]).await;
    created.assert_status(StatusCode::CREATED);
    let id = created.json()[0]["id"].as_i64().expect("id");
    let original = admin.get(&format!("/api/v1/documents/{id}/file")).await;
    assert_eq!(original.body, photo, "kept byte for byte, its position with it");
    // What is shown is still stripped.
    for variant in ["preview", "thumbnail"] {
        let shown = admin.get(&format!("/api/v1/documents/{id}/{variant}")).await;
        shown.assert_status(StatusCode::OK);
        assert!(shown.body.starts_with(&[0xFF, 0xD8, 0xFF]), "{variant}");
        assert!(!shown.body.windows(15).any(|w| w == b"secret-position"), "{variant} stripped");
    }

    // Unticked: photos added afterwards are stripped again.
    admin.post_form("/admin/organization", &fields).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/api/v1/organization").await.json()["keep_photo_metadata"], false);
    admin.patch("/api/v1/organization", &json!({ "keep_photo_metadata": false })).await.assert_success();
    let created = upload(&admin, &path, &[("kind", "photo")], &[("constat.jpg", &photo)]).await;
    let id = created.json()[0]["id"].as_i64().expect("id");
    let original = admin.get(&format!("/api/v1/documents/{id}/file")).await;
    assert!(!original.body.windows(15).any(|w| w == b"secret-position"), "metadata stripped");
}

async fn files_are_judged_by_their_content_and_refused_clearly(app: TestApp) {
    let admin = app.as_admin();
    let vehicle = a_vehicle(&app, "DOC-002-AA").await;
    let path = format!("/api/v1/vehicles/{vehicle}/documents");
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    let zip = b"PK\x03\x04\x14\0\0\0\x08\0zip bomb".to_vec();
    let mut truncated = JPEG.to_vec();
    truncated.truncate(300);
    for (name, bytes, says) in [
        ("photo.jpg", b"<script>alert(1)</script>".to_vec(), "JPEG, PNG"),
        ("archive.jpg", zip, "JPEG, PNG"),
        ("IMG_0001.HEIC", heic, "HEIC"),
        ("bomb.png", crate::fixtures::bomb_png(60_000, 60_000), "12000"),
        ("cut.jpg", truncated, "illisible"),
        ("cut.pdf", b"%PDF-1.7\n1 0 obj".to_vec(), "illisible"),
    ] {
        let refused = upload(&admin, &path, &[("kind", "photo")], &[(name, &bytes)]).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.error_fields(), ["file"], "{name}");
        assert!(refused.text().contains(says), "{name}: {}", refused.text());
    }
    let wrong_kind = upload(&admin, &path, &[("kind", "identity_document")], &[("a.png", PNG)]).await;
    assert_eq!(wrong_kind.error_fields(), ["kind"], "a vehicle has no identity document");
    let generated = upload(&admin, &path, &[("kind", "signature")], &[("a.png", PNG)]).await;
    assert_eq!(generated.error_fields(), ["kind"], "signatures come from check-ins only");
    let many: Vec<(&str, &[u8])> = (0..21).map(|_| ("a.png", PNG)).collect();
    let too_many = upload(&admin, &path, &[("kind", "photo")], &many).await;
    assert_eq!(too_many.error_fields(), ["file"]);
    assert!(too_many.text().contains("20 fichiers"), "{}", too_many.text());
    let nothing = upload(&admin, &path, &[("kind", "photo")], &[]).await;
    assert_eq!(nothing.error_fields(), ["file"]);
    let bad_date = upload(&admin, &path, &[("kind", "photo"), ("expires_on", "31/12/2026")], &[("a.png", PNG)]).await;
    assert_eq!(bad_date.error_fields(), ["expires_on"]);
    // Nothing refused was kept, nor counted.
    assert!(ids(&admin.get(&path).await).is_empty());
    assert_eq!(volant::documents::service::used_bytes(&app.db, app.org).await.expect("usage"), 0);

    // Beyond the file limit (20 MB here), and beyond the request limit (64 MiB).
    let big = pdf(20_000_100);
    let too_large = upload(&admin, &path, &[("kind", "other")], &[("big.pdf", &big)]).await;
    too_large.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(too_large.text().contains("20 Mo"), "{}", too_large.text());
    let huge = vec![b'a'; 65 * 1024 * 1024];
    upload(&admin, &path, &[("kind", "other")], &[("huge.pdf", &huge)])
        .await
        .assert_status(StatusCode::PAYLOAD_TOO_LARGE);
}

async fn concurrent_uploads_cannot_pass_the_quota(app: TestApp) {
    let app = match app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            TestApp::postgres_with(|c| c.storage_quota_bytes = 500_000).await.expect("postgres")
        }
        _ => TestApp::sqlite_with(|c| c.storage_quota_bytes = 500_000).await,
    };
    let admin = app.as_admin();
    admin.token().await;
    let vehicle = a_vehicle(&app, "DOC-003-AA").await;
    let path = format!("/api/v1/vehicles/{vehicle}/documents");
    let file = pdf(120_000);
    let attempts =
        (0..8).map(|i| {
            let (admin, path, file) = (&admin, &path, &file);
            async move {
                upload(admin, path, &[("kind", "other"), ("title", &format!("doc {i}"))], &[("d.pdf", file)]).await
            }
        });
    let answers = futures_util::future::join_all(attempts).await;
    let kept = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.status != StatusCode::CREATED).collect();
    assert_eq!(kept, 4, "4 × 120 kB fit in 500 kB, not 5");
    for answer in refused {
        answer.problem(StatusCode::CONFLICT, "storage_quota_reached");
    }
    let used = volant::documents::service::used_bytes(&app.db, app.org).await.expect("usage");
    assert_eq!(used, 4 * file.len() as u64);
    // Space comes back when a document goes.
    let first = ids(&admin.get(&path).await)[0];
    admin.delete(&format!("/api/v1/documents/{first}")).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(volant::documents::service::used_bytes(&app.db, app.org).await.expect("usage"), 3 * file.len() as u64);
    upload(&admin, &path, &[("kind", "other")], &[("d.pdf", &file)]).await.assert_status(StatusCode::CREATED);
}

/// Every blob the local store holds, as stored.
fn stored_blobs(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let key = path.strip_prefix(root).map(|p| p.display().to_string()).unwrap_or_default();
                out.push((key, bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(app.files.path(), app.files.path(), &mut out);
    out
}

async fn a_candidates_documents_are_encrypted_at_rest(app: TestApp) {
    let admin = app.as_admin();
    let person = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    let identity = pdf(5_000);
    let created = upload(
        &admin,
        &format!("/api/v1/school/candidates/{person}/documents"),
        &[("kind", "identity_document"), ("title", "Carte d'identité")],
        &[("cni.pdf", &identity), ("photo.png", PNG)],
    )
    .await;
    created.assert_status(StatusCode::CREATED);
    assert!(created.json().as_array().expect("list").iter().all(|d| d["encrypted"] == true));
    let blobs = stored_blobs(&app);
    let ours: Vec<_> = blobs.iter().filter(|(key, _)| key.starts_with("attachments/")).collect();
    assert_eq!(ours.len(), 3, "a PDF, a PNG and its thumbnail: {:?}", blobs.iter().map(|b| &b.0).collect::<Vec<_>>());
    for (key, bytes) in &ours {
        assert!(bytes.starts_with(b"VLTE1"), "{key} is encrypted");
        assert!(!bytes.windows(4).any(|w| w == b"%PDF") && !bytes.windows(4).any(|w| w == b"\x89PNG"), "{key}");
    }
    let id = ids(&created)[0];
    assert_eq!(admin.get(&format!("/api/v1/documents/{id}/file")).await.body, identity, "decrypted when read");
    // The photo's thumbnail, as the candidate's page shows it (session, not token).
    let photo = ids(&created)[1];
    let thumbnail = admin.get(&format!("/documents/{photo}/thumbnail")).await;
    thumbnail.assert_status(StatusCode::OK);
    assert!(thumbnail.body.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG, decrypted");
    // A blob moved under another document's key does not decrypt (500 logged, nothing leaked).
    let other = ids(&created)[1];
    let db = &app.db;
    let row = |id: i64| async move {
        use sea_orm::EntityTrait;
        volant::documents::entity::attachment::Entity::find_by_id(id).one(db).await.expect("row").expect("found")
    };
    let (first, second) = (row(id).await, row(other).await);
    let root = app.files.path();
    std::fs::copy(root.join(&first.storage_key), root.join(&second.storage_key)).expect("swap");
    let swapped = admin.get(&format!("/api/v1/documents/{other}/file")).await;
    assert_eq!(swapped.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!swapped.body.windows(4).any(|w| w == b"%PDF"));
}

async fn expiring_documents_are_notified_once_per_date(app: TestApp) {
    use chrono::Duration;
    let admin = app.as_admin();
    let today = chrono::Utc::now().date_naive();
    let day = |days: i64| (today + Duration::days(days)).to_string();
    let vehicle = a_vehicle(&app, "DOC-011-AA").await;
    let path = format!("/api/v1/vehicles/{vehicle}/documents");
    let soon = upload(
        &admin,
        &path,
        &[("kind", "insurance"), ("title", "Assurance été 🚗"), ("expires_on", &day(10))],
        &[("a.pdf", &pdf(2_000))],
    )
    .await;
    soon.assert_status(StatusCode::CREATED);
    let soon = ids(&soon)[0];
    upload(&admin, &path, &[("kind", "insurance"), ("expires_on", &day(400))], &[("b.pdf", &pdf(2_000))])
        .await
        .assert_status(StatusCode::CREATED);
    let person =
        candidate(&app, json!({ "first_name": "Zoé", "last_name": "Müller" })).await["id"].as_i64().expect("id");
    upload(
        &admin,
        &format!("/api/v1/school/candidates/{person}/documents"),
        &[("kind", "medical_certificate"), ("title", "Certificat médical"), ("expires_on", &day(-1))],
        &[("c.pdf", &pdf(2_000))],
    )
    .await
    .assert_status(StatusCode::CREATED);

    let cipher = &app.state.cipher;
    let run = || volant::documents::service::notify_expiring(&app.db, cipher, chrono::Utc::now());
    // Two instances running the job at once notify each document once.
    let (first, second) = tokio::join!(run(), run());
    assert_eq!(first.expect("run") + second.expect("run"), 2);
    assert_eq!(run().await.expect("run"), 0, "re-runs notify nothing");

    let inbox = admin.get("/api/v1/notifications").await.json();
    let notices: Vec<&Value> =
        inbox.as_array().expect("list").iter().filter(|n| n["event"] == "document_expiring").collect();
    assert_eq!(notices.len(), 1, "{inbox}");
    let notice = notices[0];
    assert!(notice["title"].as_str().is_some_and(|t| t.starts_with("2 document(s) à renouveler")), "{notice}");
    assert_eq!(notice["link"], "/documents/expiring");
    let body = notice["body"].as_str().expect("body");
    assert!(body.contains("\n- Certificat médical (Zoé Müller) : expiré le "), "{body}");
    assert!(body.contains("\n- Assurance été 🚗 (DOC-011-AA · "), "{body}");
    assert!(body.find("Certificat").expect("listed") < body.find("Assurance").expect("listed"), "soonest first");
    let admin_email = app.admin().await.email.clone();
    let mail = crate::helpers::queued_emails(&app, 10).await;
    assert!(mail.iter().any(|m| m.to == admin_email && m.subject.contains("à renouveler")), "{mail:?}");

    // Its date moved: notified again once the new date comes near, not before.
    admin.patch(&format!("/api/v1/documents/{soon}"), &json!({ "expires_on": day(200) })).await.assert_success();
    assert_eq!(run().await.expect("run"), 0);
    admin.patch(&format!("/api/v1/documents/{soon}"), &json!({ "expires_on": day(20) })).await.assert_success();
    assert_eq!(run().await.expect("run"), 1);

    // At 23:30 UTC it is already tomorrow in Paris: a document due on the Paris
    // day's last notice date is notified then, not an hour later.
    let late = today.and_hms_opt(23, 30, 0).expect("time").and_utc();
    let edge = 1 + volant::documents::service::EXPIRY_NOTICE_DAYS;
    upload(&admin, &path, &[("kind", "insurance"), ("expires_on", &day(edge))], &[("d.pdf", &pdf(2_000))])
        .await
        .assert_status(StatusCode::CREATED);
    let at = |now| volant::documents::service::notify_expiring(&app.db, cipher, now);
    assert_eq!(at(today.and_hms_opt(22, 30, 0).expect("time").and_utc()).await.expect("run"), 0, "not yet in Paris");
    assert_eq!(at(late).await.expect("run"), 1);
}

async fn files_are_sealed_again_after_a_key_rotation(app: TestApp) {
    use volant::platform::crypto::FieldCipher;
    let admin = app.as_admin();
    let person = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    let identity = pdf(5_000);
    let path = format!("/api/v1/school/candidates/{person}/documents");
    let created =
        upload(&admin, &path, &[("kind", "identity_document")], &[("cni.pdf", &identity), ("p.png", PNG)]).await;
    created.assert_status(StatusCode::CREATED);
    let vehicle = a_vehicle(&app, "DOC-010-AA").await;
    let plain = upload(
        &admin,
        &format!("/api/v1/vehicles/{vehicle}/documents"),
        &[("kind", "other")],
        &[("pv.pdf", &pdf(3_000))],
    )
    .await;
    plain.assert_status(StatusCode::CREATED);

    // A new key first, the old one kept to read what it sealed (docs/operations.md).
    let old = "test:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let rotated =
        FieldCipher::from_spec(&format!("{},{old}", FieldCipher::generate_spec().expect("key"))).expect("keys");
    let sealed = |app: &TestApp| -> Vec<(String, Vec<u8>)> {
        stored_blobs(app).into_iter().filter(|(_, bytes)| bytes.starts_with(b"VLTE1")).collect()
    };
    let before = sealed(&app);
    assert_eq!(before.len(), 3, "the candidate's PDF, photo and thumbnail; the vehicle's PDF is not encrypted");
    assert!(before.iter().all(|(_, bytes)| rotated.is_stale_bytes(bytes)));
    let files = &app.state.files;
    let changed = volant::documents::service::reencrypt_files(&app.db, files, &rotated).await.expect("re-encrypted");
    assert_eq!(changed, 3);
    for (key, bytes) in sealed(&app) {
        assert!(!rotated.is_stale_bytes(&bytes), "{key} under the new key");
        let opened = rotated.decrypt_bytes(&key, &bytes).expect("opens under its own key");
        let was = before.iter().find(|(k, _)| *k == key).expect("same key");
        assert_eq!(opened, app.state.cipher.decrypt_bytes(&key, &was.1).expect("old"), "{key}: same content");
    }
    let id = ids(&created)[0];
    let row = volant::documents::service::read(
        &app.db,
        volant::documents::service::Storage {
            files,
            cipher: &rotated,
            limits: volant::documents::service::Limits::of(&app.state.config),
        },
        app.org,
        id,
        volant::documents::service::Variant::Original,
    )
    .await
    .expect("read with the new keys");
    assert_eq!(row.bytes, identity);
    // Done once: a second run finds nothing left under the old key.
    assert_eq!(volant::documents::service::reencrypt_files(&app.db, files, &rotated).await.expect("again"), 0);
}

async fn documents_follow_their_owners_permissions_retention_and_deletion(app: TestApp) {
    let admin = app.as_admin();
    let vehicle = a_vehicle(&app, "DOC-004-AA").await;
    let created =
        upload(&admin, &format!("/api/v1/vehicles/{vehicle}/documents"), &[("kind", "photo")], &[("a.png", PNG)]).await;
    let doc = ids(&created)[0];
    let person = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    let file_of_person = upload(
        &admin,
        &format!("/api/v1/school/candidates/{person}/documents"),
        &[("kind", "proof_of_address")],
        &[("facture.pdf", &pdf(3000))],
    )
    .await;
    let person_doc = ids(&file_of_person)[0];

    // Another organization sees none of it.
    let other = app.other_org().await;
    for path in [
        format!("/api/v1/documents/{doc}"),
        format!("/api/v1/documents/{doc}/file"),
        format!("/api/v1/documents/{doc}/thumbnail"),
        format!("/api/v1/vehicles/{vehicle}/documents"),
    ] {
        other.get(&path).await.assert_status(StatusCode::NOT_FOUND);
    }
    other.delete(&format!("/api/v1/documents/{doc}")).await.assert_status(StatusCode::NOT_FOUND);
    upload(&other, &format!("/api/v1/vehicles/{vehicle}/documents"), &[("kind", "photo")], &[("a.png", PNG)])
        .await
        .assert_status(StatusCode::NOT_FOUND);

    // An instructor reads no candidate's identity file; staff read vehicles' documents but delete none.
    let instructor = app.as_role(Role::Instructor).await;
    instructor.get(&format!("/api/v1/documents/{person_doc}/file")).await.assert_status(StatusCode::NOT_FOUND);
    instructor.get(&format!("/api/v1/school/candidates/{person}/documents")).await.assert_status(StatusCode::FORBIDDEN);
    let staff = app.as_role(Role::Staff).await;
    if Role::Staff.allows(volant::identity::roles::Permission::FleetRead) {
        staff.get(&format!("/api/v1/documents/{doc}/file")).await.assert_status(StatusCode::OK);
    }
    if !Role::Staff.allows(volant::identity::roles::Permission::FleetWrite) {
        staff.delete(&format!("/api/v1/documents/{doc}")).await.problem(StatusCode::FORBIDDEN, "forbidden");
    }

    // An issued invoice keeps its supporting documents.
    let seller = json!({
        "name": "Garage du Centre", "address": "3 rue Victor Hugo\n75011 Paris",
        "registration_number": "732 829 320 00074", "vat_number": "FR44732829320"
    });
    admin.patch("/api/v1/organization", &seller).await.assert_success();
    let customer =
        crate::fixtures::workshop::client(&app, json!({ "name": "Client Doc", "email": "doc@exemple.fr" })).await;
    let invoice = admin
        .post(
            "/api/v1/invoices",
            &json!({ "client_id": customer, "lines": [{ "description": "Pièce", "unit_price": "10" }] }),
        )
        .await;
    invoice.assert_status(StatusCode::CREATED);
    let invoice = invoice.json()["id"].as_i64().expect("id");
    let receipt = upload(
        &admin,
        &format!("/api/v1/invoices/{invoice}/documents"),
        &[("kind", "receipt")],
        &[("r.pdf", &pdf(2000))],
    )
    .await;
    let receipt = ids(&receipt)[0];
    admin.post(&format!("/api/v1/invoices/{invoice}/issue"), &json!({})).await.assert_success();
    admin.delete(&format!("/api/v1/documents/{receipt}")).await.problem(StatusCode::CONFLICT, "attachment_kept");

    // Deleting the vehicle deletes its documents; their blobs go a day later.
    let before = stored_blobs(&app).len();
    admin.delete(&format!("/api/v1/vehicles/{vehicle}")).await.assert_status(StatusCode::NO_CONTENT);
    admin.get(&format!("/api/v1/documents/{doc}")).await.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(stored_blobs(&app).len(), before, "kept through the grace period (backups)");
    let files = &app.state.files;
    files.put("attachments/1/abandoned/original", b"an upload that never finished".to_vec()).await.expect("put");
    let now = chrono::Utc::now();
    let soon = volant::documents::service::cleanup(&app.db, files, now).await.expect("cleanup");
    assert_eq!(soon, volant::documents::service::Cleaned::default(), "nothing before the grace");
    let later =
        volant::documents::service::cleanup(&app.db, files, now + chrono::Duration::days(2)).await.expect("cleanup");
    assert_eq!(later.trashed, 2, "the photo and its thumbnail");
    assert_eq!(later.orphans, 1, "the abandoned blob");
    assert_eq!(stored_blobs(&app).len(), before - 2, "the photo and its thumbnail gone");
    // Documents still named are untouched.
    admin.get(&format!("/api/v1/documents/{person_doc}/file")).await.assert_status(StatusCode::OK);
    admin.get(&format!("/api/v1/documents/{receipt}/file")).await.assert_status(StatusCode::OK);
}

async fn the_page_uploads_several_files_as_a_browser_does(app: TestApp) {
    let admin = app.as_admin();
    let vehicle = a_vehicle(&app, "DOC-005-AA").await;
    // Larger than a plain form may be (1 MiB): the upload's own limit applies.
    let large = pdf(1_500_000);
    let token = app.csrf_for(admin.session().await);
    let page = upload(
        &admin,
        &format!("/vehicles/{vehicle}/documents"),
        &[("_csrf", &token), ("kind", "registration_certificate"), ("title", "")],
        &[("carte grise.pdf", &large), ("avant.png", PNG)],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    assert_eq!(page.header("location"), Some(format!("/vehicles/{vehicle}#documents").as_str()));
    let panel = admin.get(&format!("/vehicles/{vehicle}/documents")).await;
    let html = crate::fixtures::html(&panel);
    assert!(html.contains("carte grise.pdf") && html.contains("avant.png"), "{html}");
    assert!(html.contains("capture=\"environment\""), "the phone's camera is offered");
    assert!(html.contains("Carte grise"));
    // Without the CSRF cookie a large form is refused before it is read.
    let cookieless = Request::post("/login")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(multipart(&[("email", "x")], &[("big.pdf", &large)])))
        .expect("request");
    assert_eq!(app.anonymous().send(cookieless).await.status, StatusCode::FORBIDDEN);
    // Without the form token, nothing is kept.
    let forged =
        upload(&admin, &format!("/vehicles/{vehicle}/documents"), &[("kind", "photo")], &[("a.png", PNG)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let listed: Value = admin.get(&format!("/api/v1/vehicles/{vehicle}/documents")).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
}
