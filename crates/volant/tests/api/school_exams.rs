//! Exams: eligibility for registration, the last seat under concurrency, results
//! validated by a second person (four-eyes), immutable once validated (even to
//! SQL), corrections, what candidates see, pass rates.

use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{at, candidate, instructor};
use crate::helpers::{TestApp, json_request, send};

async fn session(app: &TestApp, kind: &str, seats: i64) -> i64 {
    let response = app
        .as_admin()
        .post(
            "/api/v1/school/exam-sessions",
            &json!({ "kind": kind, "starts_at": at(20, 8, 30), "centre": "Centre de Marseille", "seats": seats }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["id"].as_i64().unwrap()
}

async fn as_user(app: &TestApp, token: &str, method: Method, uri: &str, body: &Value) -> crate::helpers::TestResponse {
    let mut request = json_request(method, uri, body);
    request.headers_mut().insert(axum::http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    app.anonymous().send(request).await
}

backend_tests!(
    registration_checks_eligibility_and_seats,
    results_need_a_second_person_and_are_final_once_validated,
    pass_rates_count_validated_results_per_instructor
);

async fn registration_checks_eligibility_and_seats(app: TestApp) {
    let admin = app.as_admin();
    let practical = session(&app, "practical", 2).await;
    let theory = session(&app, "theory", 10).await;
    let newcomer = candidate(&app, json!({ "email": "nouveau@example.fr" })).await["id"].as_i64().unwrap();
    let uri = format!("/api/v1/school/exam-sessions/{practical}/registrations");
    admin.post(&uri, &json!({ "candidate_id": newcomer })).await.problem(StatusCode::CONFLICT, "theory_not_passed");
    let response = admin
        .post(&format!("/api/v1/school/exam-sessions/{theory}/registrations"), &json!({ "candidate_id": newcomer }))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    admin
        .post(&format!("/api/v1/school/exam-sessions/{theory}/registrations"), &json!({ "candidate_id": newcomer }))
        .await
        .problem(StatusCode::CONFLICT, "already_registered");
    let outbox = crate::helpers::queued_emails(&app, 10).await;
    assert!(
        outbox.iter().any(|e| e.to == "nouveau@example.fr"
            && e.subject.starts_with("Inscription à l'examen")
            && e.subject.contains("08:30")),
        "the school's time (Paris), even registered through the API: {outbox:?}"
    );

    // Theory passed but not enough driving (20 h by default).
    let ready = candidate(&app, json!({ "theory_status": "passed" })).await["id"].as_i64().unwrap();
    let problem =
        admin.post(&uri, &json!({ "candidate_id": ready })).await.problem(StatusCode::CONFLICT, "not_enough_driving");
    assert!(problem["detail"].as_str().unwrap().contains("20 h"), "{problem}");
    admin
        .put(
            "/api/v1/school/settings",
            &json!({
                "daily_limit_minutes": 120,
                "cancellation_notice_hours": 48,
                "min_driving_minutes_for_exam": 0,
                "four_eyes": true,
                "candidates_may_book": false
            }),
        )
        .await
        .assert_success();

    // Five eligible candidates race for two seats.
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let id = candidate(&app, json!({ "theory_status": "passed" })).await["id"].as_i64().unwrap();
        let request = admin.authorize(json_request(Method::POST, &uri, &json!({ "candidate_id": id }))).await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        statuses.push((response.status.as_u16(), response.json()["code"].as_str().map(str::to_owned)));
    }
    statuses.sort();
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 201).count(), 2, "{statuses:?}");
    assert!(
        statuses.iter().filter(|(s, _)| *s == 409).all(|(_, c)| c.as_deref() == Some("session_full")),
        "{statuses:?}"
    );
    assert_eq!(admin.get(&format!("/api/v1/school/exam-sessions/{practical}")).await.json()["registered"], 2);
    assert_eq!(admin.get(&uri).await.json().as_array().unwrap().len(), 2);
}

