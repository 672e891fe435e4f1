//! Vehicle check-in: recorded through the API (multipart, a PNG signature) and
//! through the page (the canvas's data URL), its PDF read back by pdftotext and
//! pdfimages, e-mailed to the customer with the PDF, one per intervention.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::{html, pdf_images, pdf_text};
use crate::helpers::{TestApp, TestClient, TestResponse, queued_emails};

const PNG: &[u8] = include_bytes!("files/logo.png");
const JPEG: &[u8] = include_bytes!("files/logo.jpg");
const BOUNDARY: &str = "volant-checkin-boundary";

enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

async fn post_multipart(client: &TestClient<'_>, path: &str, parts: &[Part<'_>]) -> TestResponse {
    let mut body = Vec::new();
    for part in parts {
        match part {
            Part::Text(name, value) => body.extend(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            ),
            Part::File(name, file, bytes) => {
                body.extend(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend(*bytes);
                body.extend(b"\r\n");
            }
        }
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(body))
        .expect("request");
    client.send(request).await
}

/// A vehicle in the workshop: its owner (with an e-mail address or not) and the work under way.
async fn work_under_way(app: &TestApp, plate: &str, email: Option<&str>) -> i64 {
    let admin = app.as_admin();
    let garage = app.garage(&format!("Atelier {plate}")).await;
    let vehicle = app.vehicle(garage, plate).await;
    let owner = crate::fixtures::workshop::client(app, json!({ "name": "Amélie Poulain", "email": email })).await;
    admin.post(&format!("/api/v1/clients/{owner}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    let work = json!({ "vehicle_id": vehicle, "description": "Freins avant\nDisques et plaquettes", "mileage_km": 84_000, "in_progress": true });
    let created = admin.post("/api/v1/interventions", &work).await;
    created.assert_status(StatusCode::CREATED);
    created.json()["id"].as_i64().expect("id")
}

backend_tests!(a_signed_check_in_is_printed_kept_and_emailed, the_check_in_page_takes_the_canvas_signature);

async fn a_signed_check_in_is_printed_kept_and_emailed(app: TestApp) {
    let admin = app.as_admin();
    let intervention = work_under_way(&app, "CK-001-AA", Some("amelie@exemple.fr")).await;
    let path = format!("/api/v1/interventions/{intervention}/checkin");
    admin.get(&path).await.assert_status(StatusCode::NOT_FOUND);

    // Unsigned, or with a bad zone or fuel level: refused, field by field, nothing kept.
    let refused = post_multipart(
        &admin,
        &path,
        &[Part::Text("signed_by", "Amélie"), Part::Text("damage", "wing"), Part::Text("fuel_eighths", "9")],
    )
    .await;
    refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, ["damage", "fuel_eighths", "signature"]);

    let mut truncated = PNG.to_vec();
    truncated.truncate(60);
    let unreadable = post_multipart(
        &admin,
        &path,
        &[
            Part::Text("signed_by", "Amélie"),
            Part::File("signature", "s.png", &truncated),
            Part::File("photo", "p.jpg", JPEG),
        ],
    )
    .await;
    assert_eq!(unreadable.error_fields(), ["signature"]);
    let kept: Value = admin.get(&format!("/api/v1/interventions/{intervention}/documents")).await.json();
    assert_eq!(kept.as_array().map(Vec::len), Some(0), "no photo kept for a refused check-in");

    let recorded = post_multipart(
        &admin,
        &path,
        &[
            Part::Text("mileage_km", "84 120"),
            Part::Text("fuel_eighths", "3"),
            Part::Text("damage", "windscreen"),
            Part::Text("damage", "left_rear"),
            Part::Text("notes", "Impact au pare-brise\nRayure portière arrière 🚗"),
            Part::Text("signed_by", "Amélie Poulain"),
            Part::Text("email", "true"),
            Part::File("signature", "signature.png", PNG),
            Part::File("photo", "avant.jpg", JPEG),
            Part::File("photo", "arriere.png", PNG),
        ],
    )
    .await;
    recorded.assert_status(StatusCode::CREATED);
    let checkin = recorded.json();
    assert_eq!(checkin["mileage_km"], 84_120);
    assert_eq!(checkin["fuel_eighths"], 3);
    assert_eq!(checkin["damages"], json!(["windscreen", "left_rear"]));
    assert_eq!(checkin["emailed_to"], "amelie@exemple.fr");
    assert_eq!(admin.get(&path).await.json()["id"], checkin["id"]);

    // The intervention keeps the photos, the signature and the PDF; the last two cannot be deleted.
    let documents: Value = admin.get(&format!("/api/v1/interventions/{intervention}/documents")).await.json();
    let kinds: Vec<&str> = documents.as_array().expect("list").iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(kinds, ["checkin_report", "signature", "checkin_photo", "checkin_photo"], "{documents}");
    let report = checkin["report_document_id"].as_i64().expect("report");
    let signature = checkin["signature_document_id"].as_i64().expect("signature");
    admin.delete(&format!("/api/v1/documents/{signature}")).await.problem(StatusCode::CONFLICT, "attachment_kept");
    admin.delete(&format!("/api/v1/documents/{report}")).await.problem(StatusCode::CONFLICT, "attachment_kept");
    let long = "x".repeat(300);
    let renamed = admin.patch(&format!("/api/v1/documents/{signature}"), &json!({ "title": long })).await;
    assert_eq!(renamed.error_fields(), ["title"], "a generated document's title obeys the same limits");

    // The PDF says what was signed, read by an independent reader.
    let pdf = admin.get(&format!("/api/v1/documents/{report}/file")).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    if let Some(text) = pdf_text(&pdf.body) {
        for expected in [
            "ÉTAT DES LIEUX",
            "CK-001-AA",
            "Amélie Poulain",
            "84 120 km",
            "3/8",
            "Pare-brise",
            "Côté gauche arrière",
            "Rayure portière arrière",
            "Signé par Amélie Poulain",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }
    if let Some(images) = pdf_images(&pdf.body) {
        assert!(images.len() >= 3, "two photos and the signature: {images:?}");
    }

    // The customer's e-mail carries the PDF.
    let emails = queued_emails(&app, 5).await;
    assert!(emails.iter().any(|e| e.to == "amelie@exemple.fr" && e.subject.contains("CK-001-AA")), "{emails:?}");
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let sent = volant::notify::outbox::entity::Entity::find()
            .filter(volant::notify::outbox::entity::Column::ToAddress.eq("amelie@exemple.fr"))
            .one(&app.db)
            .await
            .expect("outbox")
            .expect("the e-mail");
        assert_eq!(sent.attachment_type.as_deref(), Some("application/pdf"));
        assert!(sent.attachment.unwrap_or_default().starts_with(b"%PDF"));
    }

    // One check-in per intervention.
    let again =
        post_multipart(&admin, &path, &[Part::Text("signed_by", "X"), Part::File("signature", "s.png", PNG)]).await;
    again.problem(StatusCode::CONFLICT, "checkin_exists");

    // The intervention's page shows it; staff without the permission to record get no form.
    let page = html(&admin.get(&format!("/interventions/{intervention}")).await);
    assert!(
        page.contains("Pare-brise")
            && page.contains("amelie@exemple.fr")
            && page.contains(&format!("/documents/{report}/file")),
        "{page}"
    );
    let other = app.other_org().await;
    other.get(&path).await.assert_status(StatusCode::NOT_FOUND);
    other.get(&format!("/interventions/{intervention}")).await.assert_status(StatusCode::NOT_FOUND);
}

async fn the_check_in_page_takes_the_canvas_signature(app: TestApp) {
    let admin = app.as_admin();
    let intervention = work_under_way(&app, "CK-002-AA", None).await;
    let form = html(&admin.get(&format!("/interventions/{intervention}/checkin")).await);
    assert!(form.contains("capture=\"environment\"") && form.contains("data-signature-pad"), "{form}");
    assert!(form.contains("pas d'adresse e-mail"), "no silent e-mail: {form}");
    assert!(form.contains("value=\"84000\""), "the intervention's mileage offered");
    use base64::Engine;
    let data_url = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(PNG));
    let token = app.csrf_for(admin.session().await);
    let page = format!("/interventions/{intervention}/checkin");
    let missing = post_multipart(
        &admin,
        &page,
        &[Part::Text("_csrf", &token), Part::Text("signed_by", "Amélie"), Part::Text("notes", "Deux\nlignes")],
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let again = html(&missing);
    assert!(again.contains("Le client doit signer") && again.contains("Deux\nlignes"), "{again}");
    let signed = post_multipart(
        &admin,
        &page,
        &[
            Part::Text("_csrf", &token),
            Part::Text("signed_by", "Amélie"),
            Part::Text("damage", "roof"),
            Part::Text("signature", &data_url),
        ],
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text());
    assert_eq!(signed.header("location"), Some(format!("/interventions/{intervention}").as_str()));
    let shown: Value = admin.get(&format!("/api/v1/interventions/{intervention}/checkin")).await.json();
    assert_eq!(shown["damages"], json!(["roof"]));
    assert_eq!(shown["emailed_to"], Value::Null);
    // Done once: the form now leads to the intervention.
    let back = admin.get(&page).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
}
