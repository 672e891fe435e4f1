//! Clients API: fields and validation, search by name, phone, e-mail and plate,
//! vehicle ownership over time (one current owner, even under concurrency).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, json_request, send};

fn ids(response: &crate::helpers::TestResponse) -> Vec<i64> {
    response.json().as_array().expect("bare array").iter().map(|v| v["id"].as_i64().expect("id")).collect()
}

backend_tests!(
    create_read_replace_and_delete_a_client,
    invalid_clients_name_every_bad_field,
    search_finds_clients_by_name_phone_email_and_plate,
    a_vehicle_changes_owner_and_keeps_its_history,
    concurrent_transfers_leave_exactly_one_current_owner
);

async fn create_read_replace_and_delete_a_client(app: TestApp) {
    let admin = app.as_admin();
    let body = json!({
        "kind": "company", "name": "Jeanne Martin", "company_name": "Transports Martin",
        "tax_id": "FR12345678901", "email": " jeanne@martin.fr ", "phone": "06 12 34 56 78",
        "address": "3 rue des Lilas, 69003 Lyon", "notes": "Flotte de 12 utilitaires",
        "consent_marketing": false, "consent_notifications": true
    });
    let response = admin.post("/api/v1/clients", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let created = response.json();
    let id = created["id"].as_i64().expect("id");
    assert_eq!(response.header("location"), Some(format!("/api/v1/clients/{id}").as_str()));
    assert_eq!(created["email"], "jeanne@martin.fr");
    assert_eq!(created["consent_notifications"], true);
    assert_eq!(admin.get(&format!("/api/v1/clients/{id}")).await.json(), created);

    let replaced = admin.put(&format!("/api/v1/clients/{id}"), &json!({ "name": "Jeanne Martin" })).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    assert_eq!(replaced.json()["kind"], "individual");
    assert_eq!(replaced.json()["company_name"], Value::Null);
    assert_eq!(admin.delete(&format!("/api/v1/clients/{id}")).await.status, StatusCode::NO_CONTENT);
    admin.get(&format!("/api/v1/clients/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn invalid_clients_name_every_bad_field(app: TestApp) {
    let admin = app.as_admin();
    let response = admin
        .post(
            "/api/v1/clients",
            &json!({
                "kind": "company",
                "email": "pas-un-mail",
                "phone": "abc"
            }),
        )
        .await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "name", "phone"]);
    let company = admin.post("/api/v1/clients", &json!({ "kind": "company", "name": "X" })).await;
    assert_eq!(company.error_fields(), ["company_name"]);
    let kind = admin.post("/api/v1/clients", &json!({ "kind": "robot", "name": "X" })).await;
    assert_eq!(kind.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn search_finds_clients_by_name_phone_email_and_plate(app: TestApp) {
    let admin = app.as_admin();
    let jeanne = client(
        &app,
        json!({
            "name": "Jeanne Martin",
            "phone": "+33 6 12 34 56 78",
            "email": "jeanne@exemple.fr"
        }),
    )
    .await;
    let paul = client(
        &app,
        json!({
            "kind": "company",
            "name": "Paul Martinez",
            "company_name": "Garage Dupré",
            "phone": "04 78 00 00 00"
        }),
    )
    .await;
    let other = client(&app, json!({ "name": "Zoé Bernard" })).await;
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "GH-555-JK").await;
    assert_eq!(
        admin.post(&format!("/api/v1/clients/{other}/vehicles"), &json!({ "vehicle_id": vehicle })).await.status,
        StatusCode::OK
    );

    let search = |q: &str| {
        format!("/api/v1/clients?q={}", percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC))
    };
    assert_eq!(ids(&admin.get(&search("mart")).await), [jeanne, paul]);
    assert_eq!(ids(&admin.get(&search("MARTIN")).await), [jeanne, paul]);
    assert_eq!(ids(&admin.get(&search("jeanne mar")).await), [jeanne]);
    assert_eq!(ids(&admin.get(&search("dupré")).await), [paul]);
    assert_eq!(ids(&admin.get(&search("06 12 34")).await), [jeanne]);
    assert_eq!(ids(&admin.get(&search("0478")).await), [paul]);
    assert_eq!(ids(&admin.get(&search("jeanne@exemple.fr")).await), [jeanne]);
    assert_eq!(ids(&admin.get(&search("gh-555")).await), [other]);
    assert_eq!(ids(&admin.get(&search("gh555jk")).await), [other]);
    assert!(ids(&admin.get(&search("inconnu")).await).is_empty());
    // Keyset pages of a search.
    let first = admin.get(&format!("{}&limit=1", search("mart"))).await;
    assert_eq!(ids(&first), [jeanne]);
    let next = first.next_link().expect("next page");
    assert_eq!(ids(&admin.get(&next).await), [paul]);
}

async fn a_vehicle_changes_owner_and_keeps_its_history(app: TestApp) {
    let admin = app.as_admin();
    let first = client(&app, json!({ "name": "Premier" })).await;
    let second = client(&app, json!({ "name": "Second" })).await;
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "AA-100-AA").await;
    let body = json!({ "vehicle_id": vehicle });
    let (to_first, to_second) =
        (format!("/api/v1/clients/{first}/vehicles"), format!("/api/v1/clients/{second}/vehicles"));
    assert_eq!(admin.post(&to_first, &body).await.status, StatusCode::OK);
    assert_eq!(admin.post(&to_first, &body).await.status, StatusCode::OK, "assigning again changes nothing");
    assert_eq!(admin.post(&to_second, &body).await.status, StatusCode::OK);
    let mine = admin.get(&format!("/api/v1/clients/{second}/vehicles")).await.json();
    assert_eq!(mine[0]["license_plate"], "AA-100-AA");
    assert_eq!(admin.get(&format!("/api/v1/clients/{first}/vehicles")).await.json(), json!([]));
    let history = admin.get(&format!("/api/v1/vehicles/{vehicle}/owners")).await.json();
    let history = history.as_array().expect("array");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["client_name"], "Premier");
    assert!(history[0]["ended_at"].is_string());
    assert_eq!(history[1]["client_name"], "Second");
    assert_eq!(history[1]["ended_at"], Value::Null);
    // A client with a history stays.
    admin.delete(&format!("/api/v1/clients/{first}")).await.problem(StatusCode::CONFLICT, "client_has_history");
    // Selling the vehicle ends the ownership.
    assert_eq!(
        admin.delete(&format!("/api/v1/clients/{second}/vehicles/{vehicle}")).await.status,
        StatusCode::NO_CONTENT
    );
    admin
        .delete(&format!("/api/v1/clients/{second}/vehicles/{vehicle}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(admin.get(&format!("/api/v1/clients/{second}/vehicles")).await.json(), json!([]));
    // Unknown vehicles are named.
    let unknown = admin.post(&format!("/api/v1/clients/{first}/vehicles"), &json!({ "vehicle_id": 999_999 })).await;
    assert_eq!(unknown.error_fields(), ["vehicle_id"]);
}

async fn concurrent_transfers_leave_exactly_one_current_owner(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "CC-300-CC").await;
    let mut buyers = Vec::new();
    for i in 0..10 {
        buyers.push(client(&app, json!({ "name": format!("Acheteur {i}") })).await);
    }
    let mut tasks = Vec::new();
    for buyer in &buyers {
        let request = admin
            .authorize(json_request(
                Method::POST,
                &format!("/api/v1/clients/{buyer}/vehicles"),
                &json!({ "vehicle_id": vehicle }),
            ))
            .await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    for task in tasks {
        let response = task.await.expect("task");
        assert!(
            matches!(response.status, StatusCode::OK | StatusCode::CONFLICT),
            "{} {}",
            response.status,
            response.text()
        );
    }
    let history = admin.get(&format!("/api/v1/vehicles/{vehicle}/owners")).await.json();
    let current: Vec<&Value> = history.as_array().expect("array").iter().filter(|o| o["ended_at"].is_null()).collect();
    assert_eq!(current.len(), 1, "{history}");
    let owner = current[0]["client_id"].as_i64().expect("owner");
    let owned = admin.get(&format!("/api/v1/clients/{owner}/vehicles")).await.json();
    assert_eq!(owned.as_array().map(Vec::len), Some(1));
}
