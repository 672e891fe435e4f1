//! Webhooks against a real receiver on loopback: subscribed events delivered,
//! signed (checked here with HMAC-SHA256 as a receiver would), logged; a change
//! rolled back sends nothing; failures retried, an endpoint failing for days
//! disabled and its administrators told; replays; the SSRF guard.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use volant::notify::webhooks::{self, WebhookEvent};

use crate::backend_tests;
use crate::fixtures::school::{at, candidate, instructor, training_car};
use crate::helpers::TestApp;

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// An HTTP server on loopback that records what it receives and answers `status`.
struct Receiver {
    url: String,
    received: Received,
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start() -> Self {
        use axum::extract::State;
        let received: Received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200_u16));
        async fn hook(
            State((received, status)): State<(Received, Arc<Mutex<u16>>)>,
            headers: HeaderMap,
            body: String,
        ) -> (StatusCode, &'static str) {
            received.lock().expect("lock").push((headers, body));
            let code = *status.lock().expect("lock");
            (StatusCode::from_u16(code).expect("status"), "reçu ✓")
        }
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(hook))
            .with_state((received.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/hooks"), received, status }
    }

    fn received(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().expect("lock").clone()
    }

    fn answer(&self, code: u16) {
        *self.status.lock().expect("lock") = code;
    }
}

