//! The first minute of a business: its welcome checklist, ticked by what is done,
//! and the modules its kind runs.

use axum::http::StatusCode;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::{follow, html};
use crate::helpers::TestApp;

backend_tests!(
    the_checklist_ticks_each_step_as_it_is_done_and_can_be_put_away,
    a_driving_school_sees_its_own_modules_and_an_explained_empty_planning
);

async fn the_checklist_ticks_each_step_as_it_is_done_and_can_be_put_away(app: TestApp) {
    let admin = app.as_admin();
    assert_eq!(admin.get("/").await.header("location"), Some("/welcome"));
    let page = html(&admin.get("/welcome").await);
    assert!(page.contains("0 étape(s) sur 8"), "{page}");
    for step in ["/admin/organization", "/garages/new", "/vehicles/new", "/admin/mail", "/admin/invitations"] {
        assert!(page.contains(&format!("href=\"{step}\"")), "{step} to do: {page}");
    }
    assert!(page.contains("Inscrivez un premier candidat"));

    // Each step ticks itself once done.
    let garage = app.garage("Garage du Centre").await;
    app.vehicle(garage, "AB-123-CD").await;
    let page = html(&admin.get("/welcome").await);
    assert!(page.contains("2 étape(s) sur 8"), "{page}");
    assert!(!page.contains("href=\"/garages/new\"") && !page.contains("href=\"/vehicles/new\""), "{page}");

    // A garage has no school steps, and no school in its menu.
    admin.patch("/api/v1/organization", &json!({ "kind": "garage" })).await.assert_success();
    let page = html(&admin.get("/welcome").await);
    assert!(page.contains("2 étape(s) sur 5") && !page.contains("candidat"), "{page}");
    let garages = html(&admin.get("/garages").await);
    assert!(!garages.contains("href=\"/school/planning\"") && garages.contains("href=\"/quotes\""));

    // Managers see the steps they can take; the business's details are the administrators'.
    let manager = app.as_role(Role::Manager).await;
    let page = html(&manager.get("/welcome").await);
    assert!(!page.contains("href=\"/admin/organization\"") && page.contains("href=\"/admin/invitations\""), "{page}");
    assert!(page.contains("(par un administrateur)"), "what only an administrator can do is said so: {page}");
    assert_eq!(app.as_role(Role::Staff).await.get("/welcome").await.status, StatusCode::FORBIDDEN);

    // Put away, it no longer opens first; brought back, it does.
    let dismissed = admin.post_form("/welcome/dismiss", &[]).await;
    assert_eq!(dismissed.header("location"), Some("/garages"));
    assert!(html(&follow(&app, &dismissed).await).contains("masquée"));
    assert_eq!(admin.get("/").await.header("location"), Some("/garages"));
    admin.post_form("/welcome/restore", &[]).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/").await.header("location"), Some("/welcome"));
}

async fn a_driving_school_sees_its_own_modules_and_an_explained_empty_planning(app: TestApp) {
    let admin = app.as_admin();
    admin.patch("/api/v1/organization", &json!({ "kind": "school" })).await.assert_success();
    let planning = html(&admin.get("/school/planning").await);
    assert!(planning.contains("Aucun moniteur pour l’instant"), "{planning}");
    assert!(planning.contains("href=\"/school/instructors\"") && !planning.contains("class=\"week\""), "no empty grid");
    assert!(!planning.contains("href=\"/garages\"") && !planning.contains("href=\"/quotes\""), "no workshop menu");
    let page = html(&admin.get("/welcome").await);
    assert!(page.contains("sur 6") && !page.contains("/garages/new"), "{page}");
    admin.post_form("/welcome/dismiss", &[]).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/").await.header("location"), Some("/school/planning"));

    crate::fixtures::school::instructor(&app, &["B"]).await;
    let planning = html(&admin.get("/school/planning").await);
    assert!(planning.contains("Aucun candidat inscrit"), "{planning}");
    crate::fixtures::school::candidate(&app, json!({})).await;
    assert!(html(&admin.get("/school/planning").await).contains("class=\"week\""), "the grid once people exist");
}
