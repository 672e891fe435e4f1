//! Garages API: every endpoint and error path, on both backends.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::fixtures::fleet::vehicle_json;
use crate::helpers::TestApp;

backend_tests!(
    create_answers_201_with_location_and_resource,
    create_rejects_missing_and_blank_fields_all_at_once,
    create_rejects_too_long_name,
    list_is_a_bare_array_with_vehicle_counts,
    list_pages_with_link_header_until_exhausted,
    put_replaces_every_field,
    patch_keeps_absent_fields_and_null_clears_optional_ones,
    unknown_or_malformed_ids_are_404_problems,
    delete_answers_204_then_404,
    deleting_a_garage_with_vehicles_is_refused_and_deletes_nothing,
    garage_vehicles_lists_only_that_garage_and_searches,
    concurrent_vehicle_insert_and_garage_delete_never_orphan_a_vehicle,
    vehicle_counts_stay_exact_under_concurrent_creations_moves_and_deletions
);

async fn create_answers_201_with_location_and_resource(app: TestApp) {
    let admin = app.as_admin();
    let response = admin
        .post(
            "/api/v1/garages",
            &json!({
                "name": "  Garage du Centre ",
                "address": "12 rue de la République",
                "city": "Lyon",
                "postal_code": "69002"
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    let id = body["id"].as_i64().expect("numeric id");
    assert_eq!(response.header("location"), Some(format!("/api/v1/garages/{id}").as_str()));
    assert_eq!(body["name"], "Garage du Centre", "trimmed");
    assert_eq!(body["city"], "Lyon");
    assert_eq!(body["phone"], serde_json::Value::Null);
    assert_eq!(body["vehicle_count"], 0);

    let fetched = admin.get(&format!("/api/v1/garages/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), body);
}

async fn create_rejects_missing_and_blank_fields_all_at_once(app: TestApp) {
    let response = app.as_admin().post("/api/v1/garages", &json!({ "name": "   ", "phone": "call me" })).await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, ["address", "name", "phone"]);
}

async fn create_rejects_too_long_name(app: TestApp) {
    let response = app
        .as_admin()
        .post(
            "/api/v1/garages",
            &json!({
                "name": "x".repeat(121),
                "address": "a"
            }),
        )
        .await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.error_fields(), ["name"]);
}

async fn list_is_a_bare_array_with_vehicle_counts(app: TestApp) {
    let a = app.garage("A").await;
    let b = app.garage("B").await;
    app.vehicle(a, "AA-001-AA").await;
    app.vehicle(a, "AA-002-AA").await;
    let response = app.as_admin().get("/api/v1/garages").await;
    assert_eq!(response.status, StatusCode::OK);
    let list = response.json();
    let list = list.as_array().expect("bare array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], a);
    assert_eq!(list[0]["vehicle_count"], 2);
    assert_eq!(list[1]["id"], b);
    assert_eq!(list[1]["vehicle_count"], 0);
    assert!(response.header("link").is_none(), "no next page");
}

async fn list_pages_with_link_header_until_exhausted(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(app.garage(&format!("G{i}")).await);
    }
    let mut seen = Vec::new();
    let mut next = Some("/api/v1/garages?limit=3".to_owned());
    let mut pages = 0;
    while let Some(uri) = next {
        let response = app.as_admin().get(&uri).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        seen.extend(response.json().as_array().expect("array").iter().map(|g| g["id"].as_i64().expect("id")));
        next = response.next_link();
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
}

async fn put_replaces_every_field(app: TestApp) {
    let admin = app.as_admin();
    let response = admin
        .post(
            "/api/v1/garages",
            &json!({
                "name": "Old",
                "address": "Old street",
                "city": "Lyon",
                "phone": "0102030405"
            }),
        )
        .await;
    let id = response.json()["id"].as_i64().expect("id");
    let response = admin
        .put(
            &format!("/api/v1/garages/{id}"),
            &json!({
                "name": "New",
                "address": "New street"
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["name"], "New");
    assert_eq!(body["city"], serde_json::Value::Null, "PUT clears absent optional fields");
    assert_eq!(body["phone"], serde_json::Value::Null);

    let missing = admin.put(&format!("/api/v1/garages/{id}"), &json!({ "name": "Only name" })).await;
    missing.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(missing.error_fields(), ["address"]);
}

async fn patch_keeps_absent_fields_and_null_clears_optional_ones(app: TestApp) {
    let admin = app.as_admin();
    let response = admin
        .post(
            "/api/v1/garages",
            &json!({
                "name": "G",
                "address": "A",
                "city": "Dakar",
                "phone": "+221 33 821 00 00"
            }),
        )
        .await;
    let id = response.json()["id"].as_i64().expect("id");
    let uri = format!("/api/v1/garages/{id}");

    let patched = admin.patch(&uri, &json!({ "city": null, "name": "Garage Plateau" })).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let body = patched.json();
    assert_eq!(body["name"], "Garage Plateau");
    assert_eq!(body["city"], serde_json::Value::Null);
    assert_eq!(body["phone"], "+221 33 821 00 00", "absent field kept");
    assert_eq!(body["address"], "A");

    let cleared_required = admin.patch(&uri, &json!({ "name": null })).await;
    cleared_required.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(cleared_required.error_fields(), ["name"]);
    assert_eq!(admin.get(&uri).await.json()["name"], "Garage Plateau", "nothing changed");
}

async fn unknown_or_malformed_ids_are_404_problems(app: TestApp) {
    let admin = app.as_admin();
    admin.get("/api/v1/garages/999999").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get("/api/v1/garages/abc").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get("/api/v1/garages/-1").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get("/api/v1/garages/99999999999999999999").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin
        .put(
            "/api/v1/garages/999999",
            &json!({
                "name": "x",
                "address": "y"
            }),
        )
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    admin.patch("/api/v1/garages/999999", &json!({})).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.delete("/api/v1/garages/999999").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get("/api/v1/garages/999999/vehicles").await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn delete_answers_204_then_404(app: TestApp) {
    let admin = app.as_admin();
    let id = app.garage("Empty").await;
    let first = admin.delete(&format!("/api/v1/garages/{id}")).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    assert!(first.body.is_empty());
    admin.delete(&format!("/api/v1/garages/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get(&format!("/api/v1/garages/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn deleting_a_garage_with_vehicles_is_refused_and_deletes_nothing(app: TestApp) {
    let admin = app.as_admin();
    let id = app.garage("Full").await;
    let vehicle = app.vehicle(id, "FU-123-LL").await;
    let response = admin.delete(&format!("/api/v1/garages/{id}")).await;
    let problem = response.problem(StatusCode::CONFLICT, "garage_not_empty");
    assert!(problem["detail"].as_str().expect("detail").contains('1'), "{problem}");
    assert_eq!(admin.get(&format!("/api/v1/garages/{id}")).await.json()["vehicle_count"], 1);
    assert_eq!(admin.get(&format!("/api/v1/vehicles/{vehicle}")).await.status, StatusCode::OK);
}

async fn garage_vehicles_lists_only_that_garage_and_searches(app: TestApp) {
    let admin = app.as_admin();
    let a = app.garage("A").await;
    let b = app.garage("B").await;
    let in_a = app.vehicle(a, "AB-100-AA").await;
    app.vehicle(b, "AB-200-BB").await;
    let response = admin.get(&format!("/api/v1/garages/{a}/vehicles")).await;
    assert_eq!(response.status, StatusCode::OK);
    let ids: Vec<i64> =
        response.json().as_array().expect("array").iter().map(|v| v["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [in_a]);

    let search = admin.get(&format!("/api/v1/garages/{a}/vehicles?q=ab%20200")).await;
    assert_eq!(search.json().as_array().expect("array").len(), 0, "other garage's plate not found here");
    let search = admin.get(&format!("/api/v1/garages/{a}/vehicles?q=ab100")).await;
    assert_eq!(search.json().as_array().expect("array").len(), 1);
}

async fn concurrent_vehicle_insert_and_garage_delete_never_orphan_a_vehicle(app: TestApp) {
    let admin = app.as_admin();
    for round in 0..5 {
        let garage = app.garage(&format!("Race {round}")).await;
        let create_request = admin
            .authorize(crate::helpers::json_request(
                axum::http::Method::POST,
                "/api/v1/vehicles",
                &vehicle_json(garage, &format!("RACE-{round}")),
            ))
            .await;
        let delete_request = admin
            .authorize(
                axum::http::Request::delete(format!("/api/v1/garages/{garage}"))
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await;
        let create = tokio::spawn(crate::helpers::send(app.router.clone(), create_request));
        let delete = tokio::spawn(crate::helpers::send(app.router.clone(), delete_request));
        let (created, deleted) = (create.await.expect("task"), delete.await.expect("task"));
        match (created.status, deleted.status) {
            (StatusCode::CREATED, StatusCode::CONFLICT) => {
                assert_eq!(admin.get(&format!("/api/v1/garages/{garage}")).await.json()["vehicle_count"], 1);
            }
            (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NO_CONTENT) => {
                assert_eq!(created.error_fields(), ["garage_id"]);
            }
            other => panic!("impossible outcome {other:?}: {} / {}", created.text(), deleted.text()),
        }
    }
}

async fn vehicle_counts_stay_exact_under_concurrent_creations_moves_and_deletions(app: TestApp) {
    let admin = app.as_admin();
    let a = app.garage("A").await;
    let b = app.garage("B").await;
    let mut creations = Vec::new();
    for i in 0..16 {
        let garage = if i % 2 == 0 { a } else { b };
        let request = admin
            .authorize(crate::helpers::json_request(
                axum::http::Method::POST,
                "/api/v1/vehicles",
                &vehicle_json(garage, &format!("CNT-{i:03}")),
            ))
            .await;
        creations.push(tokio::spawn(crate::helpers::send(app.router.clone(), request)));
    }
    let mut ids = Vec::new();
    for task in creations {
        let response = task.await.expect("task");
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        ids.push((response.json()["id"].as_i64().expect("id"), response.json()["garage_id"].as_i64().expect("garage")));
    }
    // Every vehicle changes garage at once (A→B and B→A concurrently), then a few are deleted.
    let mut moves = Vec::new();
    for (id, garage) in &ids {
        let to = if *garage == a { b } else { a };
        let request = admin
            .authorize(crate::helpers::json_request(
                axum::http::Method::PATCH,
                &format!("/api/v1/vehicles/{id}"),
                &json!({ "garage_id": to }),
            ))
            .await;
        moves.push(tokio::spawn(crate::helpers::send(app.router.clone(), request)));
    }
    for task in moves {
        let response = task.await.expect("task");
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
    for (id, _) in ids.iter().take(3) {
        assert_eq!(admin.delete(&format!("/api/v1/vehicles/{id}")).await.status, StatusCode::NO_CONTENT);
    }
    for garage in [a, b] {
        let listed = admin.get(&format!("/api/v1/garages/{garage}/vehicles?limit=200")).await.json();
        let actual = listed.as_array().expect("array").len();
        let count = admin.get(&format!("/api/v1/garages/{garage}")).await.json()["vehicle_count"].as_u64();
        assert_eq!(count, Some(actual as u64), "garage {garage}'s count matches its vehicles");
    }
}
