//! The French web UI, driven like a browser without JavaScript would (forms,
//! redirects, flash cookies), plus htmx fragments.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::backend_tests;
use crate::fixtures::{follow, html};
use crate::helpers::TestApp;

backend_tests!(
    garage_lifecycle_through_forms,
    garage_form_shows_errors_beside_fields_and_keeps_input,
    vehicle_form_duplicate_plate_names_plate_and_garage,
    vehicle_form_reports_non_numbers_without_a_500,
    vehicle_lifecycle_through_forms,
    deleting_a_garage_with_vehicles_explains_why_not,
    garage_page_lists_and_searches_its_vehicles,
    vehicles_page_paginates_with_a_next_link
);

async fn garage_lifecycle_through_forms(app: TestApp) {
    let admin = app.as_admin();
    let list = admin.get("/garages").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(html(&list).contains("Aucun garage pour l'instant"));

    let created = admin
        .post_form(
            "/garages",
            &[
                ("name", "Garage du Centre"),
                ("address", "12 rue de la République"),
                ("city", "Lyon"),
                ("postal_code", ""),
                ("phone", ""),
            ],
        )
        .await;
    let page = follow(&app, &created).await;
    let body = html(&page);
    assert!(body.contains("Garage « Garage du Centre » créé."), "{body}");
    let id: i64 = created.header("location").expect("location").trim_start_matches("/garages/").parse().expect("id");

    let edited = admin
        .post_form(
            &format!("/garages/{id}/edit"),
            &[("name", "Garage Central"), ("address", "12 rue de la République")],
        )
        .await;
    assert!(html(&follow(&app, &edited).await).contains("Garage Central"));

    let list = html(&admin.get("/garages").await);
    assert!(list.contains("Garage Central") && list.contains(&format!("/garages/{id}")));

    let confirm = html(&admin.get(&format!("/garages/{id}/delete")).await);
    assert!(confirm.contains("Supprimer définitivement le garage « Garage Central »"), "{confirm}");
    let deleted = admin.post_form(&format!("/garages/{id}/delete"), &[]).await;
    assert!(html(&follow(&app, &deleted).await).contains("Garage « Garage Central » supprimé."));
}

