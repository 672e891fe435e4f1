//! No input to a school route produces a server error: hostile strings in every
//! text field, path segment and query parameter, odd numbers and dates — over the
//! school's API and pages.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::school::{at, booked_lesson, candidate, instructor, training_car};
use crate::helpers::TestApp;

const NASTY: [&str; 11] = [
    "\u{0}",
    "a\u{0}b",
    "%00",
    "'; DROP TABLE school_lessons; --",
    "\u{202e}evil",
    "😀",
    "\\",
    "%",
    "_",
    "2026-02-30",
    "9999-12-31T23:59:59+14:00",
];

fn nasty_numbers() -> Vec<Value> {
    vec![json!(-1), json!(0), json!(1e300), json!(i64::MIN), json!(u64::MAX), json!("1e30"), json!("NaN"), json!(-0.5)]
}

backend_tests!(hostile_input_never_produces_a_server_error_in_the_school);

async fn hostile_input_never_produces_a_server_error_in_the_school(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let lesson = booked_lesson(&app, lea, teacher, car, &at(2, 10, 0), &at(2, 11, 0)).await;
    let thread = admin
        .post(
            "/api/v1/school/threads",
            &json!({
                "candidate_id": lea,
                "subject": "x",
                "body": "y"
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("thread");
    let session = admin
        .post(
            "/api/v1/school/exam-sessions",
            &json!({
                "kind": "theory",
                "starts_at": at(20, 8, 0),
                "centre": "C",
                "seats": 2
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("session");
    let mut strings: Vec<String> = NASTY.iter().map(|s| (*s).to_owned()).collect();
    strings.push("é".repeat(6000));

    for s in &strings {
        let s = s.as_str();
        for (path, body) in [
            (
                "/api/v1/school/candidates".to_owned(),
                json!({
                    "first_name": s,
                    "last_name": s,
                    "number": s,
                    "email": s,
                    "phone": s,
                    "category": s,
                    "registered_on": s,
                    "theory_status": s,
                    "id_document_number": s,
                    "birth_date": s,
                    "address": s
                }),
            ),
            (
                "/api/v1/school/instructors".to_owned(),
                json!({
                    "first_name": s,
                    "last_name": s,
                    "licence_number": s,
                    "email": s,
                    "categories": [s]
                }),
            ),
            (
                "/api/v1/school/lessons".to_owned(),
                json!({
                    "candidate_id": lea,
                    "instructor_id": teacher,
                    "vehicle_id": car,
                    "kind": s,
                    "starts_at": s,
                    "ends_at": s,
                    "meeting_point": s
                }),
            ),
            (format!("/api/v1/school/lessons/{lesson}/cancel"), json!({ "reason": s })),
            (
                format!("/api/v1/school/lessons/{lesson}/outcome"),
                json!({
                    "status": s,
                    "notes": s,
                    "progress": [{ "item": s, "level": 1, "comment": s }]
                }),
            ),
            ("/api/v1/school/threads".to_owned(), json!({ "candidate_id": lea, "subject": s, "body": s })),
            (format!("/api/v1/school/threads/{thread}/messages"), json!({ "body": s })),
            (
                "/api/v1/school/exam-sessions".to_owned(),
                json!({
                    "kind": s,
                    "starts_at": s,
                    "centre": s,
                    "seats": s
                }),
            ),
            (format!("/api/v1/school/exam-sessions/{session}/registrations"), json!({ "candidate_id": s })),
            (
                "/api/v1/school/exam-results".to_owned(),
                json!({
                    "candidate_id": lea,
                    "exam_type": s,
                    "outcome": s,
                    "notes": s,
                    "taken_on": s,
                    "score": s
                }),
            ),
            ("/api/v1/school/reports".to_owned(), json!({ "kind": s, "format": s, "from": s, "to": s })),
            ("/api/v1/school/my-lessons".to_owned(), json!({ "starts_at": s })),
        ] {
            let response = admin.post(&path, &body).await;
            assert!(
                !response.status.is_server_error(),
                "POST {path} with {s:.20?}: {} {}",
                response.status,
                response.text()
            );
        }
        for (path, body) in [
            (
                format!("/api/v1/school/lessons/{lesson}"),
                json!({
                    "starts_at": s,
                    "ends_at": s,
                    "meeting_point": s
                }),
            ),
            (
                format!("/api/v1/school/instructors/{teacher}/availability"),
                json!({
                    "weekly": [{ "weekday": 1, "start": s, "end": s }],
                    "days_off": [{ "day": s, "reason": s }]
                }),
            ),
            (format!("/api/v1/school/vehicles/{car}"), json!({ "category": s })),
            (
                "/api/v1/school/settings".to_owned(),
                json!({
                    "daily_limit_minutes": 60,
                    "cancellation_notice_hours": 1,
                    "min_driving_minutes_for_exam": 0,
                    "four_eyes": true,
                    "candidates_may_book": false,
                    "hour_price": s
                }),
            ),
        ] {
            let response = admin.put(&path, &body).await;
            assert!(
                !response.status.is_server_error(),
                "PUT {path} with {s:.20?}: {} {}",
                response.status,
                response.text()
            );
        }
        if s.len() > 1000 {
            continue;
        }
        let e = percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        for uri in [
            format!("/api/v1/school/candidates?q={e}&instructor_id={e}"),
            format!("/api/v1/school/lessons?from={e}&to={e}&candidate_id={e}"),
            format!("/api/v1/school/report-data/{e}?from={e}&to={e}"),
            format!("/api/v1/school/report-data/revenue?from={e}"),
            format!("/api/v1/school/exam-stats?from={e}"),
            format!("/api/v1/school/exam-results?candidate_id={e}"),
            format!("/api/v1/school/free-slots?candidate_id={e}"),
            format!("/api/v1/school/progress?candidate_id={e}"),
            format!("/api/v1/school/candidates/{e}"),
            format!("/calendar/{e}"),
            format!("/school/planning?week={e}&instructor_id={e}&candidate_id={e}"),
            format!("/school/lessons/new?date={e}&start={e}&instructor_id={e}"),
            format!("/school/candidates?q={e}"),
            format!("/school/reports?kind={e}&from={e}&to={e}"),
            format!("/messages/new?candidate_id={e}&subject={e}"),
        ] {
            let response = admin.get(&uri).await;
            assert!(!response.status.is_server_error(), "GET {uri}: {} {}", response.status, response.text());
        }
        for (path, fields) in [
            (
                "/school/lessons".to_owned(),
                vec![("candidate_id", s), ("instructor_id", s), ("date", s), ("start", s), ("end", s), ("kind", s)],
            ),
            (format!("/school/lessons/{lesson}/move"), vec![("date", s), ("start", s), ("end", s)]),
            (format!("/school/lessons/{lesson}/outcome"), vec![("status", s), ("notes", s), ("level_C1a", s)]),
            (
                "/school/candidates".to_owned(),
                vec![
                    ("last_name", s),
                    ("first_name", s),
                    ("category", s),
                    ("bought_hours", s),
                    ("birth_date", s),
                    ("account_email", s),
                ],
            ),
            (
                "/school/instructors".to_owned(),
                vec![
                    ("last_name", s),
                    ("licence_number", s),
                    ("d1_s1", s),
                    ("d1_e1", s),
                    ("days_off", s),
                    ("account_email", s),
                ],
            ),
            ("/school/vehicles".to_owned(), vec![("plate", s), ("category", s)]),
            (
                "/school/settings".to_owned(),
                vec![("daily_limit_hours", s), ("hour_price", s), ("cancellation_notice_hours", s)],
            ),
            ("/school/exams/sessions".to_owned(), vec![("kind", s), ("date", s), ("time", s), ("seats", s)]),
            ("/school/exams/results".to_owned(), vec![("candidate_id", s), ("exam_type", s), ("score", s)]),
            ("/school/reports/files".to_owned(), vec![("kind", s), ("format", s), ("from", s)]),
            ("/messages".to_owned(), vec![("candidate_id", s), ("subject", s), ("body", s)]),
            ("/portal/request".to_owned(), vec![("starts_at", s)]),
        ] {
            let response = admin.post_form(&path, &fields).await;
            assert!(
                !response.status.is_server_error(),
                "form {path} with {s:.20?}: {} {}",
                response.status,
                response.text()
            );
        }
    }
    for n in nasty_numbers() {
        for (path, body) in [
            (
                "/api/v1/school/candidates",
                json!({
                    "first_name": "A",
                    "last_name": "B",
                    "category": "B",
                    "bought_minutes": n,
                    "forecast_minutes": n,
                    "instructor_id": n,
                    "user_id": n
                }),
            ),
            (
                "/api/v1/school/lessons",
                json!({
                    "candidate_id": n,
                    "instructor_id": n,
                    "vehicle_id": n,
                    "starts_at": at(3, 10, 0),
                    "ends_at": at(3, 11, 0)
                }),
            ),
            (
                "/api/v1/school/exam-sessions",
                json!({
                    "kind": "theory",
                    "starts_at": at(5, 8, 0),
                    "centre": "C",
                    "seats": n
                }),
            ),
            (
                "/api/v1/school/exam-results",
                json!({
                    "candidate_id": lea,
                    "exam_type": "theory",
                    "outcome": "passed",
                    "score": n,
                    "instructor_id": n
                }),
            ),
        ] {
            let response = admin.post(path, &body).await;
            assert!(
                !response.status.is_server_error(),
                "POST {path} with {n}: {} {}",
                response.status,
                response.text()
            );
        }
        let response = admin
            .put(
                "/api/v1/school/settings",
                &json!({
                    "daily_limit_minutes": n,
                    "cancellation_notice_hours": n,
                    "min_driving_minutes_for_exam": n,
                    "four_eyes": true,
                    "candidates_may_book": true,
                    "hour_price": n
                }),
            )
            .await;
        assert!(!response.status.is_server_error(), "settings {n}: {}", response.text());
        let response = admin
            .put(
                &format!("/api/v1/school/instructors/{teacher}/availability"),
                &json!({ "weekly": [{ "weekday": n, "start": "08:00", "end": "09:00" }] }),
            )
            .await;
        assert!(!response.status.is_server_error(), "availability {n}: {}", response.text());
    }
    for body in ["null", "[]", "\"x\"", "1e999", &"[".repeat(10_000)] {
        for path in ["/api/v1/school/candidates", "/api/v1/school/lessons", "/api/v1/school/threads"] {
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .expect("request");
            let response = admin.send(request).await;
            assert!(response.status.is_client_error(), "{path} {body:.20}: {} {}", response.status, response.text());
        }
    }
}
