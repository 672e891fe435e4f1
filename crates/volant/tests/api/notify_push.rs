//! Web Push against a push service on loopback: a candidate's device subscribed,
//! the lesson moved, the message posted with a VAPID signature checked here as a
//! push service would (ES256 over the instance's public key), and its payload
//! decrypted with the device's own keys (RFC 8291) as the browser would; an
//! expired device forgotten; the preferences and the SSRF guard obeyed.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use volant::identity::roles::Role;
use web_push_native::p256;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;

use crate::fixtures::school::{at, booked_lesson, candidate, instructor, training_car};
use crate::helpers::TestApp;

type Received = Arc<Mutex<Vec<(String, HeaderMap, Vec<u8>)>>>;

/// A push service on loopback: records each message, answers 201, or 410 for
/// the devices under `/gone/`.
struct PushService {
    url: String,
    received: Received,
}

impl PushService {
    async fn start() -> Self {
        use axum::extract::{Path, State};
        let received: Received = Arc::default();
        async fn take(
            State(received): State<Received>,
            Path((kind, device)): Path<(String, String)>,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> StatusCode {
            received.lock().expect("lock").push((format!("/{kind}/{device}"), headers, body.to_vec()));
            if kind == "gone" { StatusCode::GONE } else { StatusCode::CREATED }
        }
        let app = axum::Router::new().route("/{kind}/{device}", axum::routing::post(take)).with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}"), received }
    }

    fn received(&self) -> Vec<(String, HeaderMap, Vec<u8>)> {
        self.received.lock().expect("lock").clone()
    }
}

/// A browser's push keys: its P-256 key pair and 16-byte secret.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new(seed: u8) -> Self {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).expect("key");
        Self { secret, auth: [seed ^ 0x5a; 16] }
    }

    fn subscription(&self, endpoint: &str, device: &str) -> Value {
        let public = self.secret.public_key().to_encoded_point(false);
        json!({
            "endpoint": endpoint,
            "keys": { "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()), "auth": URL_SAFE_NO_PAD.encode(self.auth) },
            "device": device
        })
    }

    /// What the browser reads of a message (RFC 8291).
    fn read(&self, body: &[u8]) -> Value {
        let auth = web_push_native::Auth::from(self.auth);
        let plain =
            web_push_native::decrypt(body.to_vec(), &self.secret, &auth).expect("decrypts with the device's keys");
        serde_json::from_slice(&plain).expect("json")
    }
}

/// The push service's check of `Authorization: vapid t=…, k=…` (RFC 8292).
fn vapid_claims(headers: &HeaderMap, public_key: &str) -> Value {
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).expect("authorization");
    let rest = value.strip_prefix("vapid ").expect("vapid scheme");
    let part = |name: &str| {
        rest.split(',').map(str::trim).find_map(|p| p.strip_prefix(&format!("{name}="))).expect("part").to_owned()
    };
    assert_eq!(part("k"), public_key, "signed with the key browsers subscribed with");
    let point = URL_SAFE_NO_PAD.decode(part("k")).expect("key");
    assert_eq!((point.len(), point[0]), (65, 4), "an uncompressed P-256 point");
    let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
    let key = jsonwebtoken::DecodingKey::from_ec_components(&x, &y).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(&part("t"), &key, &validation).expect("a valid ES256 token").claims
}

/// Private hosts allowed: the receivers are on loopback.
fn loopback(config: &mut volant::platform::config::Config) {
    config.notify.push_allow_private_hosts = true;
}

crate::configured_tests!(loopback; a_moved_lesson_reaches_the_candidate_s_phone_encrypted_and_signed);