async fn garage_form_shows_errors_beside_fields_and_keeps_input(app: TestApp) {
    let response =
        app.as_admin().post_form("/garages", &[("name", ""), ("address", "Quelque part"), ("phone", "abc")]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = html(&response);
    assert!(body.contains("id=\"name-error\""), "{body}");
    assert!(body.contains("Ce champ est obligatoire."));
    assert!(body.contains("Numéro de téléphone invalide"));
    assert!(body.contains("value=\"Quelque part\""), "input kept");
    assert!(body.contains("aria-invalid=\"true\""));
}

async fn vehicle_form_duplicate_plate_names_plate_and_garage(app: TestApp) {
    let garage = app.garage("Garage du Centre").await;
    app.vehicle(garage, "AB-123-CD").await;
    let gid = garage.to_string();
    let response = app
        .as_admin()
        .post_form(
            "/vehicles",
            &[
                ("garage_id", &gid),
                ("license_plate", "ab 123 cd"),
                ("brand", "Peugeot"),
                ("model", "208"),
                ("year", "2020"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = html(&response);
    assert!(body.contains("id=\"license_plate-error\""), "{body}");
    assert!(body.contains("L'immatriculation AB-123-CD est déjà enregistrée au garage « Garage du Centre »"), "{body}");
    assert!(body.contains("value=\"ab 123 cd\""), "input kept");
}

async fn vehicle_form_reports_non_numbers_without_a_500(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let gid = garage.to_string();
    let response = admin
        .post_form(
            "/vehicles",
            &[
                ("garage_id", &gid),
                ("license_plate", "XY-123-ZZ"),
                ("brand", "Peugeot"),
                ("model", "208"),
                ("year", "deux mille"),
                ("mileage_km", "12 000"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = html(&response);
    assert!(body.contains("id=\"year-error\"") && body.contains("Saisissez un nombre entier."), "{body}");
    assert!(!body.contains("id=\"mileage_km-error\""), "12 000 is a number to a French reader");
    let bogus_garage = admin.post_form("/vehicles", &[("garage_id", "99999999999999999999999")]).await;
    assert_eq!(bogus_garage.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn vehicle_lifecycle_through_forms(app: TestApp) {
    let admin = app.as_admin();
    let a = app.garage("Atelier A").await;
    let b = app.garage("Atelier B").await;
    let (sa, sb) = (a.to_string(), b.to_string());
    let new_form = html(&admin.get(&format!("/vehicles/new?garage_id={a}")).await);
    assert!(new_form.contains(&format!("<option value=\"{a}\" selected>")), "{new_form}");

    let created = admin
        .post_form(
            "/vehicles",
            &[
                ("garage_id", &sa),
                ("license_plate", "LY-123-ON"),
                ("brand", "Renault"),
                ("model", "Clio"),
                ("year", "2018"),
                ("mileage_km", "84000"),
                ("fuel_type", "diesel"),
                ("color", "Gris"),
                ("vin", ""),
            ],
        )
        .await;
    let id: i64 = created.header("location").expect("location").trim_start_matches("/vehicles/").parse().expect("id");
    let page = html(&follow(&app, &created).await);
    assert!(page.contains("Véhicule LY-123-ON ajouté."));
    assert!(page.contains("84\u{202f}000 km") && page.contains("Diesel"), "{page}");

    let moved = admin.post_form(&format!("/vehicles/{id}/move"), &[("garage_id", &sb)]).await;
    assert!(html(&follow(&app, &moved).await).contains("Véhicule LY-123-ON déplacé vers Atelier B."));
    assert_eq!(admin.get(&format!("/api/v1/vehicles/{id}")).await.json()["garage_id"], b);

    let bad_move = admin.post_form(&format!("/vehicles/{id}/move"), &[("garage_id", "424242")]).await;
    assert_eq!(bad_move.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&bad_move).contains("Ce garage n'existe pas."));

    let edited = admin
        .post_form(
            &format!("/vehicles/{id}/edit"),
            &[
                ("garage_id", &sb),
                ("license_plate", "LY-123-ON"),
                ("brand", "Renault"),
                ("model", "Clio IV"),
                ("year", "2018"),
            ],
        )
        .await;
    assert!(html(&follow(&app, &edited).await).contains("Clio IV"));

    let deleted = admin.post_form(&format!("/vehicles/{id}/delete"), &[]).await;
    assert_eq!(deleted.header("location"), Some(format!("/garages/{b}").as_str()));
    assert!(html(&follow(&app, &deleted).await).contains("Véhicule LY-123-ON supprimé."));
    assert_eq!(admin.get(&format!("/vehicles/{id}")).await.status, StatusCode::NOT_FOUND);
}

async fn deleting_a_garage_with_vehicles_explains_why_not(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Plein").await;
    app.vehicle(garage, "PL-001-EN").await;
    let confirm = html(&admin.get(&format!("/garages/{garage}/delete")).await);
    assert!(confirm.contains("Ce garage contient encore 1 véhicule(s)"), "{confirm}");
    let refused = admin.post_form(&format!("/garages/{garage}/delete"), &[]).await;
    let page = html(&follow(&app, &refused).await);
    assert!(page.contains("Ce garage contient encore 1 véhicule(s)"), "{page}");
    assert_eq!(admin.get(&format!("/api/v1/garages/{garage}")).await.status, StatusCode::OK);
}

async fn garage_page_lists_and_searches_its_vehicles(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    app.vehicle(garage, "SE-001-AR").await;
    app.vehicle(garage, "CH-002-ED").await;
    let page = html(&admin.get(&format!("/garages/{garage}")).await);
    assert!(page.contains("SE-001-AR") && page.contains("CH-002-ED"));
    assert!(page.contains("<!doctype html>"));
    let fragment_request = Request::get(format!("/garages/{garage}?q=se001"))
        .header("hx-request", "true")
        .body(Body::empty())
        .expect("request");
    let fragment = admin.send(fragment_request).await;
    assert_eq!(fragment.status, StatusCode::OK);
    let body = html(&fragment);
    assert!(!body.contains("<!doctype html>"), "htmx gets the table alone");
    assert!(body.contains("SE-001-AR") && !body.contains("CH-002-ED"), "{body}");
    let boosted = Request::get(format!("/garages/{garage}"))
        .header("hx-request", "true")
        .header("hx-boosted", "true")
        .body(Body::empty())
        .expect("request");
    assert!(admin.send(boosted).await.text().contains("<!doctype html>"), "boosted navigation gets the page");
}

async fn vehicles_page_paginates_with_a_next_link(app: TestApp) {
    /// The address of the pager's link `rel` ("next" or "prev").
    fn pager_link(page: &str, rel: &str) -> Option<String> {
        let at = page.find(&format!("rel=\"{rel}\""))?;
        let start = page[..at].rfind("href=\"")? + 6;
        let end = start + page[start..].find('"')?;
        Some(page[start..end].to_owned())
    }
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    for i in 0..101 {
        app.vehicle(garage, &format!("WB-{i:03}-AA")).await;
    }
    let page = html(&admin.get("/vehicles").await);
    assert!(page.contains("WB-000-AA") && !page.contains("WB-050-AA"));
    let next = pager_link(&page, "next").expect("next link");
    let second = html(&admin.get(&next).await);
    assert!(second.contains("WB-050-AA") && second.contains("WB-099-AA") && !second.contains("WB-000-AA"));
    let third = html(&admin.get(&pager_link(&second, "next").expect("a third page")).await);
    assert!(third.contains("WB-100-AA") && !third.contains("WB-099-AA") && pager_link(&third, "next").is_none());
    // The whole count, and the way back page by page.
    assert!(page.contains("101 au total") && second.contains("101 au total"), "{page}");
    assert!(pager_link(&page, "prev").is_none(), "the first page has no page before it");
    assert!(third.contains("<span aria-hidden=\"true\">←</span> Page précédente</a>"), "{third}");
    let back = html(&admin.get(&pager_link(&third, "prev").expect("previous")).await);
    assert!(back.contains("WB-050-AA") && back.contains("WB-099-AA") && !back.contains("WB-100-AA"), "{back}");
    assert_eq!(pager_link(&back, "prev").as_deref(), Some("/vehicles"), "and back to the start");
    // A search (or an order) is kept both ways.
    let searched = html(&admin.get(&format!("{next}&q=WB")).await);
    assert_eq!(pager_link(&searched, "prev").as_deref(), Some("/vehicles?q=WB"), "{searched}");
}

#[tokio::test]
async fn unknown_pages_render_a_french_404() {
    let app = TestApp::sqlite().await;
    for uri in ["/nowhere", "/garages/999999", "/vehicles/abc", "/vehicles/999999/edit"] {
        let response = app.as_admin().get(uri).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(html(&response).contains("Page introuvable"), "{uri}");
    }
}

#[tokio::test]
async fn root_redirects_to_garages_and_pages_link_the_assets() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    // A business with steps left starts on its checklist, until it is put away.
    assert_eq!(admin.get("/").await.header("location"), Some("/welcome"));
    volant::identity::organizations::service::dismiss_welcome(&app.db, app.org, true).await.expect("dismissed");
    let root = admin.get("/").await;
    assert_eq!(root.header("location"), Some("/garages"));
    let page = html(&admin.get("/garages").await);
    assert!(page.contains("lang=\"fr\""));
    assert!(page.contains("/assets/app.css?v=") && page.contains("/assets/vendor/htmx/htmx.min.js?v="));
    assert!(page.contains("aria-current=\"page\""), "current navigation entry marked");
}

#[tokio::test]
async fn a_malformed_form_body_is_a_clear_error_page() {
    let app = TestApp::sqlite().await;
    let request = Request::post("/garages")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=%ZZ&name=2"))
        .expect("request");
    let response = app.as_admin().send(request).await;
    assert!(response.status.is_client_error(), "{}", response.status);
}

#[tokio::test]
async fn pages_stay_french_whatever_the_browser_language() {
    let app = TestApp::sqlite().await;
    let request = Request::post("/garages")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(Body::from(format!("name=&address=x&_csrf={}", app.csrf_for(app.admin_session().await))))
        .expect("request");
    let page = html(&app.as_admin().send(request).await);
    assert!(page.contains("Ce champ est obligatoire."), "{page}");
}
