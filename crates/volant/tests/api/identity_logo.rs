//! The organization's logo: set through the API or the settings page (a real
//! multipart upload), refused when it is not a printable PNG or JPEG, and shown
//! where customers see the business: the quote PDF (read back by poppler's
//! `pdfimages`), the approval page and the e-mails (an inline part).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mail_parser::MimeHeaders;
use serde_json::json;

use crate::backend_tests;
use crate::fixtures::{follow, html, pdf_images};
use crate::helpers::{TestApp, TestClient, TestResponse};

const PNG: &[u8] = include_bytes!("files/logo.png");
const JPEG: &[u8] = include_bytes!("files/logo.jpg");
/// 5000 × 1000 pixels of white in a few kilobytes: more than a document prints.
const HUGE: &[u8] = include_bytes!("files/huge.png");

async fn put_logo(client: &TestClient<'_>, content_type: &str, bytes: &[u8]) -> TestResponse {
    let request = Request::put("/api/v1/organization/logo")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes.to_vec()))
        .expect("request");
    client.send(request).await
}

/// The settings page's upload as a browser sends it (multipart, `_csrf` first).
async fn upload(client: &TestClient<'_>, csrf: &str, file_name: &str, bytes: &[u8]) -> TestResponse {
    const BOUNDARY: &str = "volant-test-boundary";
    let mut body = Vec::new();
    body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n").as_bytes());
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let request = Request::post("/admin/organization/logo")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(body))
        .expect("request");
    client.send(request).await
}

backend_tests!(
    a_logo_is_checked_kept_and_removed_through_the_api,
    the_logo_is_printed_on_quotes_their_approval_page_and_emails,
    the_settings_page_uploads_the_logo_as_a_browser_does
);

async fn a_logo_is_checked_kept_and_removed_through_the_api(app: TestApp) {
    let admin = app.as_admin();
    assert_eq!(admin.get("/api/v1/organization/logo").await.status, StatusCode::NOT_FOUND);
    // What is not a printable PNG or JPEG is refused, saying why.
    assert_eq!(put_logo(&admin, "text/plain", PNG).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for bad in [&b"GIF89a\x01\x00\x01\x00"[..], &PNG[..120], &[], HUGE] {
        let refused = put_logo(&admin, "image/png", bad).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.error_fields(), ["logo"]);
    }
    let mut huge = PNG.to_vec();
    huge.resize(600 * 1024, 0);
    let too_large = put_logo(&admin, "image/png", &huge).await;
    too_large.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(too_large.text().contains("512"), "{}", too_large.text());
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    assert_eq!(put_logo(&staff, "image/png", PNG).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/api/v1/organization").await.json()["has_logo"], false);

    assert_eq!(put_logo(&admin, "image/png", PNG).await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get("/api/v1/organization").await.json()["has_logo"], true);
    let stored = staff.get("/api/v1/organization/logo").await;
    assert_eq!((stored.header("content-type"), stored.body.as_slice()), (Some("image/png"), PNG));
    // A JPEG replaces it.
    assert_eq!(put_logo(&admin, "image/jpeg", JPEG).await.status, StatusCode::NO_CONTENT);
    let stored = admin.get("/api/v1/organization/logo").await;
    assert_eq!((stored.header("content-type"), stored.body.as_slice()), (Some("image/jpeg"), JPEG));
    // Another organization has none of it.
    assert_eq!(app.other_org().await.get("/api/v1/organization/logo").await.status, StatusCode::NOT_FOUND);

    assert_eq!(admin.delete("/api/v1/organization/logo").await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get("/api/v1/organization/logo").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.delete("/api/v1/organization/logo").await.status, StatusCode::NO_CONTENT, "idempotent");
    let trail = admin.get("/api/v1/audit?entity_type=organization").await.json();
    let logo_changes = trail.as_array().into_iter().flatten().filter(|e| !e["changes"]["logo"].is_null()).count();
    assert_eq!(logo_changes, 3, "set, replaced, removed: {trail}");
}

async fn the_logo_is_printed_on_quotes_their_approval_page_and_emails(app: TestApp) {
    let admin = app.as_admin();
    let client =
        crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin", "email": "jeanne@exemple.fr" })).await;
    let line = json!([{ "description": "Vidange", "unit_price": "60" }]);
    let quote = admin.post("/api/v1/quotes", &json!({ "client_id": client, "lines": line })).await.json();
    let id = quote["id"].as_i64().expect("quote");
    // Without a logo the PDF holds no image.
    let plain = admin.get(&format!("/api/v1/quotes/{id}/pdf")).await;
    if let Some(images) = pdf_images(&plain.body) {
        assert!(images.is_empty(), "{images:?}");
    }
    assert_eq!(put_logo(&admin, "image/png", PNG).await.status, StatusCode::NO_CONTENT);
    let printed = admin.get(&format!("/api/v1/quotes/{id}/pdf")).await;
    if let Some(images) = pdf_images(&printed.body) {
        assert_eq!(images, [(240, 80)], "the logo, whole");
    }
    // The approval page shows it, through the link's own address.
    let sent = admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.json();
    let path = sent["share_link"]["path"].as_str().map(str::to_owned);
    let path = path.unwrap_or_else(|| panic!("share path in {sent}"));
    let page = html(&app.anonymous().get(&path).await);
    assert!(page.contains(&format!("<img class=\"org-logo\" src=\"{path}/logo\"")), "{page}");
    let image = app.anonymous().get(&format!("{path}/logo")).await;
    assert_eq!(image.body, PNG);
    assert_eq!(app.anonymous().get("/q/0000/logo").await.status, StatusCode::NOT_FOUND);
    // The e-mail carries it inline, where its HTML points.
    admin.post(&format!("/api/v1/quotes/{id}/email"), &json!({})).await.assert_success();
    let received = crate::fixtures::accounts::deliver(&app).await;
    let message = received.iter().find(|m| m.to.iter().any(|t| t.contains("jeanne@exemple.fr"))).expect("the e-mail");
    let parsed = message.parsed();
    let html_body = parsed.body_html(0).expect("html").into_owned();
    assert!(html_body.contains("src=\"cid:logo@volant\""), "{html_body}");
    let inline =
        parsed.attachments().find(|part| part.content_id() == Some("logo@volant")).expect("the logo as an inline part");
    assert_eq!(inline.contents(), PNG);
    assert!(
        parsed.attachments().any(|part| part.attachment_name().is_some_and(|n| n.ends_with(".pdf"))),
        "the PDF too"
    );
}

async fn the_settings_page_uploads_the_logo_as_a_browser_does(app: TestApp) {
    let admin = app.as_admin();
    let csrf = app.csrf_for(admin.session().await);
    let page = html(&admin.get("/admin/organization").await);
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("Aucun logo"), "{page}");
    // Without the form's token, nothing changes.
    assert_eq!(upload(&admin, "wrong", "logo.png", PNG).await.status, StatusCode::FORBIDDEN);
    let refused = upload(&admin, &csrf, "notes.txt", b"Ceci n'est pas une image").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("Le logo doit être une image PNG ou JPEG."), "{}", refused.text());
    let saved = upload(&admin, &csrf, "logo.png", PNG).await;
    let page = html(&follow(&app, &saved).await);
    assert!(page.contains("Logo enregistré") && page.contains("src=\"/admin/organization/logo?v="), "{page}");
    assert_eq!(admin.get("/admin/organization/logo").await.body, PNG);
    let removed = admin.post_form("/admin/organization/logo/delete", &[]).await;
    assert!(html(&follow(&app, &removed).await).contains("Logo retiré."));
    assert_eq!(admin.get("/api/v1/organization/logo").await.status, StatusCode::NOT_FOUND);
}