async fn a_moved_lesson_reaches_the_candidate_s_phone_encrypted_and_signed(app: TestApp) {
    let service = PushService::start().await;
    let admin = app.as_admin();
    let lea_user = app.user("lea.push@example.fr", &[Role::Candidate]).await;
    let lea = candidate(&app, json!({ "user_id": lea_user.id, "first_name": "Léa", "last_name": "Poussée" })).await;
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lesson = booked_lesson(&app, lea["id"].as_i64().unwrap(), teacher, car, &at(3, 10, 0), &at(3, 11, 0)).await;

    let phone = Browser::new(7);
    let old_laptop = Browser::new(9);
    let candidate = app.as_user(&lea_user).await;
    let key = candidate.get("/api/v1/push/key").await.json()["public_key"].as_str().unwrap().to_owned();
    let added = candidate
        .post("/api/v1/push/devices", &phone.subscription(&format!("{}/live/a1", service.url), "Android · Chrome"))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let gone = candidate
        .post("/api/v1/push/devices", &old_laptop.subscription(&format!("{}/gone/b2", service.url), "Linux · Firefox"))
        .await;
    assert_eq!(gone.status, StatusCode::CREATED, "{}", gone.text());
    let devices = candidate.get("/api/v1/push/devices").await.json();
    assert_eq!(devices.as_array().map(Vec::len), Some(2));
    // Nobody else sees or removes them.
    let other = app.user("autre.push@example.fr", &[Role::Candidate]).await;
    let stranger = app.as_user(&other).await;
    assert_eq!(stranger.get("/api/v1/push/devices").await.json(), json!([]));
    stranger.delete(&format!("/api/v1/push/devices/{}", added.json()["id"])).await.assert_status(StatusCode::NOT_FOUND);

    // The office moves the lesson: the candidate's phone hears of it.
    admin
        .put(
            &format!("/api/v1/school/lessons/{lesson}"),
            &json!({ "starts_at": at(3, 14, 0), "ends_at": at(3, 15, 0) }),
        )
        .await
        .assert_success();
    app.run_jobs().await;
    let received = service.received();
    assert_eq!(received.len(), 2, "one message per device");
    let (_, headers, body) = received.iter().find(|(path, ..)| path == "/live/a1").expect("the phone's message");
    assert_eq!(headers.get("content-encoding").map(|v| v.to_str().unwrap()), Some("aes128gcm"));
    assert_eq!(headers.get("ttl").map(|v| v.to_str().unwrap()), Some("86400"));
    let claims = vapid_claims(headers, &key);
    assert_eq!(claims["aud"], service.url, "the push service's origin");
    assert!(claims["sub"].as_str().is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https://")), "{claims}");
    let expires = claims["exp"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!((0..=24 * 3600).contains(&expires), "{expires}");
    let message = phone.read(body);
    assert!(message["title"].as_str().unwrap().starts_with("Leçon déplacée au"), "{message}");
    assert_eq!(message["url"], format!("/school/lessons/{lesson}"));
    assert!(!String::from_utf8_lossy(body).contains("Leçon"), "the push service reads nothing");

    // The push service said the laptop's subscription is gone: forgotten.
    let devices = candidate.get("/api/v1/push/devices").await.json();
    assert_eq!(
        devices.as_array().map(|d| d.iter().map(|d| d["device"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("Android · Chrome")])
    );
    assert!(devices[0]["last_sent_at"].is_string());

    // Turned off for lesson changes: nothing more reaches the phone.
    candidate
        .put(
            "/api/v1/notifications/preferences",
            &json!([{ "event": "lesson_changed", "channel": "push", "enabled": false }]),
        )
        .await
        .assert_success();
    admin
        .put(
            &format!("/api/v1/school/lessons/{lesson}"),
            &json!({ "starts_at": at(3, 16, 0), "ends_at": at(3, 17, 0) }),
        )
        .await
        .assert_success();
    app.run_jobs().await;
    assert_eq!(service.received().len(), 2);

    // A subscription the server cannot use is refused, with the field named.
    let mut broken = phone.subscription(&format!("{}/live/c3", service.url), "");
    broken["keys"]["p256dh"] = json!("AAAA");
    broken["keys"]["auth"] = json!("not base64!");
    let refused = candidate.post("/api/v1/push/devices", &broken).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["keys.auth".to_owned(), "keys.p256dh".to_owned()]);
    // Keys padded beyond reason are refused, not stored.
    let mut padded = phone.subscription(&format!("{}/live/d4", service.url), "");
    padded["keys"]["auth"] = json!(format!("{}{}", URL_SAFE_NO_PAD.encode(phone.auth), "=".repeat(300)));
    let refused = candidate.post("/api/v1/push/devices", &padded).await;
    assert_eq!(
        (refused.status, refused.error_fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["keys.auth".to_owned()])
    );
    candidate.delete(&format!("/api/v1/push/devices/{}", devices[0]["id"])).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(candidate.get("/api/v1/push/devices").await.json(), json!([]));
}

/// Without the instance's leave, a device may not name an internal address (the
/// server would post to it): an SSRF guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_address_on_the_instance_s_network_is_refused() {
    let app = TestApp::sqlite().await;
    let person = app.as_admin();
    for endpoint in [
        "http://127.0.0.1:9/push/x",
        "https://10.0.0.8/push/x",
        "http://push.example.com/x",
        "ftp://push.example.com/x",
    ] {
        let refused = person.post("/api/v1/push/devices", &Browser::new(3).subscription(endpoint, "")).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{endpoint}: {}", refused.text());
        assert_eq!(refused.error_fields(), vec!["endpoint".to_owned()], "{endpoint}");
    }
}