async fn results_need_a_second_person_and_are_final_once_validated(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let examiner = app.user("moniteur.saisie@example.fr", &[Role::Instructor]).await;
    let mut body = admin.get(&format!("/api/v1/school/instructors/{teacher}")).await.json();
    body["user_id"] = json!(examiner.id);
    admin.put(&format!("/api/v1/school/instructors/{teacher}"), &body).await.assert_success();
    let examiner_token =
        volant::identity::auth::issue(&app.db, &app.signing_key, &examiner, "api").await.unwrap().token;
    let lea_user = app.user("lea.examen@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "instructor_id": teacher,
            "email": "lea.examen@example.fr"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let lea_token = volant::identity::auth::issue(&app.db, &app.signing_key, &lea_user, "api").await.unwrap().token;

    // The instructor enters a passed theory test: pending, invisible to the candidate.
    let entered = as_user(
        &app,
        &examiner_token,
        Method::POST,
        "/api/v1/school/exam-results",
        &json!({
            "candidate_id": lea,
            "exam_type": "theory",
            "outcome": "passed",
            "score": 37
        }),
    )
    .await;
    assert_eq!(entered.status, StatusCode::CREATED, "{}", entered.text());
    let result = entered.json();
    let id = result["id"].as_i64().unwrap();
    assert_eq!((result["status"].as_str(), result["instructor_id"].as_i64()), (Some("pending"), Some(teacher)));
    assert_eq!(app.with_token(&lea_token).get("/api/v1/school/exam-results").await.json(), json!([]));
    app.with_token(&lea_token)
        .get(&format!("/api/v1/school/exam-results/{id}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    // Its author cannot validate it; the administrator can, once.
    as_user(&app, &examiner_token, Method::POST, &format!("/api/v1/school/exam-results/{id}/validate"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "four_eyes_required");
    let validated = admin.post(&format!("/api/v1/school/exam-results/{id}/validate"), &json!({})).await;
    assert_eq!(validated.status, StatusCode::OK, "{}", validated.text());
    assert_eq!(validated.json()["status"], "passed");
    assert_eq!(validated.json()["validated_by"], app.admin().await.id);
    admin
        .post(&format!("/api/v1/school/exam-results/{id}/validate"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "result_already_validated");
    // Now final: the candidate sees it, was told, and her theory is passed.
    let mine = app.with_token(&lea_token).get("/api/v1/school/exam-results").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json()["theory_status"], "passed");
    let outbox = crate::helpers::queued_emails(&app, 10).await;
    assert!(outbox.iter().any(|e| e.to == "lea.examen@example.fr" && e.subject.contains("Reçu")), "{outbox:?}");

    // Immutable even to SQL.
    for sql in [
        format!("UPDATE school_exam_results SET outcome = 'failed' WHERE id = {id}"),
        format!("DELETE FROM school_exam_results WHERE id = {id}"),
    ] {
        let refused = app.db.execute_raw(Statement::from_string(app.db.get_database_backend(), sql.clone())).await;
        assert!(refused.is_err(), "{sql}");
    }
    // The database also refuses a validation by the author behind the service's back.
    let pending = as_user(
        &app,
        &examiner_token,
        Method::POST,
        "/api/v1/school/exam-results",
        &json!({
            "candidate_id": lea,
            "exam_type": "practical",
            "outcome": "failed"
        }),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    let sql = format!(
        "UPDATE school_exam_results SET validated_by = {}, validated_at = entered_at WHERE id = {pending}",
        examiner.id
    );
    assert!(app.db.execute_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.is_err());

    // A correction is a new record, validated in turn; only one per record.
    admin
        .post(
            &format!("/api/v1/school/exam-results/{pending}/correction"),
            &json!({
                "exam_type": "practical",
                "outcome": "passed"
            }),
        )
        .await
        .problem(StatusCode::CONFLICT, "result_not_validated");
    let correction = admin
        .post(
            &format!("/api/v1/school/exam-results/{id}/correction"),
            &json!({
                "exam_type": "theory",
                "outcome": "passed",
                "score": 38
            }),
        )
        .await;
    assert_eq!(correction.status, StatusCode::CREATED, "{}", correction.text());
    assert_eq!(
        (correction.json()["corrects_id"].as_i64(), correction.json()["candidate_id"].as_i64()),
        (Some(id), Some(lea))
    );
    admin
        .post(
            &format!("/api/v1/school/exam-results/{id}/correction"),
            &json!({
                "exam_type": "theory",
                "outcome": "failed"
            }),
        )
        .await
        .problem(StatusCode::CONFLICT, "already_corrected");
    let audit =
        admin.get(&format!("/api/v1/audit?entity_type=exam_result&entity_id={}", correction.json()["id"])).await.json();
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");

    // Another candidate sees none of Léa's results.
    let tom_user = app.user("tom.examen@example.fr", &[Role::Candidate]).await;
    candidate(&app, json!({ "user_id": tom_user.id })).await;
    let tom_token = volant::identity::auth::issue(&app.db, &app.signing_key, &tom_user, "api").await.unwrap().token;
    assert_eq!(
        app.with_token(&tom_token).get(&format!("/api/v1/school/exam-results?candidate_id={lea}")).await.json(),
        json!([])
    );
    app.with_token(&tom_token)
        .get(&format!("/api/v1/school/exam-results/{id}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    // Nor may a candidate enter or validate results.
    as_user(&app, &tom_token, Method::POST, &format!("/api/v1/school/exam-results/{pending}/validate"), &json!({}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn pass_rates_count_validated_results_per_instructor(app: TestApp) {
    let admin = app.as_admin();
    let karim = instructor(&app, &["B"]).await;
    let sofia = instructor(&app, &["B"]).await;
    let entering = app.token_for("saisie@example.fr", &[Role::Instructor]).await;
    let mut ids = Vec::new();
    for (teacher, outcome) in [(karim, "passed"), (karim, "passed"), (karim, "failed"), (sofia, "failed")] {
        let c = candidate(&app, json!({ "instructor_id": teacher })).await["id"].as_i64().unwrap();
        let r = as_user(
            &app,
            &entering,
            Method::POST,
            "/api/v1/school/exam-results",
            &json!({
                "candidate_id": c,
                "exam_type": "practical",
                "outcome": outcome
            }),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    // Sofia's is still pending: it does not count yet.
    for id in &ids[..3] {
        assert_eq!(
            admin.post(&format!("/api/v1/school/exam-results/{id}/validate"), &json!({})).await.status,
            StatusCode::OK
        );
    }
    let stats = admin.get("/api/v1/school/exam-stats").await.json();
    let rows = stats.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{stats}");
    assert_eq!(
        (
            rows[0]["instructor_id"].as_i64(),
            rows[0]["passed"].as_i64(),
            rows[0]["failed"].as_i64(),
            rows[0]["rate_percent"].as_i64()
        ),
        (Some(karim), Some(2), Some(1), Some(66))
    );
    // A validated correction replaces the record it corrects.
    let fixed = admin
        .post(
            &format!("/api/v1/school/exam-results/{}/correction", ids[2]),
            &json!({
                "exam_type": "practical",
                "outcome": "passed"
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let other = app.token_for("autre.validation@example.fr", &[Role::Manager]).await;
    assert_eq!(
        as_user(&app, &other, Method::POST, &format!("/api/v1/school/exam-results/{fixed}/validate"), &json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let stats = admin.get("/api/v1/school/exam-stats").await.json();
    assert_eq!(
        (stats[0]["passed"].as_i64(), stats[0]["failed"].as_i64(), stats[0]["rate_percent"].as_i64()),
        (Some(3), Some(0), Some(100))
    );
}
