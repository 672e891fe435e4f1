//! Lesson planning: every booking rule with its reason and the lesson in the way,
//! concurrent bookings of one slot (exactly one wins), moves re-checking the rules,
//! the cancellation notice, outcomes and hours, and who sees which lessons.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{at, candidate, instructor, training_car};
use crate::fixtures::urlencode;
use crate::helpers::{TestApp, json_request, send};

fn lesson(candidate: i64, instructor: i64, vehicle: i64, starts_at: &str, ends_at: &str) -> Value {
    json!({
        "candidate_id": candidate,
        "instructor_id": instructor,
        "vehicle_id": vehicle,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "meeting_point": "Devant l'école"
    })
}

async fn book(app: &TestApp, body: &Value) -> Value {
    let response = app.as_admin().post("/api/v1/school/lessons", body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

/// A refusal: its code, and the id of what is in the way if it names one.
async fn refused(app: &TestApp, body: &Value, code: &str) -> Value {
    let response = app.as_admin().post("/api/v1/school/lessons", body).await;
    response.problem(StatusCode::CONFLICT, code)
}

backend_tests!(
    each_booking_rule_says_why_and_which_lesson_is_in_the_way,
    concurrent_bookings_of_one_slot_exactly_one_wins,
    moving_a_lesson_checks_every_rule_again,
    cancelling_inside_the_notice_counts_the_lesson_as_due,
    instructors_record_outcomes_and_hours_follow,
    candidates_and_instructors_see_only_their_own_lessons
);

async fn each_booking_rule_says_why_and_which_lesson_is_in_the_way(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let other_teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let other_car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let tom = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let base = book(&app, &lesson(lea, teacher, car, &at(3, 10, 0), &at(3, 11, 0))).await;
    let base_id = base["id"].as_i64().unwrap();
    assert_eq!(base["status"], "scheduled");
    assert_eq!(base["minutes"], 60);

    // The instructor, the car, the candidate: each already taken.
    let problem =
        refused(&app, &lesson(tom, teacher, other_car, &at(3, 10, 30), &at(3, 11, 30)), "instructor_busy").await;
    assert_eq!(problem["conflicting_id"], base_id);
    // Named by its candidate (the id is in `conflicting_id`, not in the words).
    assert!(problem["detail"].as_str().unwrap().contains("une leçon avec Léa"), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("10:00"), "{problem}");
    let problem = refused(&app, &lesson(tom, other_teacher, car, &at(3, 9, 30), &at(3, 10, 30)), "vehicle_busy").await;
    assert_eq!(problem["conflicting_id"], base_id);
    let problem =
        refused(&app, &lesson(lea, other_teacher, other_car, &at(3, 10, 45), &at(3, 11, 15)), "candidate_busy").await;
    assert_eq!(problem["conflicting_id"], base_id);
    // Back to back is not an overlap.
    book(&app, &lesson(tom, teacher, car, &at(3, 11, 0), &at(3, 12, 0))).await;

    // Outside the instructor's hours, and on a day off.
    let problem =
        refused(&app, &lesson(tom, teacher, car, &at(4, 21, 30), &at(4, 22, 30)), "outside_availability").await;
    assert!(problem["detail"].as_str().unwrap().contains("06:00–22:00"), "{problem}");
    let day_off = crate::fixtures::school::school_day(5).to_string();
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "06:00", "end": "22:00" })).collect();
    let response = admin
        .put(
            &format!("/api/v1/school/instructors/{teacher}/availability"),
            &json!({
                "weekly": weekly,
                "days_off": [{ "day": day_off, "reason": "Formation" }]
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    refused(&app, &lesson(tom, teacher, car, &at(5, 10, 0), &at(5, 11, 0)), "instructor_day_off").await;

    // Categories: the car's, and what the instructor teaches.
    let moto = training_car(&app, "A").await;
    refused(&app, &lesson(tom, teacher, moto, &at(6, 10, 0), &at(6, 11, 0)), "vehicle_category").await;
    let truck_teacher = instructor(&app, &["C"]).await;
    refused(&app, &lesson(tom, truck_teacher, other_car, &at(6, 10, 0), &at(6, 11, 0)), "instructor_category").await;

    // The daily limit (2 h by default): a third hour the same day is refused.
    book(&app, &lesson(lea, other_teacher, other_car, &at(7, 8, 0), &at(7, 9, 0))).await;
    book(&app, &lesson(lea, other_teacher, other_car, &at(7, 14, 0), &at(7, 15, 0))).await;
    let problem = refused(&app, &lesson(lea, teacher, car, &at(7, 16, 0), &at(7, 17, 0)), "daily_limit").await;
    assert!(problem["detail"].as_str().unwrap().contains("2 h"), "{problem}");
    // A theory lesson does not count towards it, and needs no car.
    let theory = json!({
        "candidate_id": lea,
        "instructor_id": teacher,
        "kind": "theory",
        "starts_at": at(7, 16, 0),
        "ends_at": at(7, 17, 0)
    });
    let booked = book(&app, &theory).await;
    assert_eq!(booked["vehicle_id"], Value::Null);

    // A car whose insurance has expired stays off the road.
    let yesterday = crate::fixtures::school::school_day(-1).to_string();
    let response = admin
        .put(&format!("/api/v1/vehicles/{other_car}/service-info"), &json!({ "insurance_expiry": yesterday }))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let problem = refused(&app, &lesson(tom, teacher, other_car, &at(8, 10, 0), &at(8, 11, 0)), "vehicle_unsafe").await;
    assert!(problem["detail"].as_str().unwrap().contains("assurance"), "{problem}");
    assert!(problem["conflicting_id"].as_i64().is_some(), "{problem}");
    // A car entered at 90,000 km with no brake check on record: nobody can vouch for
    // its brakes (an alert "to check", not "overdue"), and it stays off the road too.
    let unknown = training_car(&app, "B").await;
    admin.post(&format!("/api/v1/vehicles/{unknown}/mileage"), &json!({ "mileage_km": 90_000 })).await.assert_success();
    let problem = refused(&app, &lesson(tom, teacher, unknown, &at(8, 10, 0), &at(8, 11, 0)), "vehicle_unsafe").await;
    assert!(problem["detail"].as_str().unwrap().contains("à vérifier (jamais fait ici)"), "{problem}");
    // Read in English, the reason is English too.
    let mut request = json_request(
        Method::POST,
        "/api/v1/school/lessons",
        &lesson(tom, teacher, unknown, &at(8, 10, 0), &at(8, 11, 0)),
    );
    let bearer = format!("Bearer {}", app.admin_token().await);
    request.headers_mut().insert(axum::http::header::AUTHORIZATION, bearer.parse().expect("header"));
    request.headers_mut().insert(axum::http::header::ACCEPT_LANGUAGE, "en".parse().expect("header"));
    let problem = app.anonymous().send(request).await.problem(StatusCode::CONFLICT, "vehicle_unsafe");
    assert!(
        problem["detail"].as_str().unwrap().contains("cannot be booked: tyre check to verify (never done here)"),
        "{problem}"
    );

    // A car in the workshop (an intervention under way) is off the road until it leaves.
    let in_workshop = admin
        .post(
            "/api/v1/interventions",
            &json!({
                "vehicle_id": car,
                "description": "Embrayage",
                "services": ["brakes"],
                "in_progress": true
            }),
        )
        .await;
    assert_eq!(in_workshop.status, StatusCode::CREATED, "{}", in_workshop.text());
    assert_eq!(in_workshop.json()["in_progress"], true);
    let intervention = in_workshop.json()["id"].as_i64().unwrap();
    let problem = refused(&app, &lesson(tom, teacher, car, &at(9, 10, 0), &at(9, 11, 0)), "vehicle_in_workshop").await;
    assert_eq!(problem["conflicting_id"], intervention);
    let done = admin.post(&format!("/api/v1/interventions/{intervention}/complete"), &json!({})).await;
    assert_eq!((done.status, done.json()["in_progress"].as_bool()), (StatusCode::OK, Some(false)));
    admin
        .post(&format!("/api/v1/interventions/{intervention}/complete"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "intervention_complete");
    book(&app, &lesson(tom, teacher, car, &at(9, 10, 0), &at(9, 11, 0))).await;

    // Input errors are 422s naming the field.
    let response = admin
        .post(
            "/api/v1/school/lessons",
            &json!({
                "candidate_id": tom,
                "instructor_id": teacher,
                "starts_at": at(9, 10, 0),
                "ends_at": at(9, 10, 5)
            }),
        )
        .await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = response.error_fields();
    assert!(fields.contains(&"vehicle_id".to_owned()) && fields.contains(&"ends_at".to_owned()), "{fields:?}");
    let response =
        admin.post("/api/v1/school/lessons", &lesson(999_999, teacher, car, &at(9, 10, 0), &at(9, 11, 0))).await;
    assert_eq!(response.error_fields(), vec!["candidate_id".to_owned()]);
    let response =
        admin.post("/api/v1/school/lessons", &lesson(tom, teacher, 999_999, &at(9, 10, 0), &at(9, 11, 0))).await;
    assert_eq!(response.error_fields(), vec!["vehicle_id".to_owned()]);
}

async fn concurrent_bookings_of_one_slot_exactly_one_wins(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let mut requests = Vec::new();
    for _ in 0..8 {
        let car = training_car(&app, "B").await;
        let someone = candidate(&app, json!({})).await["id"].as_i64().unwrap();
        requests.push(lesson(someone, teacher, car, &at(2, 14, 0), &at(2, 15, 0)));
    }
    // And one car wanted by several instructors at once.
    let shared_car = training_car(&app, "B").await;
    for _ in 0..4 {
        let t = instructor(&app, &["B"]).await;
        let someone = candidate(&app, json!({})).await["id"].as_i64().unwrap();
        requests.push(lesson(someone, t, shared_car, &at(2, 9, 0), &at(2, 10, 30)));
    }
    let mut tasks = Vec::new();
    for body in &requests {
        let request = admin.authorize(json_request(Method::POST, "/api/v1/school/lessons", body)).await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut by_status: std::collections::BTreeMap<(u16, String), usize> = std::collections::BTreeMap::new();
    for task in tasks {
        let response = task.await.expect("task");
        let code = if response.status == StatusCode::CREATED {
            String::new()
        } else {
            response.json()["code"].as_str().unwrap_or_default().to_owned()
        };
        *by_status.entry((response.status.as_u16(), code)).or_default() += 1;
    }
    let expected = std::collections::BTreeMap::from([
        ((201, String::new()), 2),
        ((409, "instructor_busy".to_owned()), 7),
        ((409, "vehicle_busy".to_owned()), 3),
    ]);
    assert_eq!(by_status, expected);
    let from = urlencode(&at(2, 0, 0));
    let planning = admin.get(&format!("/api/v1/school/lessons?from={from}&instructor_id={teacher}")).await.json();
    assert_eq!(planning.as_array().unwrap().len(), 1, "{planning}");
}

async fn moving_a_lesson_checks_every_rule_again(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "email": "lea@example.fr" })).await["id"].as_i64().unwrap();
    let tom = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let first = book(&app, &lesson(lea, teacher, car, &at(3, 10, 0), &at(3, 11, 0))).await["id"].as_i64().unwrap();
    let second = book(&app, &lesson(tom, teacher, car, &at(3, 14, 0), &at(3, 15, 0))).await["id"].as_i64().unwrap();
    let response = admin
        .put(
            &format!("/api/v1/school/lessons/{second}"),
            &json!({
                "starts_at": at(3, 10, 30),
                "ends_at": at(3, 11, 30)
            }),
        )
        .await;
    assert_eq!(response.problem(StatusCode::CONFLICT, "instructor_busy")["conflicting_id"], first);
    // Overlapping its own old slot is fine.
    let response = admin
        .put(
            &format!("/api/v1/school/lessons/{first}"),
            &json!({
                "starts_at": at(3, 10, 30),
                "ends_at": at(3, 11, 30)
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["starts_at"].as_str().map(|s| s.starts_with(&at(3, 10, 30)[..10])), Some(true));
    let response = admin
        .put(
            &format!("/api/v1/school/lessons/{first}"),
            &json!({
                "starts_at": at(3, 23, 0),
                "ends_at": at(3, 23, 45)
            }),
        )
        .await;
    response.problem(StatusCode::CONFLICT, "outside_availability");
    // The candidate was told of the booking and of the move.
    let outbox = crate::helpers::queued_emails(&app, 20).await;
    let subjects: Vec<&str> = outbox.iter().filter(|e| e.to == "lea@example.fr").map(|e| e.subject.as_str()).collect();
    assert!(subjects.iter().any(|s| s.starts_with("Leçon réservée")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("Leçon déplacée")), "{subjects:?}");
}

async fn cancelling_inside_the_notice_counts_the_lesson_as_due(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(
        &app,
        json!({
            "bought_minutes": 600,
            "forecast_minutes": 1500
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let early = book(&app, &lesson(lea, teacher, car, &at(10, 10, 0), &at(10, 11, 0))).await["id"].as_i64().unwrap();
    let late = book(&app, &lesson(lea, teacher, car, &at(1, 10, 0), &at(1, 11, 30))).await["id"].as_i64().unwrap();
    let response = admin.post(&format!("/api/v1/school/lessons/{early}/cancel"), &json!({ "reason": "Malade" })).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["late_cancellation"], false);
    assert_eq!(response.json()["status"], "cancelled");
    let response = admin.post(&format!("/api/v1/school/lessons/{late}/cancel"), &json!({})).await;
    assert_eq!(response.json()["late_cancellation"], true);
    // A lesson already over is recorded, not cancelled; the board offers no cancel for it.
    let sam = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let past = book(&app, &lesson(sam, teacher, car, &at(-2, 10, 0), &at(-2, 11, 0))).await["id"].as_i64().unwrap();
    let over = admin.post(&format!("/api/v1/school/lessons/{past}/cancel"), &json!({})).await;
    over.problem(StatusCode::CONFLICT, "lesson_over");
    let board = admin.get(&format!("/school/lessons/{past}")).await.text();
    assert!(!board.contains(&format!("/school/lessons/{past}/cancel")), "no cancel button for a past lesson");
    // Twice is refused.
    admin
        .post(&format!("/api/v1/school/lessons/{late}/cancel"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "lesson_not_scheduled");
    let hours = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json()["hours"].clone();
    assert_eq!(
        hours,
        json!({
            "forecast_minutes": 1500,
            "bought_minutes": 600,
            "done_minutes": 0,
            "scheduled_minutes": 0,
            "due_minutes": 90,
            "remaining_minutes": 510
        })
    );
    // A free slot again: the cancelled lesson no longer blocks it.
    book(&app, &lesson(lea, teacher, car, &at(10, 10, 0), &at(10, 11, 0))).await;
    // With no notice at all, the same cancellation is free.
    let response = admin
        .put(
            "/api/v1/school/settings",
            &json!({
                "daily_limit_minutes": 120,
                "cancellation_notice_hours": 0,
                "min_driving_minutes_for_exam": 0,
                "four_eyes": true,
                "candidates_may_book": false
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let next = book(&app, &lesson(lea, teacher, car, &at(1, 14, 0), &at(1, 15, 0))).await["id"].as_i64().unwrap();
    let response = admin.post(&format!("/api/v1/school/lessons/{next}/cancel"), &json!({})).await;
    assert_eq!(response.json()["late_cancellation"], false);
}

async fn instructors_record_outcomes_and_hours_follow(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "bought_minutes": 1200 })).await["id"].as_i64().unwrap();
    // Catching up on a lesson given yesterday (in the past and in daytime whenever the test runs),
    // and one that has not started.
    let (start, end) = (at(-1, 10, 0), at(-1, 11, 0));
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "24:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let past = book(&app, &lesson(lea, teacher, car, &start, &end)).await["id"].as_i64().unwrap();
    let future = book(&app, &lesson(lea, teacher, car, &at(4, 10, 0), &at(4, 11, 0))).await["id"].as_i64().unwrap();
    admin
        .post(&format!("/api/v1/school/lessons/{future}/outcome"), &json!({ "status": "done" }))
        .await
        .problem(StatusCode::CONFLICT, "lesson_not_started");
    let response =
        admin.post(&format!("/api/v1/school/lessons/{past}/outcome"), &json!({ "status": "cancelled" })).await;
    assert_eq!(response.error_fields(), vec!["status".to_owned()]);

    // Another instructor cannot record it; the lesson's own instructor can.
    let stranger = app.user("autre.moniteur@example.fr", &[Role::Instructor]).await;
    let stranger_file = instructor(&app, &["B"]).await;
    let mut body = admin.get(&format!("/api/v1/school/instructors/{stranger_file}")).await.json();
    body["user_id"] = json!(stranger.id);
    assert_eq!(admin.put(&format!("/api/v1/school/instructors/{stranger_file}"), &body).await.status, StatusCode::OK);
    let stranger_token =
        volant::identity::auth::issue(&app.db, &app.signing_key, &stranger, "api").await.expect("token").token;
    let request =
        json_request(Method::POST, &format!("/api/v1/school/lessons/{past}/outcome"), &json!({ "status": "done" }));
    let response = send_as(&app, &stranger_token, request).await;
    response.problem(StatusCode::NOT_FOUND, "not_found");

    let response = admin
        .post(
            &format!("/api/v1/school/lessons/{past}/outcome"),
            &json!({
                "status": "done",
                "notes": "Créneaux, insertion sur voie rapide"
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["notes"], "Créneaux, insertion sur voie rapide");
    let hours = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json()["hours"].clone();
    assert_eq!(
        (hours["done_minutes"].as_i64(), hours["scheduled_minutes"].as_i64(), hours["remaining_minutes"].as_i64()),
        (Some(60), Some(60), Some(1140))
    );
    admin
        .post(&format!("/api/v1/school/lessons/{past}/outcome"), &json!({ "status": "no_show" }))
        .await
        .problem(StatusCode::CONFLICT, "lesson_not_scheduled");
}

async fn candidates_and_instructors_see_only_their_own_lessons(app: TestApp) {
    let teacher = instructor(&app, &["B"]).await;
    let other_teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let other_car = training_car(&app, "B").await;
    let lea_user = app.user("lea.portail@example.fr", &[Role::Candidate]).await;
    let lea = candidate(&app, json!({ "user_id": lea_user.id })).await["id"].as_i64().unwrap();
    let tom = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let hers = book(&app, &lesson(lea, teacher, car, &at(2, 10, 0), &at(2, 11, 0))).await["id"].as_i64().unwrap();
    let his =
        book(&app, &lesson(tom, other_teacher, other_car, &at(2, 10, 0), &at(2, 11, 0))).await["id"].as_i64().unwrap();
    let lea_token =
        volant::identity::auth::issue(&app.db, &app.signing_key, &lea_user, "api").await.expect("token").token;

    let mine = app.with_token(&lea_token).get("/api/v1/school/lessons").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    let ids: Vec<i64> = mine.json().as_array().unwrap().iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![hers]);
    // Asking for someone else's planning still shows only hers.
    let ids: Vec<i64> = app
        .with_token(&lea_token)
        .get(&format!("/api/v1/school/lessons?candidate_id={tom}"))
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert!(ids.is_empty(), "{ids:?}");
    app.with_token(&lea_token)
        .get(&format!("/api/v1/school/lessons/{his}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.with_token(&lea_token).get(&format!("/api/v1/school/lessons/{hers}")).await.status, StatusCode::OK);
    // Nor may she read the school's files or book.
    app.with_token(&lea_token)
        .get(&format!("/api/v1/school/candidates/{tom}"))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let request =
        json_request(Method::POST, "/api/v1/school/lessons", &lesson(lea, teacher, car, &at(3, 10, 0), &at(3, 11, 0)));
    send_as(&app, &lea_token, request).await.problem(StatusCode::FORBIDDEN, "forbidden");

    // A signed-in candidate without a file sees nothing.
    let nobody = app.token_for("sans.dossier@example.fr", &[Role::Candidate]).await;
    assert_eq!(app.with_token(&nobody).get("/api/v1/school/lessons").await.json(), json!([]));
}

async fn send_as(
    app: &TestApp,
    token: &str,
    mut request: axum::http::Request<axum::body::Body>,
) -> crate::helpers::TestResponse {
    request.headers_mut().insert(axum::http::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    app.anonymous().send(request).await
}
