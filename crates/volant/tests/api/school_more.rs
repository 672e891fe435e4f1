//! The candidate's and instructor's own tools: day-before reminders, private
//! calendar feeds, the competency grid, messaging with unread counts, free slots
//! and booking one's own lesson.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{at, booked_lesson, candidate, instructor, lesson, training_car};
use crate::helpers::{TestApp, TestResponse, json_request};

async fn token(app: &TestApp, user: &volant::identity::users::service::AuthUser) -> String {
    volant::identity::auth::issue(&app.db, &app.signing_key, user, "api").await.expect("token").token
}

async fn as_user(app: &TestApp, token: &str, method: Method, uri: &str, body: Option<&Value>) -> TestResponse {
    let mut request = match body {
        Some(body) => json_request(method, uri, body),
        None => Request::builder().method(method).uri(uri).body(Body::empty()).expect("request"),
    };
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    app.anonymous().send(request).await
}

/// An instructor file linked to a new account with the instructor role.
async fn instructor_account(app: &TestApp, email: &str) -> (i64, volant::identity::users::service::AuthUser) {
    let admin = app.as_admin();
    let id = instructor(app, &["B"]).await;
    let user = app.user(email, &[Role::Instructor]).await;
    let mut body = admin.get(&format!("/api/v1/school/instructors/{id}")).await.json();
    body["user_id"] = json!(user.id);
    body["email"] = json!(email);
    assert_eq!(admin.put(&format!("/api/v1/school/instructors/{id}"), &body).await.status, StatusCode::OK);
    (id, user)
}

backend_tests!(
    the_day_before_each_lesson_its_candidate_is_reminded_once,
    instructors_and_candidates_subscribe_to_a_private_revocable_calendar,
    lesson_outcomes_record_progress_on_the_competency_grid,
    messages_reach_the_other_side_and_stay_between_them,
    candidates_see_free_slots_and_book_one_when_the_school_allows_it
);

async fn the_day_before_each_lesson_its_candidate_is_reminded_once(app: TestApp) {
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "email": "rappel@example.fr" })).await["id"].as_i64().unwrap();
    let tomorrow = booked_lesson(&app, lea, teacher, car, &at(1, 14, 0), &at(1, 15, 0)).await;
    let later = booked_lesson(&app, lea, teacher, car, &at(2, 9, 0), &at(2, 10, 0)).await;
    assert!(tomorrow > 0 && later > 0);
    let reminders = volant::school::planning::reminders::send_due;
    assert_eq!(reminders(&app.db, Utc::now()).await.unwrap(), 1);
    assert_eq!(reminders(&app.db, Utc::now()).await.unwrap(), 0, "once");
    let outbox = crate::helpers::queued_emails(&app, 20).await;
    let subjects: Vec<&str> =
        outbox.iter().filter(|e| e.subject.starts_with("Rappel")).map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    // A day later, the next lesson's turn.
    assert_eq!(reminders(&app.db, Utc::now() + Duration::days(1)).await.unwrap(), 1);
    // A school that works in English tells its candidates in English.
    app.as_admin().patch("/api/v1/organization", &json!({ "locale": "en" })).await.assert_success();
    booked_lesson(&app, lea, teacher, car, &at(3, 9, 0), &at(3, 10, 0)).await;
    let outbox = crate::helpers::queued_emails(&app, 1).await;
    assert!(outbox[0].subject.starts_with("Lesson booked on"), "{:?}", outbox[0].subject);
}

