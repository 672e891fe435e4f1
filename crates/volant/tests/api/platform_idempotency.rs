//! `Idempotency-Key` on writes: what the phone's queue sends again and again is
//! applied once, whether it comes through the API or a page's form.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{at, booked_lesson, candidate, instructor, training_car};
use crate::helpers::{TEST_CSRF, TestApp, TestResponse, json_request, send};

backend_tests!(
    a_reading_sent_again_with_its_key_is_recorded_once_and_answered_alike,
    one_key_sent_by_many_at_once_runs_once,
    a_lesson_report_queued_on_the_phone_is_recorded_once_however_often_it_arrives,
);

fn keyed(mut request: Request<Body>, key: &str) -> Request<Body> {
    request.headers_mut().insert("idempotency-key", key.parse().expect("header"));
    request
}

async fn readings(app: &TestApp, vehicle: i64) -> Vec<i64> {
    let list = app.as_admin().get(&format!("/api/v1/vehicles/{vehicle}/mileage")).await.json();
    list.as_array().expect("readings").iter().map(|r| r["mileage_km"].as_i64().expect("km")).collect()
}

async fn a_reading_sent_again_with_its_key_is_recorded_once_and_answered_alike(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage des retours").await;
    let vehicle = app.vehicle(garage, "ID-100-AA").await;
    let uri = format!("/api/v1/vehicles/{vehicle}/mileage");
    let reading = |km: i64, key: &str| keyed(json_request(Method::POST, &uri, &json!({ "mileage_km": km })), key);

    let first = admin.send(reading(90_000, "phone-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = admin.send(reading(90_000, "phone-1")).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json(), "the first answer, given again");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(readings(&app, vehicle).await, vec![90_000], "recorded once");

    // The same key for another request is the client's mistake, said as such.
    let other = admin.send(reading(91_000, "phone-1")).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", other.text());
    assert_eq!(other.error_fields(), vec!["Idempotency-Key".to_owned()]);
    // Keys are each person's own.
    let mechanic = app.as_role(Role::Staff).await;
    let theirs = mechanic.send(reading(92_000, "phone-1")).await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text());
    assert_eq!(theirs.header("idempotent-replayed"), None);
    // A key no client could mean; without credentials, the credentials come first.
    for bad in ["", "with space", &"k".repeat(256)] {
        let refused = admin.send(reading(93_000, bad)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {}", refused.text());
        let anonymous = app.anonymous().send(reading(93_000, bad)).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{bad:?}: {}", anonymous.text());
        // A method the address does not take stays a 405, whatever the key.
        for method in [Method::PUT, Method::TRACE] {
            let mut request = reading(93_000, bad);
            *request.method_mut() = method.clone();
            let other = admin.send(request).await;
            assert_eq!(other.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {bad:?}: {}", other.text());
        }
    }
    // A refusal that says what became of the request is given again too.
    let lower = admin.send(reading(10, "phone-2")).await;
    assert_eq!(lower.status, StatusCode::CONFLICT, "{}", lower.text());
    let lower_again = admin.send(reading(10, "phone-2")).await;
    assert_eq!((lower_again.status, lower_again.header("idempotent-replayed")), (StatusCode::CONFLICT, Some("true")));
    assert_eq!(readings(&app, vehicle).await, vec![90_000, 92_000]);

    // Kept a day: then the key is free again.
    let pruned = volant::platform::http::idempotency::prune(&app.db, chrono::Utc::now() + chrono::Duration::hours(25))
        .await
        .expect("prune");
    assert!(pruned >= 3, "{pruned}");
    let later = admin.send(reading(95_000, "phone-1")).await;
    assert_eq!((later.status, later.header("idempotent-replayed")), (StatusCode::CREATED, None));
}

async fn one_key_sent_by_many_at_once_runs_once(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage des rafales").await;
    let vehicle = app.vehicle(garage, "ID-200-AA").await;
    let uri = format!("/api/v1/vehicles/{vehicle}/mileage");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let request =
            admin.authorize(keyed(json_request(Method::POST, &uri, &json!({ "mileage_km": 40_000 })), "burst")).await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut created = 0;
    for task in tasks {
        let response: TestResponse = task.await.expect("task");
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(response.header("retry-after"), Some("1"));
                response.problem(StatusCode::CONFLICT, "idempotency_in_progress");
            }
            other => panic!("{other}: {}", response.text()),
        }
    }
    assert!(created >= 1);
    assert_eq!(readings(&app, vehicle).await, vec![40_000], "applied once");
}

async fn a_lesson_report_queued_on_the_phone_is_recorded_once_however_often_it_arrives(app: TestApp) {
    let admin = app.as_admin();
    let teacher_user = app.user("moniteur.horsligne@example.fr", &[Role::Instructor]).await;
    let teacher = instructor(&app, &["B"]).await;
    let mut body = admin.get(&format!("/api/v1/school/instructors/{teacher}")).await.json();
    body["user_id"] = json!(teacher_user.id);
    admin.put(&format!("/api/v1/school/instructors/{teacher}"), &body).await.assert_success();
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Réseau" })).await["id"].as_i64().unwrap();
    let lesson = booked_lesson(&app, lea, teacher, car, &at(-1, 10, 0), &at(-1, 11, 0)).await;
    let session = volant::identity::auth::issue(&app.db, &app.signing_key, &teacher_user, "web").await.unwrap().token;
    let token = app.csrf_for(&session);
    let notes = "Créneau 1\nligne 2 : rond-point 🚗";
    let uri = format!("/school/lessons/{lesson}/outcome");
    // As the page sends it (its token in the form), then as the phone's queue
    // sends it again (the token of the page open then, in a header).
    let from_page = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("status", "done"),
        ("notes", &notes.replace('\n', "\r\n")),
        ("level_C1a", "2"),
    ])
    .unwrap();
    let from_queue = serde_urlencoded::to_string([("status", "done"), ("notes", notes), ("level_C1a", "2")])
        .unwrap()
        .replace('+', "%20");
    let post = |body: String, in_header: bool| {
        let mut request = Request::post(&uri)
            .header(header::COOKIE, format!("volant_session={session}; volant_csrf={TEST_CSRF}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("idempotency-key", "3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7");
        if in_header {
            request = request.header("x-csrf-token", token.as_str());
        }
        request.body(Body::from(body)).unwrap()
    };
    let first = app.anonymous().send(post(from_page, false)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    let location = format!("/school/lessons/{lesson}");
    assert_eq!(first.header("location"), Some(location.as_str()));
    for _ in 0..2 {
        let again = app.anonymous().send(post(from_queue.clone(), true)).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
        assert_eq!(
            (again.header("location"), again.header("idempotent-replayed")),
            (Some(location.as_str()), Some("true"))
        );
        assert!(again.header("set-cookie").is_none(), "no message nor session given again");
    }
    let recorded: Value = admin.get(&format!("/api/v1/school/lessons/{lesson}")).await.json();
    assert_eq!(recorded["status"], "done");
    assert_eq!(recorded["notes"].as_str().map(|n| n.replace("\r\n", "\n")), Some(notes.to_owned()));
    let history = admin.get(&format!("/api/v1/audit?entity_type=lesson&entity_id={lesson}")).await;
    let changes = history
        .json()
        .as_array()
        .map_or(0, |rows| rows.iter().filter(|r| r["changes"]["status"] == json!(["scheduled", "done"])).count());
    assert_eq!(changes, 1, "one report in the audit trail: {}", history.text());
    // Without its key, the same report a second time is refused: the lesson is no longer scheduled.
    let unkeyed = app
        .anonymous()
        .send(
            Request::post(&uri)
                .header(header::COOKIE, format!("volant_session={session}; volant_csrf={TEST_CSRF}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-csrf-token", token.as_str())
                .body(Body::from("status=done"))
                .unwrap(),
        )
        .await;
    assert_eq!(unkeyed.status, StatusCode::CONFLICT, "{}", unkeyed.text());
}
