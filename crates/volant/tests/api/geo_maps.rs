//! Maps (issue 23): garages, clients and meeting points located through a stub
//! Nominatim-compatible geocoder on loopback (answers cached, a service down,
//! slow or answering nonsense never losing an address), pins, distances, and the
//! map pages.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::servers::{GeoStub, StubMode};
use volant::platform::geo;

backend_tests!(
    a_garage_is_located_from_its_address_and_the_answer_is_cached,
    a_pin_places_a_garage_by_hand_until_its_address_changes,
    a_geocoder_down_slow_or_answering_nonsense_keeps_the_address_and_tries_again,
    an_address_the_geocoder_does_not_know_asks_for_a_pin,
    a_client_page_shows_the_nearest_garages_as_the_crow_flies,
    the_map_page_lists_every_garage_with_its_address_and_allows_the_tiles,
    meeting_points_are_named_once_and_placed_like_garages,
    garages_and_clients_already_there_are_located_after_the_upgrade
);

async fn garage(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    let response = app.as_admin().post("/api/v1/garages", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn fetch(app: &TestApp, id: i64) -> serde_json::Value {
    let response = app.as_admin().get(&format!("/api/v1/garages/{id}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

async fn a_garage_is_located_from_its_address_and_the_answer_is_cached(app: TestApp) {
    let stub = GeoStub::start().await;
    let geocoder = stub.geocoder();
    let created = garage(
        &app,
        json!({ "name": "Garage du Centre", "address": "12 rue de la République", "postal_code": "69002", "city": "Lyon" }),
    )
    .await;
    assert_eq!(created["location_status"], "pending");
    assert_eq!(created["latitude"], serde_json::Value::Null);
    let id = created["id"].as_i64().expect("id");

    assert_eq!(geo::locate_due(&app.db, Some(&geocoder), chrono::Utc::now()).await.expect("locate"), 1);
    let located = fetch(&app, id).await;
    assert_eq!(located["location_status"], "located");
    assert_eq!(located["latitude"], 45.763);
    assert_eq!(located["longitude"], 4.8357);
    {
        let requests = stub.requests.lock().expect("requests");
        assert_eq!(requests.len(), 1);
        let (uri, agent) = &requests[0];
        assert!(uri.starts_with("/search?q=12+rue+de+la+R%C3%A9publique%2C+69002+Lyon"), "{uri}");
        assert!(uri.contains("format=jsonv2"), "{uri}");
        assert!(agent.starts_with("Volant/"), "the application names itself: {agent}");
    }

    // The same address written otherwise is answered from the cache.
    let twin = garage(
        &app,
        json!({ "name": "Annexe", "address": "12  RUE de la république", "postal_code": "69002", "city": "lyon" }),
    )
    .await;
    geo::locate_due(&app.db, Some(&geocoder), chrono::Utc::now()).await.expect("locate");
    let twin = fetch(&app, twin["id"].as_i64().expect("id")).await;
    assert_eq!(twin["location_status"], "located");
    assert_eq!(stub.count("/search"), 1, "answered from the cache");

    // Without a geocoder nothing is asked and the page says places are pinned by hand.
    let third = garage(&app, json!({ "name": "Sans carte", "address": "8 boulevard Saint-Michel" })).await;
    assert_eq!(geo::locate_due(&app.db, None, chrono::Utc::now()).await.expect("locate"), 0);
    let page = app.as_admin().get(&format!("/garages/{}", third["id"])).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Aucun service de géocodage"), "{}", page.text());
}

async fn a_pin_places_a_garage_by_hand_until_its_address_changes(app: TestApp) {
    let admin = app.as_admin();
    let id = garage(&app, json!({ "name": "Garage", "address": "Route sans nom" })).await["id"].as_i64().expect("id");
    let pinned = admin
        .put(
            &format!("/api/v1/garages/{id}"),
            &json!({ "name": "Garage", "address": "Route sans nom", "latitude": 45.5, "longitude": 4.25 }),
        )
        .await;
    assert_eq!(pinned.status, StatusCode::OK, "{}", pinned.text());
    assert_eq!(pinned.json()["location_status"], "pinned");
    assert_eq!(pinned.json()["latitude"], 45.5);

    // Another field changes: the pin stays.
    let renamed = admin.patch(&format!("/api/v1/garages/{id}"), &json!({ "name": "Garage Renommé" })).await;
    assert_eq!(renamed.json()["location_status"], "pinned");
    // The address changes: it is located again.
    let moved = admin.patch(&format!("/api/v1/garages/{id}"), &json!({ "address": "8 boulevard Saint-Michel" })).await;
    assert_eq!(moved.json()["location_status"], "pending");
    assert_eq!(moved.json()["latitude"], serde_json::Value::Null);

    for (body, field) in [
        (json!({ "latitude": 45.0 }), "longitude"),
        (json!({ "latitude": 91.0, "longitude": 4.0 }), "latitude"),
        (json!({ "latitude": 45.0, "longitude": -181.0 }), "longitude"),
    ] {
        let response = admin.patch(&format!("/api/v1/garages/{id}"), &body).await;
        response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(response.error_fields(), [field], "{body}");
    }
    let text = admin.patch(&format!("/api/v1/garages/{id}"), &json!({ "latitude": "quarante", "longitude": 4 })).await;
    assert_eq!(text.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text.text());

    // The form places the pin too (a comma as decimal separator), and says what it cannot read.
    let form = [
        ("name", "Garage Renommé"),
        ("address", "8 boulevard Saint-Michel"),
        ("latitude", "48,85"),
        ("longitude", "2,34"),
    ];
    let saved = admin.post_form(&format!("/garages/{id}/edit"), &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(fetch(&app, id).await["latitude"], 48.85);
    let bad = [("name", "Garage"), ("address", "8 boulevard Saint-Michel"), ("latitude", "nord"), ("longitude", "2")];
    let refused = admin.post_form(&format!("/garages/{id}/edit"), &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("value=\"nord\""), "what was typed stays");
    // The form sends its pin back: under a new address it is the copy, not a choice.
    let (lat, lon) = ("48.85", "2.34");
    let moved = [("name", "Garage"), ("address", "12 rue de la République"), ("latitude", lat), ("longitude", lon)];
    assert_eq!(admin.post_form(&format!("/garages/{id}/edit"), &moved).await.status, StatusCode::SEE_OTHER);
    assert_eq!(fetch(&app, id).await["location_status"], "pending", "the new address is located");
    // Pinned again, then the fields emptied: the pin is taken away.
    let pin = [("name", "Garage"), ("address", "12 rue de la République"), ("latitude", lat), ("longitude", lon)];
    admin.post_form(&format!("/garages/{id}/edit"), &pin).await;
    assert_eq!(fetch(&app, id).await["location_status"], "pinned");
    let blank = [("name", "Garage"), ("address", "12 rue de la République"), ("latitude", ""), ("longitude", "")];
    assert_eq!(admin.post_form(&format!("/garages/{id}/edit"), &blank).await.status, StatusCode::SEE_OTHER);
    assert_eq!(fetch(&app, id).await["location_status"], "pending");
}

async fn a_geocoder_down_slow_or_answering_nonsense_keeps_the_address_and_tries_again(app: TestApp) {
    let stub = GeoStub::start().await;
    let geocoder = stub.geocoder();
    for (n, mode) in [StubMode::Down, StubMode::Slow, StubMode::Malformed].into_iter().enumerate() {
        stub.set(mode);
        // Each its own address: a found one is cached.
        let address = format!("{} rue de la République", n + 1);
        let body = json!({ "name": format!("Garage {mode:?}"), "address": address, "city": "Lyon" });
        let id = garage(&app, body).await["id"].as_i64().expect("id");
        let now = chrono::Utc::now();
        geo::locate_due(&app.db, Some(&geocoder), now).await.expect("a failing geocoder is not the job's failure");
        let kept = fetch(&app, id).await;
        assert_eq!(kept["location_status"], "unavailable", "{mode:?}");
        assert_eq!(kept["address"], address);
        let page = app.as_admin().get(&format!("/garages/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("sera cherchée à nouveau automatiquement"), "{mode:?}");

        // Not before its time; then found once the service answers.
        stub.set(StubMode::Normal);
        geo::locate_due(&app.db, Some(&geocoder), now).await.expect("locate");
        assert_eq!(fetch(&app, id).await["location_status"], "unavailable", "waits before trying again");
        geo::locate_due(&app.db, Some(&geocoder), now + chrono::Duration::minutes(3)).await.expect("locate");
        assert_eq!(fetch(&app, id).await["location_status"], "located", "{mode:?}");
    }
}

async fn an_address_the_geocoder_does_not_know_asks_for_a_pin(app: TestApp) {
    let stub = GeoStub::start().await;
    let id =
        garage(&app, json!({ "name": "Perdu", "address": "Lieu-dit Nulle Part" })).await["id"].as_i64().expect("id");
    geo::locate_due(&app.db, Some(&stub.geocoder()), chrono::Utc::now()).await.expect("locate");
    assert_eq!(fetch(&app, id).await["location_status"], "not_found");
    let page = app.as_admin().get(&format!("/garages/{id}")).await;
    assert!(page.text().contains("Adresse introuvable sur la carte"), "{}", page.text());
    // A miss is cached too: another garage at the same address asks nothing.
    garage(&app, json!({ "name": "Perdu 2", "address": "lieu-dit nulle part" })).await;
    geo::locate_due(&app.db, Some(&stub.geocoder()), chrono::Utc::now()).await.expect("locate");
    assert_eq!(stub.count("/search"), 1);
}

async fn a_client_page_shows_the_nearest_garages_as_the_crow_flies(app: TestApp) {
    let stub = GeoStub::start().await;
    let admin = app.as_admin();
    let paris = json!({ "name": "Atelier Saint-Michel", "address": "8 bd Saint-Michel", "latitude": 48.8531, "longitude": 2.3440 });
    let lyon = json!({ "name": "Garage Part-Dieu", "address": "Rue du Lac", "latitude": 45.7606, "longitude": 4.8593 });
    garage(&app, paris).await;
    let near = garage(&app, lyon).await["id"].as_i64().expect("id");
    let client = admin
        .post(
            "/api/v1/clients",
            &json!({ "kind": "individual", "name": "Léa Martin", "address": "12 rue de la République\n69002 Lyon" }),
        )
        .await;
    assert_eq!(client.status, StatusCode::CREATED, "{}", client.text());
    let client = client.json()["id"].as_i64().expect("id");
    let waiting = admin.get(&format!("/api/v1/clients/{client}/distances")).await.json();
    assert_eq!(waiting["location"]["status"], "pending");
    assert_eq!(waiting["garages"], json!([]));

    geo::locate_due(&app.db, Some(&stub.geocoder()), chrono::Utc::now()).await.expect("locate");
    let found = admin.get(&format!("/api/v1/clients/{client}/distances")).await.json();
    assert_eq!(found["location"]["status"], "located");
    let garages = found["garages"].as_array().expect("garages");
    assert_eq!(garages.len(), 2);
    assert_eq!(garages[0]["garage_id"], near, "nearest first");
    let (first, second) =
        (garages[0]["distance_km"].as_f64().expect("km"), garages[1]["distance_km"].as_f64().expect("km"));
    assert!((first - 1.9).abs() < 0.2, "{first}");
    assert!((second - 391.0).abs() < 2.0, "{second}");

    let page = admin.get(&format!("/clients/{client}")).await;
    let html = page.text();
    assert!(html.contains("Garages les plus proches"), "{html}");
    assert!(html.contains("Garage Part-Dieu</a> — 1,9 km"), "{html}");

    // Without an address, no place and no distances.
    let nowhere = admin.post("/api/v1/clients", &json!({ "kind": "individual", "name": "Sans Adresse" })).await.json();
    let none = admin.get(&format!("/api/v1/clients/{}/distances", nowhere["id"])).await.json();
    assert_eq!(none, json!({ "location": null, "garages": [] }));
    admin.get("/api/v1/clients/999999/distances").await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn the_map_page_lists_every_garage_with_its_address_and_allows_the_tiles(app: TestApp) {
    garage(&app, json!({ "name": "Garage <Sud>", "address": "1 rue \"Basse\"", "city": "Nîmes", "latitude": 43.83, "longitude": 4.36 }))
        .await;
    garage(&app, json!({ "name": "Garage Nord", "address": "2 rue Haute", "city": "Lille" })).await;
    let page = app.as_admin().get("/garages/map").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("data-tiles=\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\""), "{html}");
    assert!(html.contains("© OpenStreetMap contributors"));
    assert!(html.contains("/assets/vendor/leaflet/leaflet.js"));
    // Each garage with its address, escaped; the one not yet located says so.
    assert!(html.contains("Garage &#60;Sud&#62;") || html.contains("Garage &lt;Sud&gt;"), "{html}");
    assert!(html.contains("data-lat=\"43.83\""));
    assert!(html.contains("Garage Nord</a> — 2 rue Haute, Lille"), "{html}");
    let csp = page.header("content-security-policy").expect("a policy").to_owned();
    assert!(csp.contains("img-src 'self' data: https://tile.openstreetmap.org;"), "{csp}");
    let leaflet = app.anonymous().get("/assets/vendor/leaflet/leaflet.js").await;
    assert_eq!(leaflet.status, StatusCode::OK);
    assert!(leaflet.text().contains("Leaflet 1.9.4"));
}

async fn meeting_points_are_named_once_and_placed_like_garages(app: TestApp) {
    let stub = GeoStub::start().await;
    let admin = app.as_admin();
    let created = admin
        .post(
            "/api/v1/school/meeting-points",
            &json!({ "name": "Gare Part-Dieu", "address": "Place Charles Béraudier, Part-Dieu, Lyon" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().expect("id");
    let twin =
        admin.post("/api/v1/school/meeting-points", &json!({ "name": "gare part-dieu", "address": "Ailleurs" })).await;
    twin.problem(StatusCode::CONFLICT, "meeting_point_exists");
    geo::locate_due(&app.db, Some(&stub.geocoder()), chrono::Utc::now()).await.expect("locate");
    let listed = admin.get("/api/v1/school/meeting-points").await.json();
    assert_eq!(listed[0]["location_status"], "located");
    assert_eq!(listed[0]["latitude"], 45.7606);

    let page = admin.get("/school/meeting-points").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("data-lat=\"45.7606\""));
    let form =
        [("name", "École"), ("address", "3 place Bellecour, Lyon"), ("latitude", "45,7578"), ("longitude", "4,832")];
    let added = admin.post_form("/school/meeting-points", &form).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let listed = admin.get("/api/v1/school/meeting-points").await.json();
    assert_eq!(listed[0]["name"], "École");
    assert_eq!(listed[0]["location_status"], "pinned");

    let deleted = admin.delete(&format!("/api/v1/school/meeting-points/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    admin.get(&format!("/api/v1/school/meeting-points/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
    // Another organization sees none of them.
    let theirs = app.other_org().await.get("/api/v1/school/meeting-points").await.json();
    assert_eq!(theirs, json!([]));
}

async fn garages_and_clients_already_there_are_located_after_the_upgrade(app: TestApp) {
    use migration::MigratorTrait;
    let stub = GeoStub::start().await;
    let admin = app.as_admin();
    let id = garage(
        &app,
        json!({ "name": "Ancien", "address": "12 rue de la République", "postal_code": "69002", "city": "Lyon" }),
    )
    .await["id"]
        .as_i64()
        .expect("id");
    let client = admin
        .post(
            "/api/v1/clients",
            &json!({ "kind": "individual", "name": "Ancienne", "address": "8 bd Saint-Michel\nParis" }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    admin.post("/api/v1/clients", &json!({ "kind": "individual", "name": "Sans adresse" })).await.assert_success();
    // Made before maps existed: the upgrade queues them for the geocoder.
    migration::Migrator::down(&app.db, Some(1)).await.expect("down");
    migration::Migrator::up(&app.db, None).await.expect("up");
    let waiting = fetch(&app, id).await;
    assert_eq!(waiting["location_status"], "pending");
    geo::locate_due(&app.db, Some(&stub.geocoder()), chrono::Utc::now()).await.expect("locate");
    assert_eq!(fetch(&app, id).await["location_status"], "located");
    let distances = admin.get(&format!("/api/v1/clients/{client}/distances")).await.json();
    assert_eq!(distances["location"]["status"], "located", "{distances}");
    let asked: Vec<String> = stub.requests.lock().expect("requests").iter().map(|(uri, _)| uri.clone()).collect();
    assert_eq!(asked.len(), 2, "the client without an address is not asked: {asked:?}");
    assert!(asked.iter().any(|uri| uri.contains("q=12+rue+de+la+R%C3%A9publique%2C+69002+Lyon")), "{asked:?}");
    assert!(asked.iter().any(|uri| uri.contains("q=8+bd+Saint-Michel%2C+Paris")), "lines become commas: {asked:?}");
}