async fn instructors_and_candidates_subscribe_to_a_private_revocable_calendar(app: TestApp) {
    let admin = app.as_admin();
    let (teacher, teacher_user) = instructor_account(&app, "agenda.moniteur@example.fr").await;
    let car = training_car(&app, "B").await;
    let lea_user = app.user("agenda.lea@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "first_name": "Léa",
            "last_name": "Agenda"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let booked = admin
        .post(
            "/api/v1/school/lessons",
            &json!({
                "candidate_id": lea,
                "instructor_id": teacher,
                "vehicle_id": car,
                "starts_at": at(3, 10, 0),
                "ends_at": at(3, 11, 0),
                "meeting_point": "Gare"
            }),
        )
        .await
        .json();
    let cancelled = booked_lesson(&app, lea, teacher, car, &at(4, 10, 0), &at(4, 11, 0)).await;
    admin.post(&format!("/api/v1/school/lessons/{cancelled}/cancel"), &json!({})).await.assert_success();

    let teacher_token = token(&app, &teacher_user).await;
    let feed = as_user(&app, &teacher_token, Method::POST, "/api/v1/school/calendar-feed", None).await;
    assert_eq!(feed.status, StatusCode::CREATED, "{}", feed.text());
    let url = feed.json()["url"].as_str().unwrap().to_owned();
    let path = url.split_once("/calendar/").map(|(_, rest)| format!("/calendar/{rest}")).unwrap();
    let ics = app.anonymous().send(Request::get(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(ics.status, StatusCode::OK, "{path}: {}", ics.text());
    assert!(ics.header("content-type").unwrap().starts_with("text/calendar"));
    let text = ics.text();
    assert!(text.starts_with("BEGIN:VCALENDAR"), "{text}");
    assert!(
        text.contains(&format!("UID:lesson-{}@volant", booked["id"]))
            && text.contains("Léa Agenda")
            && text.contains("LOCATION:Gare"),
        "{text}"
    );
    assert!(text.contains("STATUS:CANCELLED"), "a cancelled lesson leaves the phone's calendar: {text}");

    // The candidate's own feed shows the instructor, not herself.
    let lea_feed = as_user(&app, &token(&app, &lea_user).await, Method::POST, "/api/v1/school/calendar-feed", None)
        .await
        .json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let lea_path = lea_feed.split_once("/calendar/").map(|(_, rest)| format!("/calendar/{rest}")).unwrap();
    assert!(app.anonymous().send(Request::get(&lea_path).body(Body::empty()).unwrap()).await.text().contains("Karim"));

    // A new address revokes the old one; revoking stops it.
    let again = as_user(&app, &teacher_token, Method::POST, "/api/v1/school/calendar-feed", None).await.json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(again, url);
    assert_eq!(
        app.anonymous().send(Request::get(&path).body(Body::empty()).unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_user(&app, &teacher_token, Method::DELETE, "/api/v1/school/calendar-feed", None).await.status,
        StatusCode::NO_CONTENT
    );
    let again_path = again.split_once("/calendar/").map(|(_, rest)| format!("/calendar/{rest}")).unwrap();
    assert_eq!(
        app.anonymous().send(Request::get(&again_path).body(Body::empty()).unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.anonymous().send(Request::get("/calendar/not-a-token.ics").body(Body::empty()).unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    // The administrator has no planning of their own.
    admin.post("/api/v1/school/calendar-feed", &json!({})).await.problem(StatusCode::CONFLICT, "no_own_planning");
}

async fn lesson_outcomes_record_progress_on_the_competency_grid(app: TestApp) {
    let admin = app.as_admin();
    let (teacher, teacher_user) = instructor_account(&app, "grille@example.fr").await;
    let car = training_car(&app, "B").await;
    let lea_user = app.user("grille.lea@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "instructor_id": teacher
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "24:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let past = admin
        .post(
            "/api/v1/school/lessons",
            &lesson(
                lea,
                teacher,
                car,
                &crate::fixtures::school::at(-1, 10, 0),
                &crate::fixtures::school::at(-1, 11, 0),
            ),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let teacher_token = token(&app, &teacher_user).await;
    let bad = as_user(
        &app,
        &teacher_token,
        Method::POST,
        &format!("/api/v1/school/lessons/{past}/outcome"),
        Some(&json!({
            "status": "done",
            "progress": [{ "item": "C9z", "level": 2 }]
        })),
    )
    .await;
    assert_eq!(bad.error_fields(), vec!["progress"]);
    let done = as_user(&app, &teacher_token, Method::POST, &format!("/api/v1/school/lessons/{past}/outcome"), Some(&json!({
            "status": "done", "notes": "Démarrages en côte",
            "progress": [{ "item": "C1d", "level": 3 }, { "item": "C1c", "level": 2, "comment": "Regard à travailler" }, { "item": "C2f", "level": 1 }]
        }))).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());

    let grid = as_user(&app, &token(&app, &lea_user).await, Method::GET, "/api/v1/school/progress", None).await.json();
    assert_eq!(grid.as_array().unwrap().len(), 4);
    assert_eq!(grid[0]["code"], "C1");
    // C1: 3 + 2 of 9 items × 3 levels = 18 %.
    assert_eq!(grid[0]["percent"], 18);
    let c1c = grid[0]["items"].as_array().unwrap().iter().find(|i| i["item"] == "C1c").unwrap().clone();
    assert_eq!((c1c["level"].as_i64(), c1c["comment"].as_str()), (Some(2), Some("Regard à travailler")));
    assert_eq!(grid[1]["percent"], 4);
    // Her instructor reads it; another instructor may not.
    assert_eq!(
        as_user(&app, &teacher_token, Method::GET, &format!("/api/v1/school/progress?candidate_id={lea}"), None)
            .await
            .status,
        StatusCode::OK
    );
    let (_, stranger) = instructor_account(&app, "grille.autre@example.fr").await;
    as_user(
        &app,
        &token(&app, &stranger).await,
        Method::GET,
        &format!("/api/v1/school/progress?candidate_id={lea}"),
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn messages_reach_the_other_side_and_stay_between_them(app: TestApp) {
    let (teacher, teacher_user) = instructor_account(&app, "messages.moniteur@example.fr").await;
    let lea_user = app.user("messages.lea@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "instructor_id": teacher,
            "email": "messages.lea@example.fr"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let tom_user = app.user("messages.tom@example.fr", &[Role::Candidate]).await;
    candidate(&app, json!({ "user_id": tom_user.id })).await;
    let lea_token = token(&app, &lea_user).await;
    let teacher_token = token(&app, &teacher_user).await;

    let thread = as_user(
        &app,
        &lea_token,
        Method::POST,
        "/api/v1/school/threads",
        Some(&json!({
            "subject": "Leçon de jeudi",
            "body": "Puis-je décaler à 11 h ?"
        })),
    )
    .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.text());
    let thread_id = thread.json()["id"].as_i64().unwrap();
    assert_eq!(thread.json()["candidate_id"], lea);
    // Her instructor was told, and sees one unread message.
    let outbox = crate::helpers::queued_emails(&app, 10).await;
    assert!(
        outbox
            .iter()
            .any(|e| e.to == "messages.moniteur@example.fr" && e.subject == "Nouveau message : Leçon de jeudi"),
        "{outbox:?}"
    );
    assert_eq!(as_user(&app, &teacher_token, Method::GET, "/api/v1/school/unread", None).await.json()["unread"], 1);
    assert_eq!(
        as_user(&app, &lea_token, Method::GET, "/api/v1/school/unread", None).await.json()["unread"],
        0,
        "one's own message is read"
    );
    let list = as_user(&app, &teacher_token, Method::GET, "/api/v1/school/threads", None).await.json();
    assert_eq!((list[0]["id"].as_i64(), list[0]["unread"].as_i64()), (Some(thread_id), Some(1)));

    // Opening marks it read; the answer goes back to the candidate.
    let opened =
        as_user(&app, &teacher_token, Method::GET, &format!("/api/v1/school/threads/{thread_id}"), None).await.json();
    assert_eq!(opened["messages"][0]["body"], "Puis-je décaler à 11 h ?");
    assert_eq!(as_user(&app, &teacher_token, Method::GET, "/api/v1/school/unread", None).await.json()["unread"], 0);
    let answer = as_user(
        &app,
        &teacher_token,
        Method::POST,
        &format!("/api/v1/school/threads/{thread_id}/messages"),
        Some(&json!({ "body": "Oui, c'est noté." })),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    assert_eq!(as_user(&app, &lea_token, Method::GET, "/api/v1/school/unread", None).await.json()["unread"], 1);
    let outbox = crate::helpers::queued_emails(&app, 10).await;
    assert!(outbox.iter().any(|e| e.to == "messages.lea@example.fr"), "{outbox:?}");

    // Another candidate and another instructor see nothing of it.
    let tom_token = token(&app, &tom_user).await;
    assert_eq!(as_user(&app, &tom_token, Method::GET, "/api/v1/school/threads", None).await.json(), json!([]));
    as_user(&app, &tom_token, Method::GET, &format!("/api/v1/school/threads/{thread_id}"), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    as_user(
        &app,
        &tom_token,
        Method::POST,
        &format!("/api/v1/school/threads/{thread_id}/messages"),
        Some(&json!({ "body": "Intrus" })),
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
    let (_, other_teacher) = instructor_account(&app, "messages.autre@example.fr").await;
    let other_token = token(&app, &other_teacher).await;
    assert_eq!(as_user(&app, &other_token, Method::GET, "/api/v1/school/threads", None).await.json(), json!([]));
    let refused = as_user(
        &app,
        &other_token,
        Method::POST,
        "/api/v1/school/threads",
        Some(&json!({
            "candidate_id": lea,
            "subject": "x",
            "body": "y"
        })),
    )
    .await;
    assert_eq!(refused.error_fields(), vec!["candidate_id"]);
    // The school's staff see every thread.
    assert_eq!(app.as_admin().get("/api/v1/school/threads").await.json().as_array().unwrap().len(), 1);
    let empty = as_user(
        &app,
        &lea_token,
        Method::POST,
        "/api/v1/school/threads",
        Some(&json!({
            "subject": " ",
            "body": ""
        })),
    )
    .await;
    let mut fields = empty.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["body", "subject"]);
}

async fn candidates_see_free_slots_and_book_one_when_the_school_allows_it(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "09:00", "end": "12:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let first_car = training_car(&app, "B").await;
    let second_car = training_car(&app, "B").await;
    let lea_user = app.user("creneaux.lea@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "instructor_id": teacher
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let other = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let lea_token = token(&app, &lea_user).await;
    // Another candidate holds the instructor on day 3 at 10:00 in the first car.
    admin
        .post("/api/v1/school/lessons", &lesson(other, teacher, first_car, &at(3, 10, 0), &at(3, 11, 0)))
        .await
        .assert_success();

    let slots = as_user(&app, &lea_token, Method::GET, "/api/v1/school/free-slots", None).await.json();
    let starts: Vec<String> =
        slots.as_array().unwrap().iter().map(|s| s["starts_at"].as_str().unwrap().to_owned()).collect();
    let day3 = |h: u32| {
        chrono::DateTime::parse_from_rfc3339(&at(3, h, 0))
            .unwrap()
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let has = |h: u32| {
        starts.iter().any(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                == day3(h)
        })
    };
    assert!(has(9) && !has(10) && has(11), "{starts:?}");
    assert!(starts.len() >= 14 * 3 - 4, "three slots a day for two weeks: {}", starts.len());
    // A day off leaves no slot that day.
    let off = crate::fixtures::school::school_day(5).to_string();
    admin
        .put(
            &format!("/api/v1/school/instructors/{teacher}/availability"),
            &json!({
                "weekly": weekly,
                "days_off": [{ "day": off }]
            }),
        )
        .await
        .assert_success();
    let after = as_user(&app, &lea_token, Method::GET, "/api/v1/school/free-slots", None).await.json();
    let day5 = chrono::DateTime::parse_from_rfc3339(&at(5, 10, 0)).unwrap().date_naive();
    assert!(
        after.as_array().unwrap().iter().all(|s| chrono::DateTime::parse_from_rfc3339(
            s["starts_at"].as_str().unwrap()
        )
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
            != day5),
        "{after}"
    );
    assert_eq!(after.as_array().unwrap().len(), starts.len() - 3);

    let booking = json!({ "starts_at": at(3, 9, 0) });
    as_user(&app, &lea_token, Method::POST, "/api/v1/school/my-lessons", Some(&booking))
        .await
        .problem(StatusCode::CONFLICT, "self_booking_disabled");
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["candidates_may_book"] = json!(true);
    settings["hour_price"] = json!("52.5");
    let saved = admin.put("/api/v1/school/settings", &settings).await;
    assert_eq!(saved.json()["hour_price"], "52.50");
    // Day 3 at 10:00 the first car is taken, but the instructor too: refused on the instructor.
    as_user(&app, &lea_token, Method::POST, "/api/v1/school/my-lessons", Some(&json!({ "starts_at": at(3, 10, 0) })))
        .await
        .problem(StatusCode::CONFLICT, "instructor_busy");
    // Day 4 at 10:00 another instructor holds the first car: she gets the second.
    let other_teacher = instructor(&app, &["B"]).await;
    admin
        .post("/api/v1/school/lessons", &lesson(other, other_teacher, first_car, &at(4, 10, 0), &at(4, 11, 0)))
        .await
        .assert_success();
    let mine = as_user(
        &app,
        &lea_token,
        Method::POST,
        "/api/v1/school/my-lessons",
        Some(&json!({ "starts_at": at(4, 10, 0) })),
    )
    .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.text());
    assert_eq!(
        (mine.json()["vehicle_id"].as_i64(), mine.json()["candidate_id"].as_i64(), mine.json()["minutes"].as_i64()),
        (Some(second_car), Some(lea), Some(60))
    );
    as_user(&app, &lea_token, Method::POST, "/api/v1/school/my-lessons", Some(&json!({ "starts_at": at(-1, 10, 0) })))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}
