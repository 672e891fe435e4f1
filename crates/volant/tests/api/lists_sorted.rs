//! Garages, vehicles, clients and candidates sort by their columns, in the API
//! (`sort=`, keyset pages that follow `Link`) and in the lists' headings; a
//! searched list counts what it finds.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::html;
use crate::helpers::{TestApp, TestClient};

/// Every page of `uri` (two rows at a time, following `Link`): each row's `field`,
/// each row once.
async fn walk(client: &TestClient<'_>, uri: &str, field: &str) -> Vec<Value> {
    let (mut seen, mut ids) = (Vec::new(), Vec::<Value>::new());
    let separator = if uri.contains('?') { '&' } else { '?' };
    let mut next = Some(format!("{uri}{separator}limit=2"));
    while let Some(page_uri) = next {
        let page = client.get(&page_uri).await;
        page.assert_status(StatusCode::OK);
        for row in page.json().as_array().expect("array") {
            assert!(!ids.contains(&row["id"]), "each row once: {row}");
            ids.push(row["id"].clone());
            seen.push(row[field].clone());
        }
        next = page.next_link();
    }
    seen
}

fn strings(values: &[Value]) -> Vec<&str> {
    values.iter().map(|v| v.as_str().expect("a string")).collect()
}

crate::backend_tests!(garages_sort_by_name_accents_aside_and_by_vehicle_count);

