//! The audit trail: exact rows for a create, an update and a delete, sign-in
//! events and refusals, filters, and nothing recorded for a refused change.

use axum::http::StatusCode;
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::helpers::{TEST_PASSWORD, TestApp};

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.as_admin().get(&format!("/api/v1/audit{query}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json().as_array().expect("array").clone()
}

backend_tests!(
    create_update_delete_are_recorded_exactly,
    a_refused_change_leaves_no_record_and_no_change,
    sign_in_events_and_refusals_are_recorded,
    the_audit_trail_is_for_administrators_and_filters_are_checked
);

async fn create_update_delete_are_recorded_exactly(app: TestApp) {
    let admin = app.as_admin();
    let admin_id = app.admin().await.id;
    let garage = app.garage("Garage du Centre").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    let patched = admin
        .patch(
            &format!("/api/v1/vehicles/{vehicle}"),
            &json!({
                "color": "Rouge",
                "mileage_km": 1200
            }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    // A PATCH that changes nothing records nothing.
    admin.patch(&format!("/api/v1/vehicles/{vehicle}"), &json!({ "color": "Rouge" })).await.assert_success();
    assert_eq!(admin.delete(&format!("/api/v1/vehicles/{vehicle}")).await.status, StatusCode::NO_CONTENT);

    let rows = audit(&app, &format!("?entity_type=vehicle&entity_id={vehicle}")).await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().expect("action")).collect();
    assert_eq!(actions, ["delete", "update", "create"], "newest first");
    let (delete, update, create) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(update["changes"], json!({ "color": [null, "Rouge"], "mileage_km": [null, 1200] }));
    assert_eq!(create["changes"]["license_plate"], json!([null, "AB-123-CD"]));
    assert_eq!(create["changes"]["garage_id"], json!([null, garage]));
    assert_eq!(delete["changes"]["color"], json!(["Rouge", null]));
    for row in &rows {
        assert_eq!(row["actor_user_id"], admin_id);
        assert_eq!(row["entity_type"], "vehicle");
        assert_eq!(row["entity_id"], vehicle.to_string());
        assert!(row["occurred_at"].as_str().is_some());
    }
    let garage_rows = audit(&app, &format!("?entity_type=garage&entity_id={garage}")).await;
    assert_eq!(garage_rows.len(), 1);
    assert_eq!(garage_rows[0]["changes"]["name"], json!([null, "Garage du Centre"]));
}

async fn a_refused_change_leaves_no_record_and_no_change(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    app.vehicle(garage, "DU-001-PL").await;
    let before = audit(&app, "?entity_type=vehicle").await.len();
    admin
        .post("/api/v1/vehicles", &crate::fixtures::fleet::vehicle_json(garage, "du 001 pl"))
        .await
        .problem(StatusCode::CONFLICT, "duplicate_plate");
    admin.delete(&format!("/api/v1/garages/{garage}")).await.problem(StatusCode::CONFLICT, "garage_not_empty");
    assert_eq!(audit(&app, "?entity_type=vehicle").await.len(), before);
    assert_eq!(audit(&app, &format!("?entity_type=garage&action=delete&entity_id={garage}")).await.len(), 0);
}

async fn sign_in_events_and_refusals_are_recorded(app: TestApp) {
    let staff = app.user("atelier@garage.fr", &[Role::Staff]).await;
    let token = app.login("atelier@garage.fr", TEST_PASSWORD).await;
    let failed = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &json!({
                "email": "atelier@garage.fr",
                "password": "mauvais mot de passe"
            }),
        )
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    let denied = app
        .anonymous()
        .send(
            axum::http::Request::post("/api/v1/garages")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .header("user-agent", "essai/1.0")
                .body(axum::body::Body::from("{}"))
                .expect("request"),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let rows = audit(&app, &format!("?entity_type=user&entity_id={}", staff.id)).await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().expect("action")).collect();
    assert_eq!(actions, ["permission_denied", "login_failed", "login"]);
    assert_eq!(rows[0]["changes"], json!({ "method": "POST", "path": "/api/v1/garages" }));
    assert_eq!(rows[0]["user_agent"], "essai/1.0");
    assert_eq!(rows[0]["actor_user_id"], staff.id);
    assert_eq!(rows[1]["actor_user_id"], Value::Null, "a failed sign-in proves no identity");
    assert!(rows[0]["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    let by_actor = audit(&app, &format!("?actor={}&action=login", staff.id)).await;
    assert_eq!(by_actor.len(), 1);
}

async fn the_audit_trail_is_for_administrators_and_filters_are_checked(app: TestApp) {
    let manager = app.token_for("chef-atelier@garage.fr", &[Role::Manager]).await;
    app.with_token(&manager).get("/api/v1/audit").await.problem(StatusCode::FORBIDDEN, "forbidden");
    for bad in ["?actor=abc", "?action=explode", "?from=yesterday", "?limit=0"] {
        app.as_admin()
            .get(&format!("/api/v1/audit{bad}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    app.garage("G").await;
    assert_eq!(audit(&app, "?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&action=create").await.len(), 1);
    assert_eq!(audit(&app, "?to=2000-01-01T00:00:00Z").await.len(), 0);
}

backend_tests!(administrators_browse_and_export_the_audit_trail, only_administrators_see_the_audit_pages);

async fn administrators_browse_and_export_the_audit_trail(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage \"Central\", Lyon").await;
    let page = admin.get("/admin/audit?entity_type=garage").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = crate::fixtures::html(&page);
    // Read by a person: the action in words, the record by its name with a link, who did it.
    assert!(html.contains("Journal d") && html.contains("Création"), "{html}");
    assert!(html.contains(&format!("href=\"/garages/{garage}\">Garage \"Central\", Lyon</a>")), "{html}");
    assert!(html.contains("<strong>Nom</strong> : <ins>Garage \"Central\", Lyon</ins>"), "{html}");
    let renamed = admin
        .put(&format!("/api/v1/garages/{garage}"), &json!({ "name": "Garage du Centre", "address": "1 rue Haute" }))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    let html = crate::fixtures::html(&admin.get("/admin/audit?entity_type=garage&action=update").await);
    assert!(
        html.contains("Modification")
            && html.contains("<del>Garage \"Central\", Lyon</del> → <ins>Garage du Centre</ins>"),
        "{html}"
    );
    assert!(html.contains("href=\"/admin/users/"), "the actor by name, linked: {html}");
    // Days picked with a date picker, read in the organization's zone ("to" included).
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let tomorrow = today.succ_opt().expect("date");
    let on =
        |from: chrono::NaiveDate, to: chrono::NaiveDate| format!("/admin/audit?entity_type=garage&from={from}&to={to}");
    assert!(crate::fixtures::html(&admin.get(&on(today, today)).await).contains("Garage du Centre"));
    assert!(crate::fixtures::html(&admin.get(&on(tomorrow, tomorrow)).await).contains("Aucune entrée"));
    for bad in ["2026-13-01", "20000-01-01", "0001-01-01"] {
        let status = admin.get(&format!("/admin/audit?from={bad}")).await.status;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let csv = admin.get("/admin/audit.csv?entity_type=garage&action=create").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").is_some_and(|d| d.contains("attachment")));
    // A French organization's spreadsheet reads `;`.
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(csv.body.as_slice());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[3], "action");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][3], "create");
    assert_eq!(&rows[0][5], garage.to_string());
    let changes: Value = serde_json::from_str(&rows[0][6]).expect("changes are JSON");
    assert_eq!(changes["name"][1], "Garage \"Central\", Lyon", "quotes and commas survive CSV");
    assert_eq!(admin.get("/admin/audit?action=explode").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn only_administrators_see_the_audit_pages(app: TestApp) {
    use axum::body::Body;
    use axum::http::Request;
    let manager = app.user("chef-atelier@garage.fr", &[Role::Manager]).await;
    let session =
        volant::identity::auth::issue(&app.db, &app.signing_key, &manager, "web").await.expect("session").token;
    for uri in ["/admin/audit", "/admin/audit.csv"] {
        let request = Request::get(uri)
            .header("cookie", format!("volant_session={session}"))
            .body(Body::empty())
            .expect("request");
        assert_eq!(app.anonymous().send(request).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let garages = Request::get("/garages")
        .header("cookie", format!("volant_session={session}"))
        .body(Body::empty())
        .expect("request");
    assert!(!app.anonymous().send(garages).await.text().contains("/admin/audit"), "no audit link for a manager");
    assert!(app.as_admin().get("/garages").await.text().contains("/admin/audit"), "an administrator has the link");
}

backend_tests!(each_organization_sees_only_its_own_audit_trail);

async fn each_organization_sees_only_its_own_audit_trail(app: TestApp) {
    use volant::identity::audit::Actor;
    let other = app.other_org().await.org().await;
    let theirs = volant::fleet::garages::service::create(
        &app.db,
        &Actor::system(other),
        &volant::fleet::garages::service::GarageInput {
            name: Some("Secret".into()),
            address: Some("Ailleurs".into()),
            ..Default::default()
        },
    )
    .await
    .expect("garage");
    app.garage("Chez nous").await;
    let ours = audit(&app, "").await;
    let their_id = theirs.id.to_string();
    assert!(!ours.iter().any(|r| r["entity_id"] == their_id.as_str() && r["entity_type"] == "garage"), "{ours:?}");
    assert!(!serde_json::to_string(&ours).expect("json").contains("Secret"));
    let page = app.as_admin().get("/admin/audit").await.text();
    assert!(!page.contains("Secret"));
}