/// The receiver's check of a Standard Webhooks signature.
fn signature_is_valid(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).expect("key");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac");
    mac.update(format!("{}.{}.{body}", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header("webhook-signature").split(' ').any(|s| s == format!("v1,{expected}"))
}

/// Private hosts allowed: the receivers are on loopback.
fn loopback(config: &mut volant::platform::config::Config) {
    config.notify.webhook_allow_private_hosts = true;
}

crate::configured_tests!(loopback;
    subscribed_events_are_delivered_signed_and_logged,
    failures_are_retried_then_a_failing_endpoint_is_disabled_and_replayed
);

async fn subscribed_events_are_delivered_signed_and_logged(app: TestApp) {
    let receiver = Receiver::start().await;
    let admin = app.as_admin();
    let created = admin
        .post(
            "/api/v1/webhooks",
            &json!({ "url": receiver.url, "description": "ERP école", "events": ["candidate.created", "lesson.booked"] }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let endpoint = created.json();
    let id = endpoint["id"].as_i64().expect("id");
    let secret = endpoint["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(endpoint["events"], json!(["lesson.booked", "candidate.created"]));

    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Dubois-Ngọc 🚗" })).await;
    // Not subscribed: nothing for a garage.
    admin.post("/api/v1/garages", &json!({ "name": "Nord", "address": "1 rue" })).await.assert_success();
    app.run_jobs().await;

    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let (headers, body) = &received[0];
    assert!(signature_is_valid(&secret, headers, body), "signed with the endpoint's secret");
    assert!(!signature_is_valid("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", headers, body));
    let message: Value = serde_json::from_str(body).expect("json");
    assert_eq!(message["type"], "candidate.created");
    assert_eq!(message["data"]["candidate_id"], lea["id"]);
    assert!(!body.contains("Dubois"), "names stay in Volant");
    let webhook_id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).expect("id").to_owned();
    assert!(webhook_id.starts_with("msg_"));

    let log = admin.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert_eq!(log[0]["status"], "delivered", "{log}");
    assert_eq!(log[0]["response_status"], 200);
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["message_id"], webhook_id.as_str());

    // A ping from the endpoint's page, then a replay: the same id and body, signed anew.
    admin.post(&format!("/api/v1/webhooks/{id}/ping"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    let delivery = log[0]["id"].as_i64().expect("delivery");
    let replayed = admin.post(&format!("/api/v1/webhooks/{id}/deliveries/{delivery}/replay"), &json!({})).await;
    replayed.assert_status(StatusCode::ACCEPTED);
    app.run_jobs().await;
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    let types: Vec<String> = received
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).expect("json")["type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(types.contains(&"ping".to_owned()), "{types:?}");
    let same_id: Vec<&(HeaderMap, String)> = received
        .iter()
        .filter(|(h, _)| h.get("webhook-id").and_then(|v| v.to_str().ok()) == Some(webhook_id.as_str()))
        .collect();
    assert_eq!(same_id.len(), 2, "the first delivery and its replay");
    let (again_headers, again_body) = same_id[1];
    assert_eq!(again_body, body);
    assert!(signature_is_valid(&secret, again_headers, again_body));

    // A lesson booked reaches it too, its ids and times without names.
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let booking = json!({
        "candidate_id": lea["id"],
        "instructor_id": teacher,
        "vehicle_id": car,
        "starts_at": at(2, 10, 0),
        "ends_at": at(2, 11, 0)
    });
    let lesson = admin.post("/api/v1/school/lessons", &booking).await.json();
    app.run_jobs().await;
    let received = receiver.received();
    let booked = received
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).expect("json"))
        .find(|m| m["type"] == "lesson.booked")
        .expect("lesson.booked delivered");
    assert_eq!(booked["data"]["lesson_id"], lesson["id"]);
    assert_eq!(booked["data"]["instructor_id"], teacher);
    assert!(!booked.to_string().contains("Dubois"), "{booked}");
    let sent = received.len();

    // A change rolled back sends nothing: the delivery was in its transaction.
    let before = webhooks::delivery::Entity::find().count(&app.db).await.expect("count");
    let outcome: Result<(), volant::platform::error::AppError> = volant::platform::db::write(&app.db, async |txn| {
        webhooks::emit(txn, app.org, WebhookEvent::CandidateCreated, json!({ "candidate_id": 0 })).await?;
        Err(volant::platform::error::AppError::NotFound)
    })
    .await;
    assert!(outcome.is_err());
    assert_eq!(webhooks::delivery::Entity::find().count(&app.db).await.expect("count"), before);
    app.run_jobs().await;
    assert_eq!(receiver.received().len(), sent, "nothing more was sent");

    // Another organization's administrator sees nothing of it.
    let other = app.other_org().await;
    assert_eq!(other.get("/api/v1/webhooks").await.json(), json!([]));
    assert_eq!(other.get(&format!("/api/v1/webhooks/{id}")).await.status, StatusCode::NOT_FOUND);
}

async fn failures_are_retried_then_a_failing_endpoint_is_disabled_and_replayed(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let admin = app.as_admin();
    let endpoint =
        admin.post("/api/v1/webhooks", &json!({ "url": receiver.url, "events": ["candidate.created"] })).await.json();
    let id = endpoint["id"].as_i64().expect("id");
    candidate(&app, json!({})).await;
    app.run_jobs().await;
    let log = admin.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert_eq!(log[0]["status"], "pending", "retried later: {log}");
    assert_eq!(log[0]["response_status"], 503);
    assert!(log[0]["last_error"].as_str().is_some_and(|e| e.contains("503") && e.contains("reçu")), "{log}");
    let shown = admin.get(&format!("/api/v1/webhooks/{id}")).await.json();
    assert!(shown["failing_since"].is_string(), "{shown}");

    // Days of failures later, the next failure disables it and tells the administrators.
    let stored = webhooks::endpoint::Entity::find_by_id(id).one(&app.db).await.expect("query").expect("row");
    let mut active: webhooks::endpoint::ActiveModel = stored.into();
    active.failing_since = Set(Some(chrono::Utc::now() - chrono::Duration::days(4)));
    active.update(&app.db).await.expect("update");
    volant::platform::jobs::entity::Entity::update_many()
        .col_expr(volant::platform::jobs::entity::Column::RunAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .filter(volant::platform::jobs::entity::Column::Kind.eq(webhooks::DELIVERY_JOB))
        .exec(&app.db)
        .await
        .expect("due now");
    app.run_jobs().await;
    let shown = admin.get(&format!("/api/v1/webhooks/{id}")).await.json();
    assert_eq!(shown["enabled"], false, "{shown}");
    assert_eq!(shown["disabled_reason"], "failing");
    let log = admin.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["attempts"], 2);
    let inbox = admin.get("/api/v1/notifications").await.json();
    let told = inbox.to_string();
    assert!(told.contains("Un webhook a été désactivé") && told.contains("127.0.0.1"), "{inbox}");
    assert!(!told.contains("/hooks"), "the host only, never the path: {inbox}");
    // Disabled: new events are not queued for it.
    candidate(&app, json!({})).await;
    assert_eq!(admin.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json().as_array().map(Vec::len), Some(1));

    // Fixed and turned on again: its failures are forgotten, the missed delivery replayed.
    receiver.answer(204);
    let on = admin.patch(&format!("/api/v1/webhooks/{id}"), &json!({ "enabled": true })).await.json();
    assert_eq!(on["enabled"], true);
    assert_eq!(on["failing_since"], Value::Null);
    let delivery = log[0]["id"].as_i64().expect("delivery");
    admin
        .post(&format!("/api/v1/webhooks/{id}/deliveries/{delivery}/replay"), &json!({}))
        .await
        .assert_status(StatusCode::ACCEPTED);
    app.run_jobs().await;
    let log = admin.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert_eq!(log[0]["status"], "delivered", "{log}");
    assert_eq!(log[0]["response_status"], 204);
}

backend_tests!(the_ssrf_guard_refuses_internal_addresses);

async fn the_ssrf_guard_refuses_internal_addresses(app: TestApp) {
    let admin = app.as_admin();
    for (url, field_message) in [
        ("http://127.0.0.1:8080/hooks", "réseau interne"),
        ("http://localhost/hooks", "réseau interne"),
        ("http://[::1]/hooks", "réseau interne"),
        ("http://169.254.169.254/latest/meta-data", "réseau interne"),
        ("http://10.0.0.7/hooks", "réseau interne"),
        ("ftp://example.fr/hooks", "http:// ou https://"),
        ("https://user:pass@example.fr/hooks", "http:// ou https://"),
    ] {
        let refused = admin.post("/api/v1/webhooks", &json!({ "url": url, "events": ["quote.sent"] })).await;
        let problem = refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.error_fields(), ["url"], "{url}");
        assert!(problem.to_string().contains(field_message), "{url}: {problem}");
    }
    admin
        .post("/api/v1/webhooks", &json!({ "url": "https://example.fr/hooks", "events": [] }))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // A row that slipped in (written before the guard, or by hand) is refused at sending.
    let receiver = Receiver::start().await;
    let actor = volant::identity::audit::Actor {
        user_id: Some(app.admin().await.id),
        ..volant::identity::audit::Actor::system(app.org)
    };
    let input = webhooks::EndpointInput {
        url: Some(receiver.url.clone()),
        description: None,
        events: Some(vec![WebhookEvent::CandidateCreated]),
    };
    let made = webhooks::create(&app.db, (&app.state.cipher, true), &actor, &input).await.expect("endpoint");
    let named = webhooks::EndpointInput { url: Some(receiver.url.replace("127.0.0.1", "localhost")), ..input };
    webhooks::create(&app.db, (&app.state.cipher, true), &actor, &named).await.expect("endpoint");
    candidate(&app, json!({})).await;
    app.run_jobs().await;
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
    let log = admin.get(&format!("/api/v1/webhooks/{}/deliveries", made.endpoint.id)).await.json();
    assert!(log[0]["last_error"].as_str().is_some_and(|e| e.contains("internal")), "{log}");
    let deliveries = webhooks::delivery::Entity::find()
        .filter(webhooks::delivery::Column::Status.eq("delivered"))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(deliveries, 0);
}

crate::configured_tests!(loopback; an_invoice_is_told_when_issued_then_once_when_paid);

async fn an_invoice_is_told_when_issued_then_once_when_paid(app: TestApp) {
    let receiver = Receiver::start().await;
    let admin = app.as_admin();
    let endpoint = admin
        .post("/api/v1/webhooks", &json!({ "url": receiver.url, "events": ["invoice.issued", "invoice.paid"] }))
        .await
        .json();
    let secret = endpoint["secret"].as_str().expect("secret").to_owned();
    admin
        .patch(
            "/api/v1/organization",
            &json!({ "address": "3 rue Victor Hugo\n75011 Paris", "registration_number": "732 829 320 00074", "vat_number": "FR44732829320" }),
        )
        .await
        .assert_success();
    let buyer =
        crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin", "email": "jeanne@example.fr" })).await;
    let lines = json!([{ "description": "Vidange", "unit_price": "100", "vat_rate": 20 }]);
    let draft = admin.post("/api/v1/invoices", &json!({ "client_id": buyer, "lines": lines })).await.json();
    let id = draft["id"].as_i64().expect("id");
    let issued = admin.post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.assert_success().json();
    // Paid in two parts: told once, when the second settles it.
    for amount in ["50", "70"] {
        admin
            .post(&format!("/api/v1/invoices/{id}/payments"), &json!({ "method": "cash", "amount": amount }))
            .await
            .assert_success();
    }
    app.run_jobs().await;
    let messages: Vec<Value> = receiver
        .received()
        .iter()
        .map(|(headers, body)| {
            assert!(signature_is_valid(&secret, headers, body));
            serde_json::from_str(body).expect("json")
        })
        .collect();
    let types: Vec<&str> = messages.iter().filter_map(|m| m["type"].as_str()).collect();
    assert_eq!(types.iter().filter(|t| **t == "invoice.issued").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "invoice.paid").count(), 1, "{types:?}");
    let paid = messages.iter().find(|m| m["type"] == "invoice.paid").expect("paid");
    assert_eq!(paid["data"]["invoice_id"], id);
    assert_eq!(paid["data"]["number"], issued["number"]);
    assert_eq!(paid["data"]["payment_state"], "paid");
    assert_eq!(paid["data"]["balance_due"], "0.00");
    assert!(!paid.to_string().contains("Jeanne"), "the customer by id only: {paid}");
}