/// The setup form as a browser sends it once a file field is in it: multipart,
/// each text field a part, the logo a file part (empty when none is chosen).
fn setup_with_logo(app: &TestApp, email: &str, file_name: &str, logo: &[u8]) -> Request<Body> {
    const BOUNDARY: &str = "volant-setup-boundary";
    let cookies = format!("volant_csrf={}", crate::helpers::TEST_CSRF);
    let csrf = app.csrf_for("");
    let fields = [
        ("_csrf", csrf.as_str()),
        ("name", "Garage des Calanques"),
        ("kind", "garage"),
        ("address", "3 quai du Port\r\n13002 Marseille"),
        ("currency", "EUR"),
        ("time_zone", "Europe/Paris"),
        ("admin_name", "Chef d'atelier"),
        ("admin_email", email),
        ("password", crate::helpers::TEST_PASSWORD),
    ];
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n")
            .as_bytes(),
    );
    body.extend(logo);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post("/setup")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .expect("request")
}

backend_tests!(the_setup_page_takes_the_logo_with_the_business);

async fn the_setup_page_takes_the_logo_with_the_business(app: TestApp) {
    let form = html(&app.anonymous().get("/setup").await);
    assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("name=\"logo\""), "{form}");
    assert!(form.contains("data-max-bytes=\"524288\"") && form.contains("Le logo dépasse 512 Ko"), "{form}");
    // A logo that is not an image refuses the whole setup, saying so beside the field.
    let refused = app.anonymous().send(setup_with_logo(&app, "chef@calanques.fr", "logo.png", b"not an image")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&refused);
    assert!(page.contains("id=\"logo-error\" role=\"alert\">") && page.contains("Garage des Calanques"), "{page}");
    // No file chosen: the setup goes on without a logo (the browser sends an empty part).
    let plain = TestApp::sqlite().await;
    let created = plain.anonymous().send(setup_with_logo(&plain, "chef@calanques.fr", "", b"")).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    assert_eq!(plain.as_admin().get("/api/v1/organization/logo").await.status, StatusCode::NOT_FOUND);
    // With one: the business's documents carry it from the first quote.
    let created = app.anonymous().send(setup_with_logo(&app, "chef@calanques.fr", "logo.png", PNG)).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let session = created
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("volant_session="))
        .and_then(|c| c.split(';').next())
        .expect("signed in")
        .to_owned();
    let logo = app
        .anonymous()
        .send(
            Request::get("/admin/organization/logo")
                .header(header::COOKIE, format!("volant_session={session}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(logo.status, StatusCode::OK);
    assert_eq!(logo.header("content-type"), Some("image/png"));
}
