//! Tenant isolation: another organization's rows are invisible (404, never 403)
//! on every route, and uniqueness rules hold within an organization.

use axum::http::StatusCode;
use serde_json::json;
use volant::fleet::garages::service::{self as garages, GarageInput};
use volant::fleet::vehicles::service::{self as vehicles, VehicleFilter, VehicleInput};
use volant::identity::audit::Actor;
use volant::identity::organizations::service::{self as organizations, NewOrganization};
use volant::platform::pagination::PageRequest;

use crate::backend_tests;
use crate::fixtures::fleet::vehicle_json;
use crate::helpers::TestApp;

fn garage_input(name: &str) -> GarageInput {
    GarageInput { name: Some(name.into()), address: Some("Rue 1".into()), ..Default::default() }
}

fn vehicle_input(garage_id: i64, plate: &str) -> VehicleInput {
    VehicleInput {
        garage_id: Some(garage_id),
        brand: Some("Toyota".into()),
        model: Some("Hilux".into()),
        year: Some(2015),
        license_plate: Some(plate.into()),
        ..Default::default()
    }
}

backend_tests!(
    another_organizations_rows_are_404_on_every_route,
    a_vehicle_cannot_point_at_another_organizations_garage,
    the_same_plate_may_live_in_two_organizations,
    the_default_organization_is_created_once
);

async fn another_organizations_rows_are_404_on_every_route(app: TestApp) {
    let admin = app.as_admin();
    let other = organizations::create(
        &app.db,
        NewOrganization { name: "Dakar Auto".into(), currency: "XOF".into(), ..Default::default() },
    )
    .await
    .expect("org");
    let their_garage =
        garages::create(&app.db, &Actor::system(other), &garage_input("Leur garage")).await.expect("garage").id;
    let their_vehicle = vehicles::create(&app.db, &Actor::system(other), &vehicle_input(their_garage, "DK-1234-AB"))
        .await
        .expect("vehicle")
        .id;
    let ours = app.garage("Notre garage").await;

    let g = format!("/api/v1/garages/{their_garage}");
    let v = format!("/api/v1/vehicles/{their_vehicle}");
    admin.get(&g).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get(&format!("{g}/vehicles")).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.put(&g, &json!({ "name": "x", "address": "y" })).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.patch(&g, &json!({ "name": "x" })).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.delete(&g).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.get(&v).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.put(&v, &vehicle_json(ours, "ZZ-000-ZZ")).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.patch(&v, &json!({ "color": "Rouge" })).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin.delete(&v).await.problem(StatusCode::NOT_FOUND, "not_found");
    for page in [
        format!("/garages/{their_garage}"),
        format!("/garages/{their_garage}/edit"),
        format!("/vehicles/{their_vehicle}"),
        format!("/vehicles/{their_vehicle}/move"),
    ] {
        assert_eq!(admin.get(&page).await.status, StatusCode::NOT_FOUND, "{page}");
    }
    assert_eq!(admin.post_form(&format!("/vehicles/{their_vehicle}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.post_form(&format!("/garages/{their_garage}/delete"), &[]).await.status, StatusCode::NOT_FOUND);

    let listed = admin.get("/api/v1/garages").await.json();
    assert_eq!(listed.as_array().expect("array").len(), 1, "{listed}");
    assert_eq!(admin.get("/api/v1/vehicles?q=DK").await.json().as_array().expect("array").len(), 0);
    assert!(!admin.get("/vehicles").await.text().contains("DK-1234-AB"));

    // Their data is untouched by all of the above.
    let theirs = vehicles::get(&app.db, other, their_vehicle).await.expect("still there");
    assert_eq!(theirs.color, None);
    assert_eq!(garages::get(&app.db, other, their_garage).await.expect("still there").name, "Leur garage");
}

async fn a_vehicle_cannot_point_at_another_organizations_garage(app: TestApp) {
    let admin = app.as_admin();
    let other = app.other_org().await.org().await;
    let their_garage =
        garages::create(&app.db, &Actor::system(other), &garage_input("Leur garage")).await.expect("garage").id;
    let response = admin.post("/api/v1/vehicles", &vehicle_json(their_garage, "CR-055-OR")).await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.error_fields(), ["garage_id"]);
    let ours = app.garage("Notre garage").await;
    let vehicle = app.vehicle(ours, "CR-056-OR").await;
    let moved = admin.patch(&format!("/api/v1/vehicles/{vehicle}"), &json!({ "garage_id": their_garage })).await;
    assert_eq!(moved.error_fields(), ["garage_id"]);
    let page = vehicles::list(&app.db, other, &VehicleFilter::default(), PageRequest::first(10)).await.expect("list");
    assert!(page.items.is_empty(), "nothing leaked into their organization");
}

async fn the_same_plate_may_live_in_two_organizations(app: TestApp) {
    let other = app.other_org().await.org().await;
    let their_garage =
        garages::create(&app.db, &Actor::system(other), &garage_input("Leur garage")).await.expect("garage").id;
    let theirs = vehicles::create(&app.db, &Actor::system(other), &vehicle_input(their_garage, "AB-123-CD"))
        .await
        .expect("theirs")
        .id;
    let ours = app.garage("Notre garage").await;
    app.vehicle(ours, "ab 123 cd").await;
    let again = vehicles::create(&app.db, &Actor::system(other), &vehicle_input(their_garage, "AB123CD")).await;
    // Refused within their organization, naming their own vehicle (never ours).
    assert!(
        matches!(
            again,
            Err(volant::platform::error::AppError::ConflictWith { code: "duplicate_plate", with_id, .. })
                if with_id == theirs
        ),
        "{again:?}"
    );
}

async fn the_default_organization_is_created_once(app: TestApp) {
    let again = organizations::ensure_default(&app.db).await.expect("default");
    assert_eq!(again, app.org);
}