async fn garages_sort_by_name_accents_aside_and_by_vehicle_count(app: TestApp) {
    let admin = app.as_admin();
    // Created in no order; "Élan" sorts with the E's, not after "Zénith".
    let zenith = app.garage("Zénith Auto").await;
    let elan = app.garage("Élan Garage").await;
    let abc = app.garage("ABC Mécanique").await;
    let _ = app.garage("eco Pneus").await;
    for plate in ["AA-100-AA", "AA-101-AA"] {
        app.vehicle(elan, plate).await;
    }
    app.vehicle(abc, "AA-102-AA").await;
    let names = walk(&admin, "/api/v1/garages?sort=name", "name").await;
    assert_eq!(strings(&names), ["ABC Mécanique", "eco Pneus", "Élan Garage", "Zénith Auto"]);
    let names = walk(&admin, "/api/v1/garages?sort=-name", "name").await;
    assert_eq!(strings(&names), ["Zénith Auto", "Élan Garage", "eco Pneus", "ABC Mécanique"]);
    // Most vehicles first; equal counts keep a stable order across pages.
    let counts = walk(&admin, "/api/v1/garages?sort=-vehicles", "vehicle_count").await;
    assert_eq!(counts, [json!(2), json!(1), json!(0), json!(0)]);
    // The default is unchanged: creation order.
    let ids = walk(&admin, "/api/v1/garages", "id").await;
    assert_eq!(ids.first(), Some(&json!(zenith)));
    admin.get("/api/v1/garages?sort=city").await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(admin.get("/api/v1/garages?sort=name&cursor=i3").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(admin.get("/api/v1/garages?sort=name&cursor=t3.zz").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The page lists by name, its headings sort and say so to screen readers.
    let page = html(&admin.get("/garages").await);
    let (a, z) = (page.find("ABC Mécanique").expect("abc"), page.find("Zénith Auto").expect("zenith"));
    assert!(a < z, "by name");
    assert!(page.contains("aria-sort=\"ascending\"><a class=\"sort\" href=\"/garages?sort=-name\">"), "{page}");
    assert!(page.contains("<option value=\"-vehicles\">Le plus de véhicules</option>"), "{page}");
    let page = html(&admin.get("/garages?sort=-vehicles").await);
    assert!(page.find("Élan Garage").expect("elan") < page.find("ABC Mécanique").expect("abc"), "most vehicles first");
    assert!(page.contains("class=\"num\" aria-sort=\"descending\""), "{page}");
}

crate::backend_tests!(vehicles_sort_by_plate_and_year_searched_or_not_and_count_what_a_search_finds);

async fn vehicles_sort_by_plate_and_year_searched_or_not_and_count_what_a_search_finds(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let other = app.garage("Garage du Port").await;
    for (plate, brand, year, at) in [
        ("ZZ-900-AA", "Peugeot", 2012, garage),
        ("AB-123-CD", "Renault", 2020, garage),
        ("MM-500-MM", "Peugeot", 2018, other),
        ("ab-124-cd", "Peugeot", 2018, garage),
    ] {
        let body = json!({ "garage_id": at, "brand": brand, "model": "Modèle", "year": year, "license_plate": plate });
        admin.post("/api/v1/vehicles", &body).await.assert_status(StatusCode::CREATED);
    }
    let plates = walk(&admin, "/api/v1/vehicles?sort=plate", "license_plate").await;
    assert_eq!(strings(&plates), ["AB-123-CD", "ab-124-cd", "MM-500-MM", "ZZ-900-AA"], "case and dashes aside");
    let years = walk(&admin, "/api/v1/vehicles?sort=-year", "year").await;
    assert_eq!(years, [json!(2020), json!(2018), json!(2018), json!(2012)]);
    // A search merges its ways of matching (plate, brand) in the asked order.
    let found = walk(&admin, "/api/v1/vehicles?q=peugeot&sort=-plate", "license_plate").await;
    assert_eq!(strings(&found), ["ZZ-900-AA", "MM-500-MM", "ab-124-cd"]);
    let found = walk(&admin, "/api/v1/vehicles?q=ab&sort=-year", "license_plate").await;
    assert_eq!(strings(&found), ["AB-123-CD", "ab-124-cd"]);
    let garage_only = walk(&admin, &format!("/api/v1/garages/{garage}/vehicles?sort=year"), "year").await;
    assert_eq!(garage_only, [json!(2012), json!(2018), json!(2020)]);
    assert_eq!(admin.get("/api/v1/vehicles?sort=colour").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The page: its heading counts what the search finds, the headings keep the search.
    let page = html(&admin.get("/vehicles?q=peugeot&sort=-plate").await);
    assert!(page.contains("3 correspondant(s)"), "{page}");
    assert!(page.find("ZZ-900-AA").expect("zz") < page.find("ab-124-cd").expect("ab"), "{page}");
    assert!(
        page.contains("aria-sort=\"descending\"><a class=\"sort\" href=\"/vehicles?q=peugeot&sort=plate\">"),
        "{page}"
    );
    assert!(html(&admin.get("/vehicles").await).contains("4 au total"));
    // A live search swaps the count in the heading too.
    let live = axum::http::Request::get("/vehicles?q=mm").header("hx-request", "true").body(axum::body::Body::empty());
    let fragment = html(&admin.send(live.expect("request")).await);
    assert!(
        fragment
            .contains("<span id=\"list-count\" class=\"count muted\" hx-swap-oob=\"true\">1 correspondant(s)</span>"),
        "{fragment}"
    );
    // A search that no way can match counts nothing, and says so.
    assert!(html(&admin.get("/vehicles?q=-").await).contains("0 correspondant(s)"));
}

crate::backend_tests!(clients_sort_by_the_name_they_are_shown_with_and_a_search_counts_its_matches);

async fn clients_sort_by_the_name_they_are_shown_with_and_a_search_counts_its_matches(app: TestApp) {
    let admin = app.as_admin();
    let with = |name: &str| json!({ "name": name, "phone": "06 12 34 56 78" });
    for body in [
        with("Zoé Martin"),
        with("émile Bernard"),
        json!({ "name": "Paul Durand", "kind": "company", "company_name": "Ambulances du Lac" }),
        with("Martine Robert"),
    ] {
        crate::fixtures::workshop::client(&app, body).await;
    }
    let shown = |rows: &[Value]| -> Vec<String> {
        rows.iter().map(|c| c["company_name"].as_str().or(c["name"].as_str()).expect("a name").to_owned()).collect()
    };
    assert_eq!(walk(&admin, "/api/v1/clients?sort=name", "name").await.len(), 4, "every page, each client once");
    let all = admin.get("/api/v1/clients?sort=name&limit=10").await.json();
    let all = all.as_array().expect("array").clone();
    assert_eq!(shown(&all), ["Ambulances du Lac", "émile Bernard", "Martine Robert", "Zoé Martin"], "as shown");
    // Searched and sorted: every word's start, in the asked order, across pages.
    let mut found = Vec::new();
    let mut next = Some("/api/v1/clients?q=mart&sort=-name&limit=1".to_owned());
    while let Some(uri) = next {
        let page = admin.get(&uri).await;
        found.extend(shown(page.json().as_array().expect("array")));
        next = page.next_link();
    }
    assert_eq!(found, ["Zoé Martin", "Martine Robert"]);
    assert_eq!(admin.get("/api/v1/clients?sort=email").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The page lists by name and counts what a search finds.
    let page = html(&admin.get("/clients").await);
    assert!(page.find("Ambulances du Lac").expect("a") < page.find("Zoé Martin").expect("z"), "{page}");
    assert!(page.contains("4 au total"), "{page}");
    let page = html(&admin.get("/clients?q=mart").await);
    assert!(page.contains("2 correspondant(s)"), "{page}");
    assert!(
        page.contains("<option value=\"name\" selected>Nom, de A à Z</option>"),
        "the search form keeps the order: {page}"
    );
    let page = html(&admin.get("/clients?q=mart&sort=-name").await);
    assert!(page.find("Zoé Martin").expect("z") < page.find("Martine Robert").expect("m"), "{page}");
}

crate::backend_tests!(candidates_sort_by_last_name_and_registration_and_a_search_counts_its_matches);

async fn candidates_sort_by_last_name_and_registration_and_a_search_counts_its_matches(app: TestApp) {
    use crate::fixtures::school::candidate;
    let admin = app.as_admin();
    for (first, last, on) in
        [("Hugo", "Zidane", "2026-03-01"), ("Léa", "Écuyer", "2026-01-10"), ("Ana", "Ecuyer", "2026-02-01")]
    {
        candidate(&app, json!({ "first_name": first, "last_name": last, "registered_on": on })).await;
    }
    let last = walk(&admin, "/api/v1/school/candidates?sort=name", "last_name").await;
    assert_eq!(strings(&last), ["Ecuyer", "Écuyer", "Zidane"], "last name, then first name, accents aside");
    let on = walk(&admin, "/api/v1/school/candidates?sort=-registered_on", "registered_on").await;
    assert_eq!(strings(&on), ["2026-03-01", "2026-02-01", "2026-01-10"]);
    assert_eq!(admin.get("/api/v1/school/candidates?sort=age").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let page = html(&admin.get("/school/candidates").await);
    assert!(page.find("Zidane").expect("z") > page.find("Écuyer").expect("e"), "by name: {page}");
    assert!(page.contains("3 au total"), "{page}");
    let page = html(&admin.get("/school/candidates?q=ecu&sort=-registered_on").await);
    assert!(page.contains("2 correspondant(s)"), "{page}");
    assert!(page.find("Ana").expect("ana") < page.find("Léa").expect("léa"), "latest registered first: {page}");
    assert!(page.contains("<option value=\"-registered_on\" selected>"), "{page}");
}

crate::backend_tests!(an_upgrade_gives_existing_rows_their_sort_names);

async fn an_upgrade_gives_existing_rows_their_sort_names(app: TestApp) {
    use migration::MigratorTrait;
    let admin = app.as_admin();
    for name in ["Zénith Auto", "Élan Garage", "ABC Mécanique"] {
        app.garage(name).await;
    }
    crate::fixtures::workshop::client(&app, json!({ "name": "Zoé Martin" })).await;
    crate::fixtures::workshop::client(&app, json!({ "name": "Émile Bernard" })).await;
    crate::fixtures::school::candidate(&app, json!({ "first_name": "Léa", "last_name": "Écuyer" })).await;
    // Back to before sort names (and the migrations since), then up again, as an upgrade does.
    let migrations = migration::Migrator::migrations();
    let sort_names = migrations.iter().position(|m| m.name().ends_with("_sort_names")).expect("sort names migration");
    let steps = u32::try_from(migrations.len() - sort_names).expect("steps");
    migration::Migrator::down(&app.db, Some(steps)).await.expect("down");
    migration::Migrator::up(&app.db, None).await.expect("up");
    let names = walk(&admin, "/api/v1/garages?sort=name", "name").await;
    assert_eq!(strings(&names), ["ABC Mécanique", "Élan Garage", "Zénith Auto"]);
    let clients = walk(&admin, "/api/v1/clients?sort=name", "name").await;
    assert_eq!(strings(&clients), ["Émile Bernard", "Zoé Martin"]);
    // A candidate's search name loses its accents: "ecu" finds "Écuyer".
    let found = walk(&admin, "/api/v1/school/candidates?q=ecu", "last_name").await;
    assert_eq!(strings(&found), ["Écuyer"]);
}

crate::backend_tests!(empty_lists_say_what_to_do_first_to_those_who_may);

async fn empty_lists_say_what_to_do_first_to_those_who_may(app: TestApp) {
    use volant::identity::roles::Role;
    let admin = app.as_admin();
    for (uri, first_step) in [
        ("/vehicles", "« Ajouter un véhicule » l’enregistre dans un garage"),
        ("/clients", "« Nouveau client » enregistre un client, et sa voiture dans le même écran."),
        ("/quotes", "« Nouveau devis » en écrit un pour un client et son véhicule"),
        ("/school/candidates", "« Nouveau candidat » ouvre son dossier"),
        ("/school/exams", "Une session (code ou conduite, date, centre, places) se programme ci-dessous"),
    ] {
        let page = html(&admin.get(uri).await);
        assert!(page.contains(first_step), "{uri}: {page}");
    }
    // A search that finds nothing says so, not how to begin.
    assert!(html(&admin.get("/school/candidates?q=zz").await).contains("Aucun candidat ne correspond."));
    // Someone who may not add any is told there is none, not which button to press.
    let mechanic = app.as_role(Role::Staff).await;
    let page = html(&mechanic.get("/clients").await);
    assert!(page.contains("Aucun client enregistré.") && !page.contains("« Nouveau client »"), "{page}");
}

crate::backend_tests!(a_long_name_in_any_script_is_kept_and_found);

async fn a_long_name_in_any_script_is_kept_and_found(app: TestApp) {
    use crate::fixtures::school::candidate;
    let admin = app.as_admin();
    // 100 Hangul syllables: unaccented for search, each stays one character.
    let last: String = "김".repeat(100);
    candidate(&app, json!({ "first_name": "민준", "last_name": last })).await;
    let found = walk(&admin, "/api/v1/school/candidates?q=%EA%B9%80%EA%B9%80&sort=name", "last_name").await;
    assert_eq!(found.len(), 1);
}
