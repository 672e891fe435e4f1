//! Organization settings: read by every member, changed by administrators.

use axum::http::StatusCode;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(administrators_set_currency_vat_locale_and_time_zone, the_settings_page_saves_and_explains_errors);

async fn administrators_set_currency_vat_locale_and_time_zone(app: TestApp) {
    let admin = app.as_admin();
    let staff = app.token_for("atelier@garage.sn", &[Role::Staff]).await;
    let settings = app.with_token(&staff).get("/api/v1/organization").await;
    assert_eq!(settings.status, StatusCode::OK);
    let body = settings.json();
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["currency_decimals"], 2);
    assert_eq!(body["vat_rates"], json!(["20", "10", "5.5", "2.1"]));
    assert_eq!(body["locale"], "fr");

    let patched = admin
        .patch(
            "/api/v1/organization",
            &json!({
                "name": "Dakar Auto",
                "currency": "xof",
                "vat_rates": ["18", "10,5"],
                "time_zone": "Africa/Dakar",
                "address": "Avenue Senghor"
            }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let body = patched.json();
    assert_eq!(body["currency"], "XOF");
    assert_eq!(body["currency_decimals"], 0);
    assert_eq!(body["vat_rates"], json!(["18", "10.5"]));
    assert_eq!(body["time_zone"], "Africa/Dakar");

    let bad = admin
        .patch(
            "/api/v1/organization",
            &json!({
                "currency": "ZZZ",
                "vat_rates": ["vingt"],
                "locale": "de",
                "time_zone": "Paris",
                "name": ""
            }),
        )
        .await;
    bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["currency", "locale", "name", "time_zone", "vat_rates"]);

    // What customer-facing documents need, checked as a customer would read it.
    let details = admin
        .patch(
            "/api/v1/organization",
            &json!({
                "kind": "school",
                "phone": "+221 33 800 00 00",
                "email": "contact@dakar-auto.sn",
                "registration_number": "005123456 2G3",
                "vat_number": "fr 40 303265045"
            }),
        )
        .await;
    assert_eq!(details.status, StatusCode::OK, "{}", details.text());
    let body = details.json();
    assert_eq!((body["kind"].as_str(), body["vat_number"].as_str()), (Some("school"), Some("FR40303265045")));
    assert_eq!(body["registration_number"], "005123456 2G3");
    let bad = admin
        .patch(
            "/api/v1/organization",
            &json!({ "kind": "boulangerie", "phone": "appelez-nous", "email": "@", "vat_number": "123", "registration_number": "130 005 481 00011" }),
        )
        .await;
    bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "kind", "phone", "registration_number", "vat_number"]);
    // An empty text clears an optional detail.
    admin.patch("/api/v1/organization", &json!({ "phone": "", "email": null })).await.assert_success();
    let cleared = admin.get("/api/v1/organization").await.json();
    assert_eq!(
        (cleared["phone"].clone(), cleared["email"].clone()),
        (serde_json::Value::Null, serde_json::Value::Null)
    );

    admin.patch("/api/v1/organization", &json!({ "address": null })).await.assert_success();
    assert_eq!(admin.get("/api/v1/organization").await.json()["address"], serde_json::Value::Null);

    let manager = app.token_for("gerant@garage.sn", &[Role::Manager]).await;
    let request =
        crate::helpers::json_request(axum::http::Method::PATCH, "/api/v1/organization", &json!({ "currency": "EUR" }));
    let mut request = request;
    request.headers_mut().insert("authorization", format!("Bearer {manager}").parse().expect("header"));
    admin.send(request).await.problem(StatusCode::FORBIDDEN, "forbidden");

    let audit = admin.get("/api/v1/audit?entity_type=organization").await.json();
    assert_eq!(audit[audit.as_array().expect("array").len() - 1]["changes"]["currency"], json!(["EUR", "XOF"]));
}

async fn the_settings_page_saves_and_explains_errors(app: TestApp) {
    let admin = app.as_admin();
    let page = admin.get("/admin/organization").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("20 ; 10 ; 5.5 ; 2.1"));
    let saved = admin
        .post_form(
            "/admin/organization",
            &[
                ("name", "Garage Central"),
                ("address", ""),
                ("currency", "EUR"),
                ("vat_rates", "20 ; 5,5"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(admin.get("/api/v1/organization").await.json()["vat_rates"], json!(["20", "5.5"]));
    let wrong = admin
        .post_form(
            "/admin/organization",
            &[
                ("name", "G"),
                ("currency", "EUR"),
                ("vat_rates", "200"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("Taux de TVA invalides"));
}

backend_tests!(pages_speak_the_organizations_language);

async fn pages_speak_the_organizations_language(app: TestApp) {
    let admin = app.as_admin();
    let french = admin.get("/garages").await.text();
    assert!(french.contains("lang=\"fr\"") && french.contains("Nouveau garage"));
    admin.patch("/api/v1/organization", &json!({ "locale": "en" })).await.assert_success();
    let english = admin.get("/garages").await.text();
    assert!(
        english.contains("lang=\"en\"") && english.contains("New garage") && !english.contains("Nouveau garage"),
        "{english}"
    );
    let garage = app.garage("G").await;
    app.vehicle(garage, "EN-123-GB").await;
    let gid = garage.to_string();
    let duplicate = admin
        .post_form(
            "/vehicles",
            &[
                ("garage_id", &gid),
                ("license_plate", "en 123 gb"),
                ("brand", "Mini"),
                ("model", "Cooper"),
                ("year", "2020"),
            ],
        )
        .await;
    assert!(duplicate.text().contains("Licence plate EN-123-GB is already registered"), "{}", duplicate.text());
}

backend_tests!(pages_show_times_in_the_organizations_zone);

async fn pages_show_times_in_the_organizations_zone(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "TZ-123-AB").await;
    let updated: chrono::DateTime<chrono::Utc> =
        admin.get(&format!("/api/v1/vehicles/{vehicle}")).await.json()["updated_at"]
            .as_str()
            .expect("time")
            .parse()
            .expect("rfc3339");
    let zone = chrono_tz::Pacific::Kiritimati;
    let patched = admin.patch("/api/v1/organization", &json!({ "time_zone": "Pacific/Kiritimati" })).await;
    assert_eq!(patched.status, StatusCode::OK);
    let page = admin.get(&format!("/vehicles/{vehicle}")).await.text();
    let local = updated.with_timezone(&zone).format("%d/%m/%Y %H:%M").to_string();
    assert!(page.contains(&local), "expected {local} (UTC+14) in the page");
    let bad = admin.patch("/api/v1/organization", &json!({ "time_zone": "Mars/Olympus" })).await;
    assert_eq!(bad.error_fields(), ["time_zone"]);
}
