//! With a read replica, API lists, the dashboard and reports read it, while
//! writes and the reads that must see them go to the primary. The stand-in
//! replica is another database with the same schema and different rows, so
//! each answer shows where it was read.

use axum::http::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::json;
use volant::platform::db::{self, DbSettings};

use crate::backend_tests;
use crate::helpers::{TestApp, json_request, send};

backend_tests!(lists_and_reports_read_the_replica_while_writes_go_to_the_primary);

async fn lists_and_reports_read_the_replica_while_writes_go_to_the_primary(app: TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let schema = format!("vt_replica_{}", fastrand::u32(..));
    let replica = if app.database_url().starts_with("postgres") {
        app.db.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.expect("schema");
        let url = std::env::var("TEST_DATABASE_URL").expect("url");
        db::connect(&DbSettings { url, max_connections: 2, schema: Some(schema.clone()), sqlite_mmap_bytes: 0 })
            .await
            .expect("replica")
    } else {
        db::connect(&DbSettings::new(format!("sqlite://{}?mode=rwc", dir.path().join("replica.db").display()), 2))
            .await
            .expect("replica")
    };
    db::migrate(&replica).await.expect("schema");
    let org = volant::identity::organizations::service::ensure_default(&replica).await.expect("org");
    assert_eq!(org, app.org);
    let input = volant::fleet::garages::service::GarageInput {
        name: Some("Vu sur le réplica".into()),
        address: Some("1 rue Lointaine".into()),
        ..Default::default()
    };
    volant::fleet::garages::service::create(&replica, &volant::identity::audit::Actor::system(org), &input)
        .await
        .expect("replica garage");

    let mut state = app.state.clone();
    state.replica = replica.clone();
    let router = volant::App::over(state).expect("app").router;
    let as_admin = async |method: Method, uri: &str, body: &serde_json::Value| {
        send(router.clone(), app.as_admin().authorize(json_request(method, uri, body)).await).await
    };

    let created = as_admin(
        Method::POST,
        "/api/v1/garages",
        &json!({
            "name": "Écrit sur le primaire",
            "address": "2 rue Proche"
        }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().expect("id");
    // Read-your-writes: the garage just made is there, from the primary.
    assert_eq!(as_admin(Method::GET, &format!("/api/v1/garages/{id}"), &json!(null)).await.status, StatusCode::OK);
    // The list reads the replica.
    let listed = as_admin(Method::GET, "/api/v1/garages", &json!(null)).await.json();
    let names: Vec<&str> = listed.as_array().expect("list").iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, vec!["Vu sur le réplica"]);
    let dashboard = as_admin(Method::GET, "/api/v1/dashboard", &json!(null)).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.text().contains("Vu sur le réplica") && !dashboard.text().contains("Écrit sur le primaire"));
    let _ = replica.close().await;
    if app.database_url().starts_with("postgres") {
        let _ = app.db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await;
    }
}