/// A change that read an organization's endpoints (to tell them of an event) holds
/// them until it ends: an endpoint deleted meanwhile goes after it, its deliveries
/// with it, and the change's own insert never meets a vanished endpoint (which
/// would undo the change). PostgreSQL only: SQLite's writers take turns anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_read_by_an_open_change_is_deleted_after_it() {
    use sea_orm::TransactionTrait;
    let Some(app) = TestApp::postgres_with(|config| config.notify.webhook_allow_private_hosts = true).await else {
        return;
    };
    let receiver = Receiver::start().await;
    let admin = app.as_admin();
    let created =
        admin.post("/api/v1/webhooks", &json!({ "url": receiver.url, "events": ["candidate.created"] })).await;
    let id = created.json()["id"].as_i64().expect("id");
    let org = admin.org().await;
    let actor = volant::identity::audit::Actor::system(org);

    let change = app.db.begin().await.expect("begin");
    // The change reads the endpoints (an event they do not want: nothing inserted yet).
    webhooks::emit(&change, org, WebhookEvent::LessonBooked, json!({ "lesson_id": 1 })).await.expect("emit");
    let delete = webhooks::delete(&app.db, &actor, id);
    tokio::pin!(delete);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(500), &mut delete).await;
    assert!(waited.is_err(), "the deletion waits for the change that read the endpoint");
    // The change goes on and notifies the endpoint it read, then commits.
    webhooks::emit(&change, org, WebhookEvent::CandidateCreated, json!({ "candidate_id": 1 })).await.expect("emit");
    change.commit().await.expect("the change commits");
    delete.await.expect("then the endpoint is deleted");
    let left = volant::notify::webhooks::delivery::Entity::find().count(&app.db).await.expect("count");
    assert_eq!(left, 0, "its deliveries went with it");
}
