//! Vehicles API: every endpoint and error path, and the plate invariant under
//! real concurrency, on both backends.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Datelike;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::fleet::vehicle_json;
use crate::helpers::{TestApp, json_request, send};

fn ids(response: &crate::helpers::TestResponse) -> Vec<i64> {
    response.json().as_array().expect("bare array").iter().map(|v| v["id"].as_i64().expect("id")).collect()
}

backend_tests!(
    create_answers_201_with_location_and_keeps_plate_as_entered,
    the_seed_front_end_payload_works_unchanged,
    duplicate_plate_after_normalization_is_409_naming_plate_and_garage,
    twenty_simultaneous_creations_of_one_plate_give_one_201,
    validation_errors_name_each_field,
    missing_required_fields_are_all_reported,
    body_errors_are_400_413_415_problems,
    unknown_fields_are_refused_by_name_but_read_only_ones_pass,
    search_matches_plate_ignoring_separators_brand_and_model,
    search_by_prefix_merges_ways_of_matching_and_survives_many_distinct_values,
    pagination_follows_link_headers_and_validates_parameters,
    default_page_is_fifty,
    put_replaces_and_moves_between_garages,
    patch_changes_only_given_fields,
    changing_a_plate_to_a_taken_one_is_409,
    duplicate_vin_is_409,
    delete_answers_204_then_404,
    a_delete_with_a_json_content_type_or_none_is_never_415
);

async fn create_answers_201_with_location_and_keeps_plate_as_entered(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let body = json!({
        "garage_id": garage, "brand": "Peugeot", "model": "208", "year": 2021,
        "license_plate": " ab-123  cd ", "vin": "vf3abcdefgh123456", "mileage_km": 42000,
        "fuel_type": "diesel", "color": "Gris"
    });
    let response = admin.post("/api/v1/vehicles", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let created = response.json();
    let id = created["id"].as_i64().expect("id");
    assert_eq!(response.header("location"), Some(format!("/api/v1/vehicles/{id}").as_str()));
    assert_eq!(created["license_plate"], "ab-123 cd");
    assert_eq!(created["vin"], "VF3ABCDEFGH123456");
    assert_eq!(created["fuel_type"], "diesel");
    assert_eq!(created["mileage_km"], 42000);
    assert_eq!(admin.get(&format!("/api/v1/vehicles/{id}")).await.json(), created);
}

async fn the_seed_front_end_payload_works_unchanged(app: TestApp) {
    let admin = app.as_admin();
    // The seed's React app posts exactly these fields, with numbers as numbers.
    let garage = app.garage("Seed").await;
    let response = admin
        .post(
            "/api/v1/vehicles",
            &json!({
                "brand": "Toyota",
                "model": "Hilux",
                "year": 2015,
                "license_plate": "DK-4521-AB",
                "garage_id": garage
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let list = admin.get(&format!("/api/v1/garages/{garage}/vehicles")).await;
    assert_eq!(list.json()[0]["license_plate"], "DK-4521-AB");
}

async fn duplicate_plate_after_normalization_is_409_naming_plate_and_garage(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let other = app.garage("Autre").await;
    let holder = app.vehicle(garage, "AB-123-CD").await;
    for variant in ["AB-123-CD", "ab 123 cd", "AB123CD", "a-b-1-2-3-c-d"] {
        let response = admin.post("/api/v1/vehicles", &vehicle_json(other, variant)).await;
        let problem = response.problem(StatusCode::CONFLICT, "duplicate_plate");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("AB-123-CD") && detail.contains("Garage du Centre"), "{detail}");
        assert_eq!(problem["conflicting_id"], holder, "the vehicle in the way");
    }
    assert_eq!(ids(&admin.get("/api/v1/vehicles").await).len(), 1);
}

async fn twenty_simultaneous_creations_of_one_plate_give_one_201(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Race").await;
    let variants = ["EF-456-GH", "ef-456-gh", "EF 456 GH", "EF456GH"];
    let requests: Vec<_> = (0..20)
        .map(|i| json_request(Method::POST, "/api/v1/vehicles", &vehicle_json(garage, variants[i % variants.len()])))
        .collect();
    let mut tasks = Vec::new();
    for request in requests {
        let request = admin.authorize(request).await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        let response = task.await.expect("task");
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                response.problem(StatusCode::CONFLICT, "duplicate_plate");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", response.text()),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    assert_eq!(ids(&admin.get("/api/v1/vehicles").await).len(), 1);
}

async fn validation_errors_name_each_field(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let next_year = chrono::Utc::now().year() + 1;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "year": 1885 }), "year"),
        (json!({ "year": next_year + 1 }), "year"),
        (json!({ "brand": "  " }), "brand"),
        (json!({ "model": "" }), "model"),
        (json!({ "license_plate": "" }), "license_plate"),
        (json!({ "license_plate": "AB_12*" }), "license_plate"),
        (json!({ "garage_id": 987_654 }), "garage_id"),
        (json!({ "vin": "SHORT" }), "vin"),
        (json!({ "vin": "VF3ABCDEFGH12345O" }), "vin"),
        (json!({ "mileage_km": -5 }), "mileage_km"),
        (json!({ "fuel_type": "steam" }), "fuel_type"),
        (json!({ "garage_id": "1" }), "garage_id"),
        (json!({ "year": "2019" }), "year"),
        (json!({ "year": 2019.5 }), "year"),
        (json!({ "brand": "B".repeat(61) }), "brand"),
    ];
    for (overrides, field) in cases {
        let mut body = vehicle_json(garage, "ZZ-999-ZZ");
        for (k, v) in overrides.as_object().expect("object") {
            body[k] = v.clone();
        }
        let response = admin.post("/api/v1/vehicles", &body).await;
        response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(response.error_fields(), [field], "{body}: {}", response.text());
    }
    let year_ok = admin
        .post(
            "/api/v1/vehicles",
            &json!({
                "garage_id": garage,
                "brand": "B",
                "model": "M",
                "year": next_year,
                "license_plate": "NEXT-YEAR"
            }),
        )
        .await;
    assert_eq!(year_ok.status, StatusCode::CREATED, "next year is a valid model year");
    let first = admin
        .post(
            "/api/v1/vehicles",
            &json!({
                "garage_id": garage,
                "brand": "Benz",
                "model": "Patent-Motorwagen",
                "year": 1886,
                "license_plate": "BENZ-1886"
            }),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
}

async fn missing_required_fields_are_all_reported(app: TestApp) {
    let response = app.as_admin().post("/api/v1/vehicles", &json!({})).await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, ["brand", "garage_id", "license_plate", "model", "year"]);
}

