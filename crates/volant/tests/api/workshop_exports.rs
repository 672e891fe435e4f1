//! Exports: CSV and XLSX of clients, vehicles, quotes (one row per line) and
//! alerts, with their lists' filters; read back and checked cell by cell.

use std::io::Read;

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, TestResponse};

/// The rows of a CSV as a French spreadsheet reads it (`;`, decimal commas).
fn csv_rows(response: &TestResponse) -> Vec<Vec<String>> {
    csv_rows_split(response, b';')
}

fn csv_rows_split(response: &TestResponse, delimiter: u8) -> Vec<Vec<String>> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(response.header("content-disposition").is_some_and(|d| d.starts_with("attachment; filename=")));
    let body = response.body.strip_prefix(b"\xEF\xBB\xBF").expect("byte-order mark");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(body)
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect()
}

/// The first sheet's XML of an XLSX file.
fn sheet_xml(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(response.body.clone())).expect("xlsx is a zip");
    let mut sheet = archive.by_name("xl/worksheets/sheet1.xml").expect("first sheet");
    let mut xml = String::new();
    sheet.read_to_string(&mut xml).expect("xml");
    xml
}

async fn setup(app: &TestApp) -> (i64, i64) {
    let admin = app.as_admin();
    let jeanne =
        client(app, json!({ "name": "Jeanne Martin", "email": "jeanne@exemple.fr", "consent_notifications": true }))
            .await;
    client(app, json!({ "name": "Paul Durand" })).await;
    let garage = app.garage("Centre").await;
    let vehicle = app.vehicle(garage, "EX-100-AA").await;
    admin.post(&format!("/api/v1/clients/{jeanne}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({ "client_id": jeanne, "vehicle_id": vehicle, "lines": [
                { "kind": "part", "description": "Filtre, \"premium\"", "unit_price": "12.50" },
                { "kind": "labour", "description": "Pose", "quantity": "1.5", "unit_price": "60" }
            ]}),
        )
        .await;
    assert_eq!(quote.status, StatusCode::CREATED);
    admin.post(&format!("/api/v1/vehicles/{vehicle}/mileage"), &json!({ "mileage_km": 90_000 })).await.assert_success();
    (jeanne, vehicle)
}

backend_tests!(
    csv_exports_hold_every_row_and_follow_the_filters,
    xlsx_exports_are_real_spreadsheets,
    a_large_export_streams_every_page
);

async fn csv_exports_hold_every_row_and_follow_the_filters(app: TestApp) {
    let admin = app.as_admin();
    let (_, _) = setup(&app).await;
    let clients = csv_rows(&admin.get("/api/v1/exports/clients.csv").await);
    assert_eq!(clients[0][2], "Nom et prénom");
    assert_eq!(clients.len(), 3, "header and two clients");
    assert_eq!(clients[1][2], "Jeanne Martin");
    assert_eq!(clients[1][8], "oui");
    let filtered = csv_rows(&admin.get("/api/v1/exports/clients.csv?q=paul").await);
    assert_eq!(filtered.len(), 2);
    assert_eq!(filtered[1][2], "Paul Durand");
    let vehicles = csv_rows(&admin.get("/api/v1/exports/vehicles.csv").await);
    assert_eq!(
        (vehicles[1][1].as_str(), vehicles[1][8].as_str(), vehicles[1][9].as_str()),
        ("EX-100-AA", "Centre", "Jeanne Martin")
    );
    let quotes = csv_rows(&admin.get("/api/v1/exports/quotes.csv").await);
    assert_eq!(quotes.len(), 3, "one row per line");
    assert_eq!(quotes[1][11], "Filtre, \"premium\"", "quoting survives");
    assert_eq!((quotes[1][6].as_str(), quotes[1][7].as_str()), ("102,50", "123,00"));
    assert_eq!((quotes[2][12].as_str(), quotes[2][17].as_str()), ("1,5", "90,00"));
    // Programs ask for commas and decimal points.
    let programs = csv_rows_split(&admin.get("/api/v1/exports/quotes.csv?separator=comma").await, b',');
    assert_eq!((programs[1][6].as_str(), programs[2][12].as_str()), ("102.50", "1.5"));
    admin
        .get("/api/v1/exports/quotes.csv?separator=tab")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(csv_rows(&admin.get("/api/v1/exports/quotes.csv?status=accepted").await).len(), 1, "header only");
    let alerts = csv_rows(&admin.get("/api/v1/exports/alerts.csv?window=to_check").await);
    assert_eq!(alerts.len(), 4, "oil, tyres, brakes");
    assert!(alerts[1..].iter().all(|r| r[1] == "EX-100-AA"));
    admin
        .get("/api/v1/exports/quotes.csv?status=lost")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn xlsx_exports_are_real_spreadsheets(app: TestApp) {
    let admin = app.as_admin();
    setup(&app).await;
    let response = admin.get("/api/v1/exports/quotes.xlsx").await;
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let xml = sheet_xml(&response);
    for expected in ["Filtre, \"premium\"", "Pose", "Jeanne Martin", "EX-100-AA"] {
        assert!(xml.contains(expected), "{expected} in {xml}");
    }
    assert!(xml.contains("<v>102.5</v>") && xml.contains("<v>90</v>"), "numbers are numbers: {xml}");
    let clients = sheet_xml(&admin.get("/api/v1/exports/clients.xlsx?q=jeanne").await);
    assert!(clients.contains("Jeanne Martin") && !clients.contains("Paul Durand"));
}

async fn a_large_export_streams_every_page(app: TestApp) {
    let admin = app.as_admin();
    // More rows than one page (200): the stream must carry on to the end.
    use volant::workshop::clients::service::{self as clients, ClientInput};
    let actor = volant::identity::audit::Actor::system(app.org);
    for i in 0..450 {
        clients::create(&app.db, &actor, &ClientInput { name: Some(format!("Client {i:03}")), ..Default::default() })
            .await
            .expect("client");
    }
    let rows = csv_rows(&admin.get("/exports/clients.csv").await);
    assert_eq!(rows.len(), 451);
    assert_eq!(rows[450][2], "Client 449");
    let xml = sheet_xml(&admin.get("/exports/clients.xlsx").await);
    assert!(xml.contains("Client 449") && xml.contains("Client 000"));
}
