//! Tenant isolation of every school route, read from the OpenAPI document: another
//! organization's candidate, instructor, training vehicle or lesson is a 404 on
//! every method, bookings naming them are refused, and plannings show nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::school::{at, booked_lesson, candidate, instructor, training_car};
use crate::helpers::{TestApp, json_request};

const SCHOOL_TAGS: [&str; 5] = ["school", "school planning", "school exams", "school messages", "school reports"];

backend_tests!(another_schools_records_are_404_everywhere);

async fn another_schools_records_are_404_everywhere(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "id_document_number": "X1" })).await["id"].as_i64().unwrap();
    let lesson = booked_lesson(&app, lea, teacher, car, &at(2, 10, 0), &at(2, 11, 0)).await;

    let thread = admin
        .post(
            "/api/v1/school/threads",
            &json!({
                "candidate_id": lea,
                "subject": "Dossier",
                "body": "Pièces à fournir"
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
                "centre": "Centre",
                "seats": 5
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("session");
    let result = admin
        .post(
            "/api/v1/school/exam-results",
            &json!({
                "candidate_id": lea,
                "exam_type": "theory",
                "outcome": "passed"
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("result");
    let report = admin
        .post(
            "/api/v1/school/reports",
            &json!({
                "kind": "pass_rates",
                "format": "csv"
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("report");
    let token = app.other_org().await.token().await.to_owned();
    let as_them = |method: Method, path: &str, body: Option<&Value>| {
        let mut request = match body {
            Some(body) => json_request(method, path, body),
            None => axum::http::Request::builder()
                .method(method)
                .uri(path)
                .body(axum::body::Body::empty())
                .expect("request"),
        };
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
        crate::helpers::send(app.router.clone(), request)
    };

    let doc = admin.get("/api/openapi.json").await.json();
    let mut swept = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.contains("{id}") {
            continue;
        }
        for (method, operation) in item.as_object().expect("item") {
            let tags: Vec<&str> =
                operation["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            if !tags.iter().any(|t| SCHOOL_TAGS.contains(t)) {
                continue;
            }
            let id = if path.contains("/instructors/") {
                teacher
            } else if path.contains("/vehicles/") {
                car
            } else if path.contains("/candidates/") {
                lea
            } else if path.contains("/threads/") {
                thread
            } else if path.contains("/exam-sessions/") {
                session
            } else if path.contains("/exam-results/") {
                result
            } else if path.contains("/reports/") {
                report
            } else {
                lesson
            };
            let concrete = path.replace("{id}", &id.to_string());
            let method: Method = method.to_uppercase().parse().expect("method");
            // Bodies are read strictly: an empty one passes every route's reading,
            // so what answers is the record's lookup.
            let body = (method != Method::GET)
                .then(|| if path.ends_with("/availability") { json!({ "weekly": [] }) } else { json!({}) });
            let response = as_them(method.clone(), &concrete, body.as_ref()).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {concrete}: {}", response.text());
            swept += 1;
        }
    }
    assert!(swept >= 17, "{swept}");

    // Naming our records in a booking: unknown to them.
    let response = as_them(
        Method::POST,
        "/api/v1/school/lessons",
        Some(&json!({
            "candidate_id": lea,
            "instructor_id": teacher,
            "vehicle_id": car,
            "starts_at": at(4, 10, 0),
            "ends_at": at(4, 11, 0)
        })),
    )
    .await;
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["candidate_id", "instructor_id", "vehicle_id"]);
    // Their lists are empty.
    for path in [
        "/api/v1/school/lessons",
        "/api/v1/school/candidates",
        "/api/v1/school/instructors",
        "/api/v1/school/vehicles",
        "/api/v1/school/threads",
        "/api/v1/school/exam-sessions",
        "/api/v1/school/exam-results",
        "/api/v1/school/exam-stats",
        "/api/v1/school/reports",
    ] {
        assert_eq!(as_them(Method::GET, path, None).await.json(), json!([]), "{path}");
    }
    // And our lesson is untouched.
    assert_eq!(admin.get(&format!("/api/v1/school/lessons/{lesson}")).await.json()["status"], "scheduled");
}