async fn body_errors_are_400_413_415_problems(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let malformed = Request::post("/api/v1/vehicles")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"brand\": "))
        .expect("request");
    admin.send(malformed).await.problem(StatusCode::BAD_REQUEST, "bad_request");
    let trailing = Request::post("/api/v1/vehicles")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{} {}"))
        .expect("request");
    admin.send(trailing).await.problem(StatusCode::BAD_REQUEST, "bad_request");
    let empty = Request::post("/api/v1/vehicles")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::empty())
        .expect("request");
    admin.send(empty).await.problem(StatusCode::BAD_REQUEST, "bad_request");
    let no_type = Request::post("/api/v1/vehicles")
        .body(Body::from(vehicle_json(garage, "AA-111-AA").to_string()))
        .expect("request");
    admin.send(no_type).await.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let text = Request::post("/api/v1/vehicles")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .expect("request");
    admin.send(text).await.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let huge = json!({ "garage_id": garage, "brand": "x".repeat(1024 * 1024 + 10) });
    admin.post("/api/v1/vehicles", &huge).await.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let wrong_shape = admin.post("/api/v1/vehicles", &json!([1, 2])).await;
    wrong_shape.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let with_charset = Request::post("/api/v1/vehicles")
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(vehicle_json(garage, "CH-123-AR").to_string()))
        .expect("request");
    assert_eq!(admin.send(with_charset).await.status, StatusCode::CREATED);
    assert_eq!(ids(&admin.get("/api/v1/vehicles").await).len(), 1, "nothing else was written");
}

