//! An organization's own mail server: set on its page or through the API, tried
//! with a test e-mail (a real SMTP server on loopback), used for its deliveries.

use axum::http::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::TestApp;
use crate::servers::SmtpServer;

const FROM: &str = "Garage Dupont <atelier@garage-dupont.fr>";

backend_tests!(
    an_organization_sends_through_its_own_server_once_tested,
    a_server_that_cannot_be_reached_is_said_not_hidden,
    the_password_of_the_server_is_never_shown_again,
);

async fn an_organization_sends_through_its_own_server_once_tested(app: TestApp) {
    let admin = app.as_admin();
    let smtp = SmtpServer::start();
    let page = admin.get("/admin/mail").await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("id=\"current-none\""), "no server anywhere: said");

    let refused = admin
        .post_form("/admin/mail", &[("smtp_url", "ftp://smtp.example.fr"), ("mail_from", "pas une adresse")])
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("id=\"smtp_url-error\"") && refused.text().contains("id=\"mail_from-error\""));

    let saved = admin.post_form("/admin/mail", &[("smtp_url", &smtp.url()), ("mail_from", FROM)]).await;
    saved.assert_status(StatusCode::SEE_OTHER);
    let stored = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT smtp_url FROM mail_settings",
        ))
        .await
        .expect("query")
        .expect("a row");
    let stored: String = stored.try_get("", "smtp_url").expect("column");
    assert!(!stored.contains("127.0.0.1"), "encrypted at rest: {stored}");

    let tested = admin.post_form("/admin/mail/test", &[]).await;
    tested.assert_status(StatusCode::OK);
    let text = tested.text();
    assert!(text.contains("id=\"test-outcome\"") && text.contains("flash-success") && text.contains("250"), "{text}");
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, vec![app.admin().await.email.clone()]);
    assert!(received[0].from.contains("atelier@garage-dupont.fr"), "{}", received[0].from);

    let garages = admin.get("/garages").await.text();
    assert!(garages.contains("id=\"undelivered\"") && garages.contains("Les SMS ne partent pas"), "only SMS left");

    // The instance has no SMTP server: the quote leaves by the organization's.
    let jeanne = client(&app, json!({ "name": "Jeanne", "email": "jeanne@exemple.fr" })).await;
    let body = json!({ "client_id": jeanne, "lines": [{ "kind": "labour", "description": "Vidange", "quantity": 1, "unit_price": "60.00", "vat_rate": 20 }] });
    let quote = admin.post("/api/v1/quotes", &body).await.json()["id"].as_i64().expect("quote");
    admin.post(&format!("/api/v1/quotes/{quote}/email"), &json!({})).await.assert_success();
    app.run_jobs().await;
    let received = smtp.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].to, vec!["jeanne@exemple.fr".to_owned()]);
    assert!(received[1].from.contains("atelier@garage-dupont.fr"));
    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    assert_eq!(deliveries[0]["email"]["status"], "sent", "{deliveries}");

    let stranger = app.other_org().await;
    stranger.get("/api/v1/organization/mail").await.problem(StatusCode::NOT_FOUND, "not_found");
    let staff = app.as_role(Role::Staff).await;
    staff.get("/admin/mail").await.assert_status(StatusCode::FORBIDDEN);

    admin.delete("/api/v1/organization/mail").await.assert_status(StatusCode::NO_CONTENT);
    admin.get("/api/v1/organization/mail").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.post("/api/v1/organization/mail/test", &json!({})).await.problem(StatusCode::CONFLICT, "mail_not_configured");
}

async fn a_server_that_cannot_be_reached_is_said_not_hidden(app: TestApp) {
    let admin = app.as_admin();
    // A port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let body = json!({ "smtp_url": format!("smtp://127.0.0.1:{port}"), "mail_from": FROM });
    admin.put("/api/v1/organization/mail", &body).await.assert_status(StatusCode::OK);
    let outcome = admin.post("/api/v1/organization/mail/test", &json!({})).await;
    outcome.assert_status(StatusCode::OK);
    let outcome = outcome.json();
    assert_eq!(outcome["delivered"], false);
    assert!(outcome["answer"].as_str().is_some_and(|a| !a.is_empty()), "{outcome}");
    let page = admin.post_form("/admin/mail/test", &[]).await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("flash-error") && page.text().contains("test-outcome"));
}

async fn the_password_of_the_server_is_never_shown_again(app: TestApp) {
    let admin = app.as_admin();
    let body = json!({ "smtp_url": "smtps://atelier:s3cret-mot@smtp.example.fr:465", "mail_from": FROM });
    let saved = admin.put("/api/v1/organization/mail", &body).await;
    saved.assert_status(StatusCode::OK);
    assert_eq!(saved.json()["smtp_url"], "smtps://atelier:***@smtp.example.fr:465");
    let kept =
        admin.put("/api/v1/organization/mail", &json!({ "mail_from": "Atelier <contact@garage-dupont.fr>" })).await;
    assert_eq!(kept.json()["smtp_url"], "smtps://atelier:***@smtp.example.fr:465", "an empty URL keeps the saved one");
    let page = admin.get("/admin/mail").await.text();
    assert!(!page.contains("s3cret-mot") && page.contains("atelier:***@smtp.example.fr"), "{page}");
    let trail = admin.get("/api/v1/audit?entity_type=mail_settings").await.text();
    assert!(!trail.contains("s3cret-mot"), "{trail}");
}

/// Without the operator's leave, an organization cannot point its mail at the
/// instance's own network, nor at a port no mail server uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instances_own_network_is_out_of_reach_by_default() {
    let app = TestApp::sqlite_with(|config| config.notify.mail_allow_private_hosts = false).await;
    let admin = app.as_admin();
    for (url, refusal) in [
        ("smtp://127.0.0.1:25", "adresse interne"),
        ("smtp://10.1.2.3:587", "adresse interne"),
        ("smtp://[::1]:25", "adresse interne"),
        ("smtp://localhost:587", "adresse interne"),
        ("smtp://192.0.2.10:6379", "Port refusé"),
    ] {
        let refused = admin.put("/api/v1/organization/mail", &json!({ "smtp_url": url, "mail_from": FROM })).await;
        let body = refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.error_fields(), ["smtp_url"], "{url}: {body}");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(refusal)), "{url}: {body}");
    }
    admin.get("/api/v1/organization/mail").await.problem(StatusCode::NOT_FOUND, "not_found");
}
