//! A walk-in customer in one screen (the new client's form takes their vehicle),
//! and a vehicle's owner changed from its page (an existing client, or a new one).

use axum::http::StatusCode;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::{follow, html};
use crate::helpers::TestApp;

backend_tests!(a_new_client_comes_with_their_vehicle_in_one_form, a_vehicles_owner_is_changed_from_its_page);

async fn a_new_client_comes_with_their_vehicle_in_one_form(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let form = html(&admin.get("/clients/new").await);
    assert!(form.contains("Son véhicule (facultatif)"), "{form}");
    assert!(
        form.contains(&format!("name=\"vehicle_garage_id\" value=\"{garage}\"")),
        "the only garage, chosen: {form}"
    );

    // Every mistake at once, the client's and the vehicle's; nothing is created.
    let refused = admin
        .post_form(
            "/clients",
            &[
                ("name", ""),
                ("vehicle_license_plate", "ab 123 cd"),
                ("vehicle_brand", "Renault"),
                ("vehicle_year", "1850"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&refused);
    for field in ["name", "vehicle_model", "vehicle_year"] {
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{field} is refused beside it: {page}");
    }
    assert!(page.contains("value=\"ab 123 cd\""), "what was typed stays: {page}");
    assert_eq!(admin.get("/api/v1/clients").await.json().as_array().map(Vec::len), Some(0));
    assert_eq!(admin.get("/api/v1/vehicles").await.json().as_array().map(Vec::len), Some(0));
    // A year that is not a number is said beside the vehicle's year.
    let typo = admin
        .post_form(
            "/clients",
            &[("name", "Jeanne Martin"), ("vehicle_license_plate", "AB-123-CD"), ("vehicle_year", "deux mille")],
        )
        .await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&typo).contains("id=\"vehicle_year-error\""), "{}", typo.text());

    // Right: both, linked, in one step.
    let fields = [
        ("name", "Jeanne Martin"),
        ("phone", "06 12 34 56 78"),
        ("vehicle_garage_id", &garage.to_string()),
        ("vehicle_license_plate", "AB-123-CD"),
        ("vehicle_brand", "Renault"),
        ("vehicle_model", "Clio"),
        ("vehicle_year", "2019"),
        ("vehicle_mileage_km", "84 000"),
    ];
    let created = admin.post_form("/clients", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let card = html(&follow(&app, &created).await);
    assert!(card.contains("Jeanne Martin") && card.contains("AB-123-CD"), "{card}");
    let vehicles = admin.get("/api/v1/vehicles").await.json();
    assert_eq!(vehicles[0]["mileage_km"], json!(84000));

    // A plate already registered refuses both, and says so beside the plate.
    let again = admin
        .post_form(
            "/clients",
            &[
                ("name", "Paul Durand"),
                ("vehicle_license_plate", "AB123CD"),
                ("vehicle_brand", "Peugeot"),
                ("vehicle_model", "208"),
                ("vehicle_year", "2020"),
                ("vehicle_garage_id", &garage.to_string()),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&again);
    assert!(page.contains("id=\"vehicle_license_plate-error\"") && page.contains("Garage du Centre"), "{page}");
    assert_eq!(
        admin.get("/api/v1/clients").await.json().as_array().map(Vec::len),
        Some(1),
        "no client without the car"
    );
}

async fn a_vehicles_owner_is_changed_from_its_page(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    let jeanne =
        crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin", "phone": "06 12 34 56 78" })).await;
    crate::fixtures::workshop::client(&app, json!({ "name": "Paul Martinez" })).await;

    let hub = html(&admin.get(&format!("/vehicles/{vehicle}/maintenance")).await);
    assert!(hub.contains(&format!("href=\"/vehicles/{vehicle}/owner\">Indiquer le propriétaire</a>")), "{hub}");
    // A search offers the clients by name, each with its own button.
    let page = html(&admin.get(&format!("/vehicles/{vehicle}/owner?q=mart")).await);
    assert!(page.contains("Ce véhicule n’a pas encore de propriétaire enregistré."), "{page}");
    assert!(page.find("Jeanne Martin").expect("jeanne") < page.find("Paul Martinez").expect("paul"), "{page}");
    assert!(page.contains("aria-label=\"Choisir Jeanne Martin comme propriétaire\""), "{page}");
    let chosen = admin.post_form(&format!("/vehicles/{vehicle}/owner"), &[("client_id", &jeanne.to_string())]).await;
    assert_eq!(chosen.header("location"), Some(format!("/vehicles/{vehicle}/maintenance").as_str()));
    let hub = html(&follow(&app, &chosen).await);
    assert!(
        hub.contains("Jeanne Martin est désormais le propriétaire du véhicule.")
            && hub.contains("Changer de propriétaire"),
        "{hub}"
    );

    // Sold to someone new: created and made owner in one step; Jeanne's period ends.
    let refused = admin.post_form(&format!("/vehicles/{vehicle}/owner/new"), &[("name", " ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sold = admin
        .post_form(&format!("/vehicles/{vehicle}/owner/new"), &[("name", "Émile Bernard"), ("phone", "07 00 00 00 01")])
        .await;
    assert_eq!(sold.status, StatusCode::SEE_OTHER, "{}", sold.text());
    let owners = admin.get(&format!("/api/v1/vehicles/{vehicle}/owners")).await.json();
    assert_eq!(owners.as_array().map(Vec::len), Some(2), "Jeanne's period ended, Émile's began: {owners}");
    let hub = html(&admin.get(&format!("/vehicles/{vehicle}/maintenance")).await);
    assert!(hub.contains("Émile Bernard"), "{hub}");
    // An unknown client is refused; a mechanic cannot change owners.
    let unknown = admin.post_form(&format!("/vehicles/{vehicle}/owner"), &[("client_id", "999999")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let mechanic = app.as_role(Role::Staff).await;
    assert_eq!(mechanic.get(&format!("/vehicles/{vehicle}/owner")).await.status, StatusCode::FORBIDDEN);
}

backend_tests!(the_vehicle_page_shows_what_the_workshop_knows_of_it);

async fn the_vehicle_page_shows_what_the_workshop_knows_of_it(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    let jeanne = crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin" })).await;
    admin.post(&format!("/api/v1/clients/{jeanne}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    // The fleet's page loads the workshop's glance for those who may read it…
    let page = html(&admin.get(&format!("/vehicles/{vehicle}")).await);
    assert!(page.contains(&format!("hx-get=\"/vehicles/{vehicle}/summary\"")), "{page}");
    let glance = html(&admin.get(&format!("/vehicles/{vehicle}/summary")).await);
    assert!(glance.contains(&format!("<a href=\"/clients/{jeanne}\">Jeanne Martin</a>")), "{glance}");
    assert!(
        glance.contains("Aucun entretien enregistré ici") && glance.contains("Changer de propriétaire"),
        "{glance}"
    );
    assert!(!glance.contains("<!doctype html>"), "a fragment");
    // …a mechanic sees it without the owner's change; another organization's vehicle is a 404.
    let mechanic = html(&app.as_role(Role::Staff).await.get(&format!("/vehicles/{vehicle}/summary")).await);
    assert!(mechanic.contains("Jeanne Martin") && !mechanic.contains("Changer de propriétaire"), "{mechanic}");
    let stranger = app.other_org().await;
    assert_eq!(stranger.get(&format!("/vehicles/{vehicle}/summary")).await.status, StatusCode::NOT_FOUND);
}
