//! No input to a workshop route produces a server error: hostile strings in every
//! text field, path segment and query parameter, odd numbers, dates and shapes —
//! swept over every workshop route of the OpenAPI document.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::TestApp;

pub const NASTY: [&str; 10] =
    ["\u{0}", "a\u{0}b", "%00", "'; DROP TABLE quotes; --", "\u{202e}evil", "😀", "\\", "%", "_", "2026-02-30"];

fn nasty_numbers() -> Vec<Value> {
    vec![
        json!(-1),
        json!(0),
        json!(1e300),
        json!(-9_223_372_036_854_775_807_i64),
        json!(u64::MAX),
        json!("1e30"),
        json!("NaN"),
        json!("-0,5"),
    ]
}

backend_tests!(hostile_input_never_produces_a_server_error_in_the_workshop);

async fn hostile_input_never_produces_a_server_error_in_the_workshop(app: TestApp) {
    let admin = app.as_admin();
    let owner = client(&app, json!({ "name": "Hostile", "email": "h@exemple.fr" })).await;
    let garage = app.garage("H").await;
    let vehicle = app.vehicle(garage, "HO-999-ST").await;
    admin.post(&format!("/api/v1/clients/{owner}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": owner,
                "vehicle_id": vehicle,
                "lines": [{ "description": "x", "unit_price": "1" }]
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("quote");
    let long = "é".repeat(6000);
    let mut strings: Vec<String> = NASTY.iter().map(|s| (*s).to_owned()).collect();
    strings.push(long);

    // Every text field of every body.
    for s in &strings {
        let s = s.as_str();
        let bodies = [
            (
                "/api/v1/clients",
                json!({
                    "name": s,
                    "company_name": s,
                    "tax_id": s,
                    "email": s,
                    "phone": s,
                    "address": s,
                    "notes": s,
                    "kind": s
                }),
            ),
            (
                "/api/v1/quotes",
                json!({
                    "client_id": owner,
                    "notes": s,
                    "terms": s,
                    "issue_date": s,
                    "lines": [{ "description": s, "unit": s, "quantity": s, "unit_price": s, "vat_rate": s, "discount": s, "kind": s }]
                }),
            ),
            (
                "/api/v1/interventions",
                json!({
                    "vehicle_id": vehicle,
                    "description": s,
                    "technician": s,
                    "services": [s],
                    "performed_on": s
                }),
            ),
            (&format!("/api/v1/vehicles/{vehicle}/mileage"), json!({ "mileage_km": 1, "read_on": s })),
            (&format!("/api/v1/quotes/{quote}/decision"), json!({ "decision": s })),
            (&format!("/api/v1/quotes/{quote}/intervention"), json!({ "technician": s, "services": [s] })),
            (&format!("/api/v1/clients/{owner}/vehicles"), json!({ "vehicle_id": s })),
            ("/api/v1/alerts/1", json!({ "action": "snooze", "until": s })),
        ];
        for (path, body) in bodies {
            let response = admin.post(path, &body).await;
            assert!(
                !response.status.is_server_error(),
                "POST {path} with {s:?}: {} {}",
                response.status,
                response.text()
            );
        }
        for (path, body) in [
            (format!("/api/v1/clients/{owner}"), json!({ "name": s, "notes": s })),
            (format!("/api/v1/quotes/{quote}"), json!({ "client_id": owner, "notes": s })),
            (
                "/api/v1/workshop/settings".to_owned(),
                json!({
                    "quote_number_format": s,
                    "quote_validity_days": 30,
                    "line_decisions": false,
                    "quote_terms": s,
                    "legal_mentions": s
                }),
            ),
            (
                format!(
                    "/api/v1/maintenance/rules/{}",
                    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                ),
                json!({
                    "kind": s,
                    "name": s,
                    "active": true,
                    "interval_km": 1000
                }),
            ),
            (
                format!(
                    "/api/v1/vehicles/{vehicle}/maintenance/rules/{}",
                    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                ),
                json!({
                    "kind": s,
                    "name": s,
                    "active": true,
                    "due_on": s
                }),
            ),
            (
                format!("/api/v1/vehicles/{vehicle}/service-info"),
                json!({
                    "first_registration": s,
                    "insurance_expiry": s
                }),
            ),
        ] {
            let response = admin.put(&path, &body).await;
            assert!(
                !response.status.is_server_error(),
                "PUT {path} with {s:?}: {} {}",
                response.status,
                response.text()
            );
        }
        // Path segments and query parameters (not the 6,000-character text: no client sends such an address).
        if s.len() > 1000 {
            continue;
        }
        let encoded = percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        for uri in [
            format!("/api/v1/clients?q={encoded}"),
            format!("/api/v1/quotes?status={encoded}&client_id={encoded}"),
            format!("/api/v1/alerts?kind={encoded}&window={encoded}&status={encoded}&garage_id={encoded}"),
            format!("/api/v1/dashboard?from={encoded}&to={encoded}&garage_id={encoded}"),
            format!("/api/v1/exports/clients.csv?q={encoded}"),
            format!("/api/v1/exports/vehicles.xlsx?q={encoded}&garage_id={encoded}"),
            format!("/api/v1/clients/{encoded}"),
            format!("/api/v1/quotes/{encoded}/pdf"),
            format!("/q/{encoded}"),
            format!("/q/{encoded}/pdf"),
            format!("/clients?q={encoded}"),
            format!("/alerts?kind={encoded}&window={encoded}"),
            format!("/dashboard?from={encoded}"),
            format!("/exports/alerts.csv?kind={encoded}"),
        ] {
            let response = admin.get(&uri).await;
            assert!(!response.status.is_server_error(), "GET {uri}: {} {}", response.status, response.text());
        }
        let delete = admin.delete(&format!("/api/v1/vehicles/{vehicle}/maintenance/rules/{encoded}")).await;
        assert!(!delete.status.is_server_error(), "DELETE rule {s:?}: {} {}", delete.status, delete.text());
        for (path, fields) in [
            ("/clients".to_owned(), vec![("name", s), ("email", s), ("kind", s)]),
            (
                "/quotes".to_owned(),
                vec![("client_id", s), ("description", s), ("unit_price", s), ("quantity", s), ("issue_date", s)],
            ),
            (format!("/quotes/{quote}/decision"), vec![("decision", s)]),
            (format!("/vehicles/{vehicle}/mileage"), vec![("mileage_km", s), ("read_on", s)]),
            (
                format!("/vehicles/{vehicle}/interventions"),
                vec![
                    ("intervention_description", s),
                    ("mileage_km", s),
                    ("service", s),
                    ("description", s),
                    ("unit_price", "1"),
                ],
            ),
            (format!("/vehicles/{vehicle}/service-info"), vec![("first_registration", s)]),
            (
                format!("/vehicles/{vehicle}/maintenance/rules"),
                vec![("kind", s), ("name", s), ("interval_km", s), ("due_on", s)],
            ),
            (format!("/vehicles/{vehicle}/maintenance/rules/reset"), vec![("kind", s)]),
            ("/maintenance/rules".to_owned(), vec![("kind", s), ("name", s), ("interval_months", s)]),
            ("/workshop/settings".to_owned(), vec![("quote_number_format", s), ("quote_validity_days", s)]),
            ("/alerts/1".to_owned(), vec![("action", s), ("until", s), ("back", s)]),
        ] {
            let response = admin.post_form(&path, &fields).await;
            assert!(
                !response.status.is_server_error(),
                "form {path} with {s:?}: {} {}",
                response.status,
                response.text()
            );
        }
    }
    // Odd numbers where numbers go.
    for n in nasty_numbers() {
        for (path, body) in [
            ("/api/v1/quotes".to_owned(), json!({ "client_id": n, "vehicle_id": n })),
            (
                "/api/v1/quotes".to_owned(),
                json!({
                    "client_id": owner,
                    "lines": [{ "description": "x", "quantity": n, "unit_price": n, "vat_rate": n, "discount": n }]
                }),
            ),
            (
                "/api/v1/interventions".to_owned(),
                json!({
                    "vehicle_id": vehicle,
                    "description": "x",
                    "mileage_km": n,
                    "lines": [{ "description": "x", "quantity": n, "unit_price": n }]
                }),
            ),
            (format!("/api/v1/vehicles/{vehicle}/mileage"), json!({ "mileage_km": n })),
            (format!("/api/v1/clients/{owner}/vehicles"), json!({ "vehicle_id": n })),
        ] {
            let response = admin.post(&path, &body).await;
            assert!(
                !response.status.is_server_error(),
                "POST {path} with {n}: {} {}",
                response.status,
                response.text()
            );
        }
        let response = admin
            .put(
                "/api/v1/maintenance/rules/oil_service",
                &json!({
                    "kind": "",
                    "name": "x",
                    "active": true,
                    "interval_km": n,
                    "interval_months": n,
                    "first_after_months": n
                }),
            )
            .await;
        assert!(!response.status.is_server_error(), "rule {n}: {}", response.text());
        let response = admin
            .put(
                "/api/v1/workshop/settings",
                &json!({
                    "quote_number_format": "D{seq}",
                    "quote_validity_days": n,
                    "line_decisions": true
                }),
            )
            .await;
        assert!(!response.status.is_server_error(), "settings {n}: {}", response.text());
    }
    for body in ["null", "[]", "\"x\"", "1e999", &"[".repeat(10_000)] {
        for path in ["/api/v1/clients", "/api/v1/quotes", "/api/v1/interventions"] {
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .expect("request");
            let response = admin.send(request).await;
            assert!(response.status.is_client_error(), "{path} {body:.20}: {} {}", response.status, response.text());
        }
    }
    // A quote with the most lines still renders, and its PDF too.
    let lines: Vec<Value> = (0..300)
        .map(|i| {
            json!({
                "description": "é".repeat(400) + &i.to_string(),
                "quantity": "999999.999",
                "unit_price": "999999999.9999"
            })
        })
        .collect();
    let big = admin.post("/api/v1/quotes", &json!({ "client_id": owner, "lines": lines })).await;
    assert!(!big.status.is_server_error(), "{}", big.text());
    if big.status.is_success() {
        let id = big.json()["id"].as_i64().expect("id");
        let pdf = admin
            .send(
                Request::builder()
                    .method(Method::GET)
                    .uri(format!("/api/v1/quotes/{id}/pdf"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert!(pdf.status.is_success(), "{}", pdf.status);
    }
}

backend_tests!(amounts_past_what_a_decimal_holds_are_refused_not_overflowed);

async fn amounts_past_what_a_decimal_holds_are_refused_not_overflowed(app: TestApp) {
    let admin = app.as_admin();
    let owner = client(&app, json!({ "name": "Débordement" })).await;
    let garage = app.garage("D").await;
    let vehicle = app.vehicle(garage, "OV-100-FL").await;
    let max = "79228162514264337593543950335";
    for line in [
        json!({ "description": "x", "quantity": max, "unit_price": "1" }),
        json!({ "description": "x", "quantity": "1", "unit_price": max }),
        json!({ "description": "x", "quantity": "900000000000000", "unit_price": "900000000000000" }),
        json!({ "description": "x", "unit_price": "1", "vat_rate": max, "discount": max }),
    ] {
        let quote = admin.post("/api/v1/quotes", &json!({ "client_id": owner, "lines": [line.clone()] })).await;
        assert_eq!(quote.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "quote {line}: {}", quote.text());
        let work = admin
            .post(
                "/api/v1/interventions",
                &json!({
                    "vehicle_id": vehicle,
                    "description": "x",
                    "lines": [line.clone()]
                }),
            )
            .await;
        assert_eq!(work.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "intervention {line}: {}", work.text());
    }
    // An intervention line without a price is work done at no charge.
    let free = admin
        .post(
            "/api/v1/interventions",
            &json!({
                "vehicle_id": vehicle,
                "description": "Contrôle",
                "lines": [{ "description": "Contrôle visuel" }]
            }),
        )
        .await;
    assert_eq!(free.status, axum::http::StatusCode::CREATED, "{}", free.text());
    assert_eq!(free.json()["total_excl_tax"], "0.00");
}
