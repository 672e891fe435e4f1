//! Tenant isolation of every workshop route, read from the OpenAPI document so a
//! new route is covered the day it is added: another organization's client,
//! quote, vehicle, intervention or alert is a 404 on every method, references to
//! them in bodies are refused, and lists, the dashboard and exports show nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, json_request};

const WORKSHOP_TAGS: [&str; 6] = ["clients", "quotes", "service history", "maintenance", "dashboard", "exports"];

fn body_for(method: &Method, path: &str, theirs: &Value) -> Option<Value> {
    if *method == Method::GET || *method == Method::DELETE {
        return None;
    }
    Some(match path {
        p if p.ends_with("/clients/{id}") => json!({ "name": "Intrus" }),
        p if p.ends_with("/clients/{id}/vehicles") => json!({ "vehicle_id": theirs["vehicle"] }),
        p if p.ends_with("/quotes/{id}") => json!({ "client_id": theirs["client"] }),
        p if p.ends_with("/decision") => json!({ "decision": "accept" }),
        p if p.ends_with("/mileage") => json!({ "mileage_km": 1 }),
        p if p.contains("/maintenance/rules/") => {
            json!({ "kind": "oil_service", "name": "x", "interval_km": 1000, "active": true })
        }
        p if p.starts_with("/api/v1/alerts/") => json!({ "action": "resolve" }),
        _ => json!({}),
    })
}

backend_tests!(another_organizations_workshop_records_are_404_everywhere);

async fn another_organizations_workshop_records_are_404_everywhere(app: TestApp) {
    let admin = app.as_admin();
    // Ours: a client owning a vehicle, a sent quote, an intervention, an alert.
    let ours = client(&app, json!({ "name": "Client A", "email": "a@exemple.fr" })).await;
    let garage = app.garage("A").await;
    let vehicle = app.vehicle(garage, "TN-100-AA").await;
    admin.post(&format!("/api/v1/clients/{ours}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": ours,
                "vehicle_id": vehicle,
                "lines": [{ "description": "x", "unit_price": "10" }]
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("quote");
    admin.post(&format!("/api/v1/quotes/{quote}/send"), &json!({})).await.assert_success();
    let intervention = admin
        .post(
            "/api/v1/interventions",
            &json!({
                "vehicle_id": vehicle,
                "description": "Vidange",
                "mileage_km": 90_000
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("intervention");
    let alert = admin.get("/api/v1/alerts").await.json()[0]["id"].as_i64().expect("an alert");

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
    // Their own client and vehicle, to put in bodies.
    let theirs_client =
        as_them(Method::POST, "/api/v1/clients", Some(&json!({ "name": "Client B" }))).await.json()["id"].clone();
    let their_garage = as_them(
        Method::POST,
        "/api/v1/garages",
        Some(&json!({
            "name": "B",
            "address": "Rue B"
        })),
    )
    .await
    .json()["id"]
        .as_i64()
        .expect("garage");
    let theirs_vehicle = as_them(
        Method::POST,
        "/api/v1/vehicles",
        Some(&crate::fixtures::fleet::vehicle_json(their_garage, "TN-200-BB")),
    )
    .await
    .json()["id"]
        .clone();
    let theirs = json!({ "client": theirs_client, "vehicle": theirs_vehicle });

    let doc = admin.get("/api/openapi.json").await.json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        // Paths naming one of our records (`/maintenance/rules/{kind}` is the caller's own setting).
        if !path.contains("{id}") {
            continue;
        }
        for (method, operation) in item.as_object().expect("item") {
            let tags: Vec<&str> =
                operation["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            if !tags.iter().any(|t| WORKSHOP_TAGS.contains(t)) {
                continue;
            }
            let method: Method = method.to_uppercase().parse().expect("method");
            let id = match path.as_str() {
                p if p.starts_with("/api/v1/clients/") => ours,
                p if p.starts_with("/api/v1/quotes/") => quote,
                p if p.starts_with("/api/v1/vehicles/") => vehicle,
                p if p.starts_with("/api/v1/interventions/") => intervention,
                p if p.starts_with("/api/v1/alerts/") => alert,
                other => panic!("no resource of ours for {other}"),
            };
            let concrete = path
                .replace("{id}", &id.to_string())
                .replace("{vehicle_id}", &vehicle.to_string())
                .replace("{kind}", "oil_service");
            let body = body_for(&method, path, &theirs);
            let response = as_them(method.clone(), &concrete, body.as_ref()).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {concrete}: {}", response.text());
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} routes checked");

    // References to our records in their bodies are unknown to them.
    let quote_with_ours = as_them(
        Method::POST,
        "/api/v1/quotes",
        Some(&json!({
            "client_id": ours,
            "vehicle_id": vehicle
        })),
    )
    .await;
    let mut fields = quote_with_ours.error_fields();
    fields.sort();
    assert_eq!(fields, ["client_id", "vehicle_id"]);
    let work_on_ours = as_them(
        Method::POST,
        "/api/v1/interventions",
        Some(&json!({
            "vehicle_id": vehicle,
            "description": "x"
        })),
    )
    .await;
    assert_eq!(work_on_ours.error_fields(), ["vehicle_id"]);
    let take_ours = as_them(
        Method::POST,
        &format!("/api/v1/clients/{}/vehicles", theirs["client"]),
        Some(&json!({ "vehicle_id": vehicle })),
    )
    .await;
    assert_eq!(take_ours.error_fields(), ["vehicle_id"]);

    // Their lists, dashboard and exports hold nothing of ours.
    for path in ["/api/v1/clients?q=client", "/api/v1/quotes", "/api/v1/alerts"] {
        let listed = as_them(Method::GET, path, None).await.json();
        assert!(
            !listed.to_string().contains("Client A") && !listed.to_string().contains("TN-100-AA"),
            "{path}: {listed}"
        );
    }
    assert_eq!(as_them(Method::GET, "/api/v1/quotes", None).await.json(), json!([]));
    assert_eq!(as_them(Method::GET, "/api/v1/alerts", None).await.json(), json!([]));
    let dashboard = as_them(Method::GET, "/api/v1/dashboard", None).await.json();
    assert_eq!(dashboard["quotes"]["issued"], 0);
    assert_eq!(dashboard["alerts"], json!([]));
    let export = as_them(Method::GET, "/api/v1/exports/quotes.csv", None).await;
    assert_eq!(String::from_utf8_lossy(&export.body).lines().count(), 1, "header only");
    // And ours are untouched.
    assert_eq!(admin.get(&format!("/api/v1/quotes/{quote}")).await.json()["status"], "sent");
    assert_eq!(admin.get(&format!("/api/v1/clients/{ours}")).await.json()["name"], "Client A");
}