async fn unknown_fields_are_refused_by_name_but_read_only_ones_pass(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let mut body = vehicle_json(garage, "UN-KNO-WN");
    body["owner"] = json!("someone");
    body["brnad"] = json!("Renault");
    let refused = admin.post("/api/v1/vehicles", &body).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.error_fields(), ["brnad", "owner"], "a misspelt field is not silently dropped");
    assert_eq!(admin.get("/api/v1/vehicles?q=UNKNOWN").await.json(), json!([]), "nothing created");
    // What GET answered can be sent back: its id and timestamps are the server's.
    let created = admin.post("/api/v1/vehicles", &vehicle_json(garage, "UN-KNO-WN")).await.json();
    let mut read = admin.get(&format!("/api/v1/vehicles/{}", created["id"])).await.json();
    read["model"] = json!("Mégane");
    read["id"] = json!(424_242);
    let id = created["id"].as_i64().expect("id");
    let mut put = json!({});
    for field in ["garage_id", "brand", "model", "year", "license_plate", "id", "created_at", "updated_at"] {
        put[field] = read[field].clone();
    }
    let saved = admin.put(&format!("/api/v1/vehicles/{id}"), &put).await;
    saved.assert_status(StatusCode::OK);
    assert_eq!((saved.json()["id"].as_i64(), saved.json()["model"].as_str()), (Some(id), Some("Mégane")));
    // A number written with a zero fraction is an integer (JSON does not tell them apart).
    let patched = admin.patch(&format!("/api/v1/vehicles/{id}"), &json!({ "mileage_km": 116_180.0 })).await;
    patched.assert_status(StatusCode::OK);
    assert_eq!(patched.json()["mileage_km"], 116_180);
    let fraction = admin.patch(&format!("/api/v1/vehicles/{id}"), &json!({ "mileage_km": 116_180.5 })).await;
    assert_eq!(fraction.error_fields(), ["mileage_km"]);
    // Read again as integers, the body's next fault is the one named.
    let next =
        admin.patch(&format!("/api/v1/vehicles/{id}"), &json!({ "mileage_km": 116_180.0, "year": "vieux" })).await;
    assert_eq!(next.error_fields(), ["year"]);
    // Bytes that are not UTF-8 are not JSON.
    let request = axum::http::Request::post("/api/v1/vehicles")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(b"{\"brand\": \"Peugeot\", \"x\": \"\xff\xfe\"}".to_vec()))
        .expect("request");
    admin.send(request).await.problem(StatusCode::BAD_REQUEST, "bad_request");
    // A record is an object: an array of its fields in order is not one.
    let array =
        admin.put(&format!("/api/v1/vehicles/{id}"), &json!([garage, "Renault", "Clio", 2019, "AR-RAY-01"])).await;
    array.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let info = admin.put(&format!("/api/v1/vehicles/{id}/service-info"), &json!([null, null])).await;
    info.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // `limit` is an integer: empty is not one.
    assert_eq!(admin.get("/api/v1/vehicles?limit=").await.error_fields(), ["limit"]);
    // A filter's id may be empty (a form's blank choice: no filter), never anything else.
    assert_eq!(admin.get("/api/v1/vehicles?garage_id=").await.status, StatusCode::OK);
    assert_eq!(admin.get("/api/v1/vehicles?garage_id=%201").await.error_fields(), ["garage_id"]);
}

