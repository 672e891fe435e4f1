//! Notifications delivered for real: e-mail to an SMTP server on loopback,
//! SMS to an HTTP provider on loopback, `.eml` files by default; preferences,
//! consents, the inbox and its live stream.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use mail_parser::MimeHeaders;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};
use tower::ServiceExt;
use volant::identity::roles::Role;
use volant::notify::{self, Event, Notice};

use crate::backend_tests;
use crate::fixtures::school::{at, candidate, instructor, training_car};
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, TestResponse, json_request};
use crate::servers::{SmsProvider, SmtpServer};

async fn as_user(app: &TestApp, token: &str, method: Method, uri: &str, body: Option<&Value>) -> TestResponse {
    let mut request = match body {
        Some(body) => json_request(method, uri, body),
        None => Request::builder().method(method).uri(uri).body(Body::empty()).expect("request"),
    };
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    app.anonymous().send(request).await
}

async fn book(app: &TestApp, candidate: i64, day: i64) -> TestResponse {
    let teacher = instructor(app, &["B"]).await;
    let car = training_car(app, "B").await;
    let body = json!({
        "candidate_id": candidate,
        "instructor_id": teacher,
        "vehicle_id": car,
        "starts_at": at(day, 10, 0),
        "ends_at": at(day, 11, 0)
    });
    let response = app.as_admin().post("/api/v1/school/lessons", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response
}

fn quote_body(client: i64) -> Value {
    json!({
        "client_id": client,
        "lines": [{ "kind": "part", "description": "Plaquettes de frein", "quantity": 1, "unit_price": "85.00", "vat_rate": 20 }]
    })
}

backend_tests!(
    a_quote_reaches_a_real_smtp_server_with_both_bodies_and_its_pdf,
    without_an_smtp_server_emails_are_written_as_files,
    sms_go_to_the_http_provider_with_a_token_and_an_idempotency_key,
    preferences_and_consents_choose_the_channels,
    the_bell_hears_of_a_new_notification_without_reloading,
    without_servers_every_screen_says_what_does_not_leave,
    a_contact_is_not_told_of_a_profile_and_a_user_is,
);

async fn a_quote_reaches_a_real_smtp_server_with_both_bodies_and_its_pdf(app: TestApp) {
    let admin = app.as_admin();
    let smtp = SmtpServer::start();
    let jeanne = client(&app, json!({ "name": "Jeanne Martin", "email": "jeanne@exemple.fr" })).await;
    let quote = admin.post("/api/v1/quotes", &quote_body(jeanne)).await.json();
    let id = quote["id"].as_i64().unwrap();
    let sent = admin.post(&format!("/api/v1/quotes/{id}/email"), &json!({})).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text());
    let email_id = sent.json()["email_id"].as_i64().unwrap();
    assert_eq!(smtp.count(), 0, "queued, not sent inside the request");

    app.run_jobs_with(|n| n.smtp_url = Some(smtp.url())).await;
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, vec!["jeanne@exemple.fr".to_owned()]);
    assert!(mail.from.contains("noreply@localhost"), "{}", mail.from);
    let parsed = mail.parsed();
    let number = quote["number"].as_str().unwrap();
    assert!(parsed.subject().unwrap_or_default().contains(number), "{:?}", parsed.subject());
    let text = parsed.body_text(0).expect("a plain-text body");
    assert!(text.contains("102,00") && text.contains("http://localhost/q/"), "{text}");
    let html = parsed.body_html(0).expect("an HTML body");
    assert!(html.contains("<h1") && html.contains("102,00"), "{html}");
    let attachment = parsed.attachment(0).expect("the PDF");
    assert!(attachment.attachment_name().unwrap_or_default().ends_with(".pdf"));
    assert!(attachment.contents().starts_with(b"%PDF-"));
    assert_eq!(mail.message_id(), format!("volant-email-{}-{email_id}@localhost", app.org.get()));

    let row = volant::notify::outbox::get(&app.db, app.org, email_id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
    assert!(row.sent_at.is_some() && row.body_html.is_some());
    // A job delivered again (a worker lost after sending) does not send twice.
    volant::platform::jobs::enqueue(
        &app.db,
        volant::platform::jobs::NewJob::new("notify.email", json!({ "id": email_id })),
    )
    .await
    .unwrap();
    app.run_jobs_with(|n| n.smtp_url = Some(smtp.url())).await;
    assert_eq!(smtp.count(), 1);

    // The client stops e-mails with the link at the foot of the message.
    let header = parsed.header_raw("List-Unsubscribe").expect("List-Unsubscribe").trim().to_owned();
    let path = header.trim_start_matches("<http://localhost").trim_end_matches('>').to_owned();
    assert!(path.starts_with("/unsubscribe/") && text.contains(&path), "{header}");
    let confirm = app.anonymous().send(Request::builder().uri(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text().contains("jeanne@exemple.fr"));
    let mut forged = path.clone();
    forged.pop();
    let forged_page =
        app.anonymous().send(Request::builder().uri(format!("{forged}x")).body(Body::empty()).unwrap()).await;
    assert_eq!(forged_page.status, StatusCode::NOT_FOUND);
    let done = admin.post_form(&path, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let consents = admin.get("/api/v1/contact-consents").await.json();
    assert_eq!(
        (consents[0]["address"].as_str(), consents[0]["granted"].as_bool()),
        (Some("jeanne@exemple.fr"), Some(false))
    );
    assert!(consents[0]["recorded_by"].is_null());
    let again = admin.post("/api/v1/quotes", &quote_body(jeanne)).await.json()["id"].as_i64().unwrap();
    admin
        .post(&format!("/api/v1/quotes/{again}/email"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "client_refused_email");

    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    assert_eq!(deliveries[0]["event"], "quote_sent");
    assert_eq!(deliveries[0]["email"]["status"], "sent", "{deliveries}");
    let page = admin.get("/admin/notifications").await;
    assert!(page.text().contains("jeanne@exemple.fr") && page.text().contains("envoyé"));
}

async fn without_an_smtp_server_emails_are_written_as_files(app: TestApp) {
    let admin = app.as_admin();
    let paul = client(&app, json!({ "name": "Paul", "email": "paul@exemple.fr" })).await;
    let id = admin.post("/api/v1/quotes", &quote_body(paul)).await.json()["id"].as_i64().unwrap();
    let email_id =
        admin.post(&format!("/api/v1/quotes/{id}/email"), &json!({})).await.json()["email_id"].as_i64().unwrap();
    app.run_jobs().await;
    let file = app.outbox.path().join(format!("{}-{email_id}.eml", app.org.get()));
    let content = std::fs::read(&file).expect("the .eml file");
    let parsed = mail_parser::MessageParser::default().parse(&content).expect("a message");
    assert_eq!(parsed.to().and_then(|t| t.first()).and_then(|a| a.address()), Some("paul@exemple.fr"));
    assert!(parsed.attachment(0).is_some());
    let row = volant::notify::outbox::get(&app.db, app.org, email_id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.delivered), ("sent", false), "a file is not a delivery");
    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    assert_eq!(deliveries[0]["email"]["status"], "saved", "{deliveries}");
    let page = admin.get("/admin/notifications").await.text();
    assert!(page.contains("enregistré, non envoyé"), "the deliveries page says it did not leave");
}

async fn sms_go_to_the_http_provider_with_a_token_and_an_idempotency_key(app: TestApp) {
    let admin = app.as_admin();
    let provider = SmsProvider::start().await;
    let lea = candidate(
        &app,
        json!({
            "phone": "06 12 34 56 78",
            "email": "lea.sms@example.fr"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    book(&app, lea, 3).await;
    let configure = |n: &mut volant::platform::config::NotifyConfig| {
        n.sms_url = Some(provider.url.clone());
        n.sms_token = Some("secret-token".to_owned());
    };
    app.run_jobs_with(configure).await;
    let calls = provider.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].body["to"], "0612345678");
    assert!(calls[0].body["text"].as_str().unwrap().starts_with("Leçon réservée"), "{}", calls[0].body);
    assert_eq!(calls[0].headers.get(header::AUTHORIZATION).unwrap(), "Bearer secret-token");
    let key = calls[0].headers.get("idempotency-key").unwrap().to_str().unwrap().to_owned();
    assert!(key.starts_with("volant-sms-"));
    assert_eq!(calls[0].body["reference"], key.as_str());
    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    assert_eq!(deliveries[0]["sms"]["status"], "sent", "{deliveries}");
    assert_eq!(deliveries[0]["email"]["status"], "saved", "no SMTP server: the e-mail is only a file");

    // The provider fails: the SMS waits for another attempt, with the reason.
    provider.answer(StatusCode::SERVICE_UNAVAILABLE);
    book(&app, lea, 4).await;
    app.run_jobs_with(configure).await;
    assert_eq!(provider.calls().len(), 2);
    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    let sms = &deliveries[0]["sms"];
    assert_eq!(sms["status"], "pending", "{deliveries}");
    assert!(sms["last_error"].as_str().unwrap().contains("503"), "{sms}");
    let retrying = admin.get("/api/v1/admin/jobs?status=retrying").await.json();
    assert_eq!(retrying[0]["kind"], "notify.sms", "{retrying}");
}

async fn preferences_and_consents_choose_the_channels(app: TestApp) {
    let admin = app.as_admin();
    let user = app.user("lea.prefs@example.fr", &[Role::Candidate]).await;
    let token = volant::identity::auth::issue(&app.db, &app.signing_key, &user, "api").await.unwrap().token;
    let lea = candidate(
        &app,
        json!({
            "user_id": user.id,
            "email": "lea.prefs@example.fr",
            "phone": "+221 77 123 45 67"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();

    let grid = as_user(&app, &token, Method::GET, "/api/v1/notifications/preferences", None).await.json();
    assert_eq!(grid.as_array().unwrap().len(), 16 * 4);
    let choice = json!([{ "event": "lesson_changed", "channel": "email", "enabled": false }]);
    let saved = as_user(&app, &token, Method::PUT, "/api/v1/notifications/preferences", Some(&choice)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert!(
        saved
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["event"] == "lesson_changed" && p["channel"] == "email" && p["enabled"] == false)
    );

    book(&app, lea, 3).await;
    let first = &admin.get("/api/v1/admin/notifications").await.json()[0];
    assert_eq!((first["in_app"].as_bool(), first["email"].is_null()), (Some(true), true), "{first}");
    assert_eq!(first["sms"]["address"], "+221771234567");

    // The candidate says no more SMS: recorded with how they said it.
    let refused = admin
        .post(
            "/api/v1/contact-consents",
            &json!({
                "channel": "sms",
                "address": "+221 77 123 45 67",
                "granted": false,
                "source": "au téléphone"
            }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CREATED, "{}", refused.text());
    let invalid = admin
        .post(
            "/api/v1/contact-consents",
            &json!({
                "channel": "email",
                "address": "pas une adresse",
                "granted": false,
                "source": ""
            }),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.error_fields(), vec!["address", "source"]);
    book(&app, lea, 4).await;
    let second = &admin.get("/api/v1/admin/notifications").await.json()[0];
    assert!(second["sms"].is_null() && second["email"].is_null(), "{second}");
    let consents = admin.get("/api/v1/contact-consents").await.json();
    assert_eq!(
        (consents[0]["address"].as_str(), consents[0]["granted"].as_bool()),
        (Some("+221771234567"), Some(false))
    );

    // The inbox: both notifications, unread; read one, then all.
    let inbox = as_user(&app, &token, Method::GET, "/api/v1/notifications", None).await.json();
    assert_eq!(inbox.as_array().unwrap().len(), 2);
    assert_eq!(as_user(&app, &token, Method::GET, "/api/v1/notifications/unread", None).await.json()["unread"], 2);
    let one = inbox[0]["id"].as_i64().unwrap();
    let read = as_user(&app, &token, Method::POST, &format!("/api/v1/notifications/{one}/read"), None).await;
    assert_eq!(read.json()["unread"], 1);
    // Someone else's notification does not exist for them.
    let other = admin.post(&format!("/api/v1/notifications/{}/read", inbox[1]["id"]), &json!({})).await;
    other.problem(StatusCode::NOT_FOUND, "not_found");
    let all = as_user(&app, &token, Method::POST, "/api/v1/notifications/read-all", None).await;
    assert_eq!(all.json()["unread"], 0);
    let unread_only = as_user(&app, &token, Method::GET, "/api/v1/notifications?unread=true", None).await.json();
    assert_eq!(unread_only.as_array().unwrap().len(), 0);
    let page = admin.get("/notifications/preferences").await;
    assert_eq!(page.status, StatusCode::OK);
}

async fn the_bell_hears_of_a_new_notification_without_reloading(app: TestApp) {
    let person = app.user("bell@volant.test", &[Role::Staff]).await;
    let session = volant::identity::auth::issue(&app.db, &app.signing_key, &person, "web").await.unwrap().token;
    let request = Request::builder()
        .uri("/notifications/stream")
        .header(header::COOKIE, format!("volant_session={session}"))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "text/event-stream");
    let mut body = response.into_body();
    let mut next_event = async || -> String {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
                .await
                .expect("an event in time")
                .expect("open")
                .expect("frame");
            if let Some(data) = frame.data_ref() {
                let text = String::from_utf8_lossy(data).into_owned();
                if text.contains("event: unread") {
                    return text;
                }
            }
        }
    };
    assert!(next_event().await.contains("\"unread\":0"));
    let txn = app.db.begin().await.unwrap();
    notify::send(
        &txn,
        app.org,
        Notice::new(Event::AlertRaised, "Contrôle technique dépassé", "AB-123-CD")
            .user(Some(person.id))
            .link("/alerts"),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let event = next_event().await;
    assert!(event.contains("\"unread\":1") && event.contains("Contrôle technique dépassé"), "{event}");
}

backend_tests!(
    another_organization_sees_none_of_it_and_hostile_input_is_refused,
    the_bell_reads_the_person_s_own_notifications_however_many_the_organization_sends
);

async fn another_organization_sees_none_of_it_and_hostile_input_is_refused(app: TestApp) {
    use crate::workshop_hostile::NASTY;
    use volant::platform::jobs::{self, NewJob, Registry};
    let ours = client(&app, json!({ "name": "Nous", "email": "nous@exemple.fr" })).await;
    let quote = app.as_admin().post("/api/v1/quotes", &quote_body(ours)).await.json()["id"].as_i64().unwrap();
    app.as_admin().post(&format!("/api/v1/quotes/{quote}/email"), &json!({})).await.assert_success();
    app.as_admin()
        .post(
            "/api/v1/contact-consents",
            &json!({
                "channel": "email",
                "address": "nous@exemple.fr",
                "granted": true,
                "source": "signé"
            }),
        )
        .await
        .assert_success();
    let dead = jobs::enqueue(&app.db, NewJob::new("test.orphan", json!({})).for_org(app.org).max_attempts(1))
        .await
        .unwrap()
        .unwrap();
    jobs::run_until_idle(&app.db, &Registry::default()).await.unwrap();
    let admin = app.admin().await.id;
    let txn = app.db.begin().await.unwrap();
    let mine = notify::send(&txn, app.org, Notice::new(Event::ReportReady, "Rapport", "prêt").user(Some(admin)))
        .await
        .unwrap()
        .notification_id;
    txn.commit().await.unwrap();

    let token = app.other_org().await.token().await.to_owned();
    for path in [
        "/api/v1/admin/notifications",
        "/api/v1/contact-consents",
        "/api/v1/notifications",
        "/api/v1/admin/jobs?status=dead",
    ] {
        assert_eq!(as_user(&app, &token, Method::GET, path, None).await.json(), json!([]), "{path}");
    }
    assert_eq!(as_user(&app, &token, Method::GET, "/api/v1/admin/jobs/stats", None).await.json()["dead"], 0);
    as_user(&app, &token, Method::POST, &format!("/api/v1/admin/jobs/{dead}/retry"), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    as_user(&app, &token, Method::POST, &format!("/api/v1/notifications/{mine}/read"), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.as_admin().get("/api/v1/notifications/unread").await.json()["unread"], 1, "ours untouched");

    let mut strings: Vec<String> = NASTY.iter().map(|s| (*s).to_owned()).collect();
    strings.push("é".repeat(3000));
    for s in &strings {
        let all = app
            .as_admin()
            .post(
                "/api/v1/contact-consents",
                &json!({
                    "channel": s,
                    "address": s,
                    "granted": s,
                    "source": s
                }),
            )
            .await;
        assert!(all.status.is_client_error(), "{s:?}: {}", all.status);
        for channel in ["email", "sms"] {
            let one = app
                .as_admin()
                .post(
                    "/api/v1/contact-consents",
                    &json!({
                        "channel": channel,
                        "address": s,
                        "granted": false,
                        "source": s
                    }),
                )
                .await;
            // Digits and separators make a phone number ("2026-02-30" reads as 20260230).
            assert!(
                matches!(one.status, StatusCode::CREATED | StatusCode::UNPROCESSABLE_ENTITY),
                "{channel} {s:?}: {}",
                one.text()
            );
        }
        let prefs = app
            .as_admin()
            .put("/api/v1/notifications/preferences", &json!([{ "event": s, "channel": s, "enabled": s }]))
            .await;
        assert!(prefs.status.is_client_error(), "{s:?}: {}", prefs.status);
        let query =
            serde_urlencoded::to_string([("cursor", s.as_str()), ("limit", s.as_str()), ("unread", s.as_str())])
                .unwrap();
        assert!(app.as_admin().get(&format!("/api/v1/notifications?{query}")).await.status.is_client_error(), "{s:?}");
        let status = serde_urlencoded::to_string([("status", s.as_str())]).unwrap();
        assert_eq!(
            app.as_admin().get(&format!("/api/v1/admin/jobs?{status}")).await.status,
            // A NUL or any other value the parameter does not take: a 422 naming it.
            StatusCode::UNPROCESSABLE_ENTITY,
            "{s:?}"
        );
        let form = app
            .as_admin()
            .post_form("/contacts/consents", &[("channel", s), ("address", s), ("granted", s), ("source", s)])
            .await;
        assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY, "{s:?}");
        let grid = app.as_admin().post_form("/notifications/preferences", &[(s.as_str(), "on")]).await;
        // Unknown fields are ignored; a NUL anywhere in a form is refused as a whole.
        let expected = if s.contains('\0') { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::SEE_OTHER };
        assert_eq!(grid.status, expected, "{s:?}");
    }
    let recorded = app.as_admin().get("/api/v1/contact-consents").await.json();
    for consent in recorded.as_array().unwrap() {
        let text = format!("{}{}", consent["address"], consent["source"]);
        assert!(!text.contains("\\u0000") && !text.contains("DROP"), "{consent}");
    }
}

async fn without_servers_every_screen_says_what_does_not_leave(app: TestApp) {
    let admin = app.as_admin();
    let page = admin.get("/garages").await.text();
    assert!(page.contains("id=\"undelivered\"") && page.contains("Ni les e-mails ni les SMS ne partent"), "{page}");
    let staff = app.as_role(Role::Staff).await;
    assert!(!staff.get("/garages").await.text().contains("id=\"undelivered\""), "a banner for administrators");
    let status = admin.get("/admin/status").await.text();
    assert!(status.contains("non envoyés : écrits dans le dossier"), "{status}");
    assert!(status.contains("non envoyés : écrits dans le journal"));

    let paul = client(&app, json!({ "name": "Paul", "email": "paul@exemple.fr" })).await;
    let id = admin.post("/api/v1/quotes", &quote_body(paul)).await.json()["id"].as_i64().unwrap();
    admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.assert_success();
    let emailed = admin.post_form(&format!("/quotes/{id}/email"), &[]).await;
    emailed.assert_status(StatusCode::SEE_OTHER);
    let shown = admin
        .send(
            Request::get(format!("/quotes/{id}"))
                .header(header::COOKIE, flash_of(&emailed))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let text = shown.text();
    assert!(text.contains("flash-warning") && text.contains("e-mail ne partira pas"), "{text}");
}

/// The flash cookie a redirect sets, as a browser would send it back.
fn flash_of(response: &TestResponse) -> String {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("volant_flash="))
        .and_then(|c| c.split(';').next())
        .expect("a flash cookie")
        .to_owned()
}

async fn a_contact_is_not_told_of_a_profile_and_a_user_is(app: TestApp) {
    let admin = app.as_admin();
    let smtp = SmtpServer::start();
    let jeanne = client(&app, json!({ "name": "Jeanne", "email": "jeanne@exemple.fr" })).await;
    let id = admin.post("/api/v1/quotes", &quote_body(jeanne)).await.json()["id"].as_i64().unwrap();
    admin.post(&format!("/api/v1/quotes/{id}/email"), &json!({})).await.assert_success();
    let user = app.user("lecteur@garage.fr", &[Role::Staff]).await;
    let notice = Notice {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ..Notice::new(Event::ReportReady, "Votre rapport est prêt", "Le rapport est prêt.")
    };
    let txn = app.db.begin().await.unwrap();
    notify::send(&txn, app.org, notice).await.unwrap();
    txn.commit().await.unwrap();
    app.run_jobs_with(|n| n.smtp_url = Some(smtp.url())).await;
    let received = smtp.received();
    let text_to = |address: &str| {
        let mail = received.iter().find(|m| m.to == vec![address.to_owned()]).expect("an e-mail");
        mail.parsed().body_text(0).expect("text").into_owned()
    };
    let to_contact = text_to("jeanne@exemple.fr");
    assert!(!to_contact.contains("profil") && to_contact.contains("ne plus vous écrire"), "{to_contact}");
    let to_user = text_to("lecteur@garage.fr");
    assert!(to_user.contains("votre profil"), "{to_user}");
    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    assert!(deliveries.as_array().unwrap().iter().all(|d| d["email"]["status"] == "sent"), "{deliveries}");
}

/// The inbox and the unread count walk the person's own notifications, not the
/// organization's: a garage's thousands of e-mails to its clients (no user) once
/// made both databases read them all, newest first, to find twenty.
async fn the_bell_reads_the_person_s_own_notifications_however_many_the_organization_sends(app: TestApp) {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let me = app.as_admin().get("/api/v1/auth/me").await.json()["id"].as_i64().expect("id");
    let backend = app.db.get_database_backend();
    let org = app.org.get();
    let columns = "organization_id, event, user_id, recipient, title, body, link, in_app, created_at, read_at";
    let rows = |count: u32, user: &str, in_app: bool, read: &str| {
        let select = format!(
            "SELECT {org}, 'quote_sent', {user}, 'client' || i || '@exemple.fr', 'Votre devis', 'Bonjour', NULL, \
             {in_app}, '2026-12-01T10:00:00+00:00', {read}"
        );
        match backend {
            DatabaseBackend::Postgres => {
                format!("INSERT INTO notifications ({columns}) {select} FROM generate_series(1, {count}) AS i")
            }
            _ => format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
                 INSERT INTO notifications ({columns}) {select} FROM n"
            ),
        }
    };
    let read_at = "'2026-12-02T08:00:00+00:00'";
    for sql in [
        rows(30, &me.to_string(), true, read_at),
        rows(12, &me.to_string(), true, "NULL"),
        rows(20_000, "NULL", false, "NULL"),
    ] {
        app.db.execute_unprepared(&sql).await.expect("notifications");
    }
    app.db.execute_unprepared("ANALYZE").await.expect("statistics");
    let admin = app.as_admin();
    assert_eq!(admin.get("/api/v1/notifications/unread").await.json()["unread"], 12);
    let page = admin.get("/api/v1/notifications?limit=20").await.json();
    assert_eq!(page.as_array().map(Vec::len), Some(20), "{page}");
    // Both read through an index that starts with the organization and the person
    // (PostgreSQL counts a few unread through the first as well as the second).
    let filter = format!("organization_id = {org} AND user_id = {me} AND in_app = {}", sql_true(backend));
    for (query, index) in [
        (format!("SELECT id FROM notifications WHERE {filter} ORDER BY id DESC LIMIT 21"), "idx_notifications_inbox"),
        (format!("SELECT COUNT(*) FROM notifications WHERE {filter} AND read_at IS NULL"), "idx_notifications_unread"),
    ] {
        let explain = match backend {
            DatabaseBackend::Postgres => format!("EXPLAIN {query}"),
            _ => format!("EXPLAIN QUERY PLAN {query}"),
        };
        let plan: Vec<String> = app
            .db
            .query_all_raw(Statement::from_string(backend, explain))
            .await
            .expect("plan")
            .iter()
            .filter_map(|row| {
                row.try_get_by_index::<String>(if backend == DatabaseBackend::Postgres { 0 } else { 3 }).ok()
            })
            .collect();
        let postgres = backend == DatabaseBackend::Postgres;
        let own = |line: &String| line.contains(index) || (postgres && line.contains("idx_notifications_inbox"));
        assert!(plan.iter().any(own), "{query}: {plan:?}");
    }
}

fn sql_true(backend: sea_orm::DatabaseBackend) -> &'static str {
    if backend == sea_orm::DatabaseBackend::Postgres { "true" } else { "1" }
}