async fn search_matches_plate_ignoring_separators_brand_and_model(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let clio = app.vehicle(garage, "AB-123-CD").await;
    let hilux = admin
        .post(
            "/api/v1/vehicles",
            &json!({
                "garage_id": garage,
                "brand": "Toyota",
                "model": "Hilux",
                "year": 2015,
                "license_plate": "DK 4521 AB"
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=ab123").await), [clio]);
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=a%20b-1").await), [clio], "a plate's beginning, any separators");
    assert!(ids(&admin.get("/api/v1/vehicles?q=B-12").await).is_empty(), "prefixes, not substrings");
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=dk-4521").await), [hilux]);
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=toyo").await), [hilux]);
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=HILUX").await), [hilux]);
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=clio").await), [clio]);
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=").await), [clio, hilux]);
    assert!(ids(&admin.get("/api/v1/vehicles?q=%25").await).is_empty(), "LIKE wildcard is literal");
    assert!(ids(&admin.get("/api/v1/vehicles?q=_").await).is_empty(), "LIKE wildcard is literal");
    assert_eq!(ids(&admin.get(&format!("/api/v1/vehicles?garage_id={garage}&q=toyota")).await), [hilux]);
    assert_eq!(
        admin
            .get("/api/v1/vehicles?garage_id=abc")
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")["errors"][0]["field"],
        "garage_id"
    );
}

async fn search_by_prefix_merges_ways_of_matching_and_survives_many_distinct_values(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let mut expected = Vec::new();
    // More distinct models sharing a prefix than the search enumerates one by one.
    for i in 0..24 {
        let body = json!({
            "garage_id": garage,
            "brand": "Alpine",
            "model": format!("A{i:03}"),
            "year": 2020,
            "license_plate": format!("AL-{i:03}-PN")
        });
        expected.push(admin.post("/api/v1/vehicles", &body).await.json()["id"].as_i64().expect("id"));
    }
    // Plate, brand and model all start with "a": each vehicle is listed once, in id order.
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=a&limit=200").await), expected);
    assert_eq!(ids(&admin.get("/api/v1/vehicles?q=A01&limit=200").await), expected[10..20]);
    let first = admin.get("/api/v1/vehicles?q=alp&limit=10").await;
    assert_eq!(ids(&first), expected[..10]);
    let second = admin.get(&first.next_link().expect("next page")).await;
    assert_eq!(ids(&second), expected[10..20]);
}

async fn pagination_follows_link_headers_and_validates_parameters(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let mut expected = Vec::new();
    for i in 0..5 {
        expected.push(app.vehicle(garage, &format!("PG-{i:03}-AA")).await);
    }
    let first = admin.get("/api/v1/vehicles?limit=2&q=pg").await;
    assert_eq!(ids(&first), expected[..2]);
    let link = first.header("link").expect("link header");
    assert!(link.starts_with("<http://"), "absolute URL: {link}");
    let next = first.next_link().expect("next");
    assert!(next.contains("q=pg") && next.contains("limit=2"), "{next}");

    // Rows inserted between two pages neither shift nor repeat the next page.
    let late = app.vehicle(garage, "PG-LATE-AA").await;
    let second = admin.get(&next).await;
    assert_eq!(ids(&second), expected[2..4]);
    let third = admin.get(&second.next_link().expect("next")).await;
    assert_eq!(ids(&third), [expected[4], late]);
    assert!(third.next_link().is_none());

    for bad in ["limit=0", "limit=201", "limit=abc", "cursor=zzz", "cursor=i-1"] {
        admin
            .get(&format!("/api/v1/vehicles?{bad}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    assert_eq!(ids(&admin.get("/api/v1/vehicles?limit=200").await).len(), 6);
    assert_eq!(ids(&admin.get("/api/v1/vehicles").await).len(), 6, "default limit 50");
}

async fn default_page_is_fifty(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    for i in 0..51 {
        app.vehicle(garage, &format!("DF-{i:03}-AA")).await;
    }
    let first = admin.get("/api/v1/vehicles").await;
    assert_eq!(ids(&first).len(), 50);
    let second = admin.get(&first.next_link().expect("next page")).await;
    assert_eq!(ids(&second).len(), 1);
}

async fn put_replaces_and_moves_between_garages(app: TestApp) {
    let admin = app.as_admin();
    let a = app.garage("A").await;
    let b = app.garage("B").await;
    let response = admin
        .post(
            "/api/v1/vehicles",
            &json!({
                "garage_id": a,
                "brand": "Renault",
                "model": "Clio",
                "year": 2019,
                "license_plate": "MV-001-AA",
                "color": "Rouge",
                "mileage_km": 1000
            }),
        )
        .await;
    let id = response.json()["id"].as_i64().expect("id");
    let moved = admin
        .put(
            &format!("/api/v1/vehicles/{id}"),
            &json!({
                "garage_id": b,
                "brand": "Renault",
                "model": "Clio V",
                "year": 2020,
                "license_plate": "MV-001-AA"
            }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    let body = moved.json();
    assert_eq!(body["garage_id"], b);
    assert_eq!(body["model"], "Clio V");
    assert_eq!(body["color"], Value::Null, "PUT clears absent optional fields");
    assert_eq!(body["mileage_km"], Value::Null);
    assert_eq!(admin.get(&format!("/api/v1/garages/{a}")).await.json()["vehicle_count"], 0);
    assert_eq!(admin.get(&format!("/api/v1/garages/{b}")).await.json()["vehicle_count"], 1);

    let incomplete = admin.put(&format!("/api/v1/vehicles/{id}"), &json!({ "garage_id": b })).await;
    incomplete.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    admin
        .put("/api/v1/vehicles/999999", &vehicle_json(a, "XX-000-XX"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn patch_changes_only_given_fields(app: TestApp) {
    let admin = app.as_admin();
    let a = app.garage("A").await;
    let b = app.garage("B").await;
    let response = admin
        .post(
            "/api/v1/vehicles",
            &json!({
                "garage_id": a,
                "brand": "Renault",
                "model": "Clio",
                "year": 2019,
                "license_plate": "PT-001-AA",
                "color": "Rouge"
            }),
        )
        .await;
    let id = response.json()["id"].as_i64().expect("id");
    let uri = format!("/api/v1/vehicles/{id}");
    let patched = admin.patch(&uri, &json!({ "mileage_km": 12345, "color": null })).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let body = patched.json();
    assert_eq!(body["mileage_km"], 12345);
    assert_eq!(body["color"], Value::Null);
    assert_eq!(body["brand"], "Renault");
    assert_eq!(body["license_plate"], "PT-001-AA");

    let moved = admin.patch(&uri, &json!({ "garage_id": b })).await;
    assert_eq!(moved.json()["garage_id"], b);
    let unknown = admin.patch(&uri, &json!({ "garage_id": 999_999 })).await;
    unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(unknown.error_fields(), ["garage_id"]);
    let null_required = admin.patch(&uri, &json!({ "year": null })).await;
    assert_eq!(null_required.error_fields(), ["year"]);
    assert_eq!(admin.get(&uri).await.json()["garage_id"], b, "refused changes left it alone");
}

async fn changing_a_plate_to_a_taken_one_is_409(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    app.vehicle(garage, "TA-001-KN").await;
    let other = app.vehicle(garage, "TA-002-KN").await;
    let response = admin.patch(&format!("/api/v1/vehicles/{other}"), &json!({ "license_plate": "ta 001 kn" })).await;
    response.problem(StatusCode::CONFLICT, "duplicate_plate");
    let same = admin.patch(&format!("/api/v1/vehicles/{other}"), &json!({ "license_plate": "ta-002-kn" })).await;
    assert_eq!(same.status, StatusCode::OK, "re-typing its own plate is fine");
    assert_eq!(same.json()["license_plate"], "ta-002-kn");
}

async fn duplicate_vin_is_409(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let mut first = vehicle_json(garage, "VI-001-NN");
    first["vin"] = json!("WVWZZZ1JZXW000001");
    let created = admin.post("/api/v1/vehicles", &first).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let mut second = vehicle_json(garage, "VI-002-NN");
    second["vin"] = json!("wvwzzz1jzxw000001");
    let problem = admin.post("/api/v1/vehicles", &second).await.problem(StatusCode::CONFLICT, "duplicate_vin");
    assert_eq!(problem["conflicting_id"], created.json()["id"], "the vehicle in the way");
}

async fn delete_answers_204_then_404(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let id = app.vehicle(garage, "DE-LET-ED").await;
    let response = admin.delete(&format!("/api/v1/vehicles/{id}")).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    admin.delete(&format!("/api/v1/vehicles/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get(&format!("/api/v1/vehicles/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
    // The plate is free again.
    app.vehicle(garage, "DE-LET-ED").await;
}

async fn a_delete_with_a_json_content_type_or_none_is_never_415(app: TestApp) {
    let garage = app.garage("G").await;
    let id = app.vehicle(garage, "NO-415-AA").await;
    let request = Request::delete(format!("/api/v1/vehicles/{id}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.as_admin().send(request).await.status, StatusCode::NO_CONTENT);
}

backend_tests!(hostile_input_never_produces_a_server_error);

async fn hostile_input_never_produces_a_server_error(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "HO-123-ST").await;
    let nasty_strings = [
        "%ZZ",
        "\u{0}",
        "a\u{0}b",
        "%00",
        "'; DROP TABLE vehicles; --",
        "\u{202e}evil",
        "😀",
        &"é".repeat(300),
        "\\",
        "%",
        "_",
    ];
    for s in nasty_strings {
        let encoded = serde_urlencoded::to_string([("q", s)]).expect("encode");
        for uri in [
            format!("/api/v1/vehicles?{encoded}"),
            format!("/api/v1/garages/{garage}/vehicles?{encoded}"),
            format!("/vehicles?{encoded}"),
            format!("/garages/{garage}?{encoded}"),
        ] {
            let response = admin.get(&uri).await;
            if s.contains('\0') {
                // No one types a NUL: the parameter holding one is refused, named.
                assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {}", response.text());
                if uri.starts_with("/api/") {
                    assert_eq!(response.json()["errors"][0]["field"], "q", "{uri}");
                }
            } else {
                assert!(response.status.is_success(), "{uri}: {} {}", response.status, response.text());
            }
        }
        for field in ["brand", "model", "license_plate", "vin", "color", "name", "address"] {
            let mut body = vehicle_json(garage, "NA-STY-01");
            body[field] = json!(s);
            let created = admin.post("/api/v1/vehicles", &body).await;
            assert!(!created.status.is_server_error(), "{field}={s:?}: {}", created.text());
            let garage_body = json!({ "name": s, "address": s, "city": s, "phone": s, "postal_code": s });
            let g = admin.post("/api/v1/garages", &garage_body).await;
            assert!(!g.status.is_server_error(), "garage {s:?}: {}", g.text());
            let form = admin.post_form("/garages", &[("name", s), ("address", s)]).await;
            assert!(!form.status.is_server_error(), "form {s:?}: {}", form.text());
            let patched = admin.patch(&format!("/api/v1/vehicles/{vehicle}"), &json!({ field: s })).await;
            assert!(!patched.status.is_server_error(), "patch {field}={s:?}: {}", patched.text());
        }
    }
    for body in [
        "null",
        "[]",
        "\"x\"",
        "1e999",
        "{\"year\": 1e300}",
        "{\"garage_id\": 1e30}",
        "{\"year\": -2147483649}",
        "{\"mileage_km\": 18446744073709551616}",
        &"[".repeat(10_000),
    ] {
        let request = Request::post("/api/v1/vehicles")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .expect("request");
        let response = admin.send(request).await;
        assert!(response.status.is_client_error(), "{body:.40}: {} {}", response.status, response.text());
    }
    for uri in [
        "/api/v1/vehicles?limit=99999999999999999999999",
        "/api/v1/vehicles?cursor=i99999999999999999999",
        "/api/v1/vehicles?garage_id=99999999999999999999",
    ] {
        let response = admin.get(uri).await;
        assert!(response.status.is_client_error(), "{uri}: {}", response.status);
    }
    let weird_host = Request::get("/api/v1/vehicles?limit=1")
        .header(header::HOST, "evil>; rel=\"x\"")
        .body(Body::empty())
        .expect("request");
    let response = admin.send(weird_host).await;
    assert_eq!(response.status, StatusCode::OK);
    if let Some(link) = response.header("link") {
        assert!(!link.contains("evil"), "{link}");
    }
}
