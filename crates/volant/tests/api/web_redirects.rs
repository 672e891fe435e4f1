//! Redirect targets given by the client (`next` after sign-in, `back` after an
//! action): only paths of this site, and never a 500 for a target that cannot be
//! a header.

use std::num::NonZeroU32;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use volant::identity::roles::Role;

use crate::helpers::{TEST_CSRF, TEST_PASSWORD, TestApp};

const EMAIL: &str = "accueil@garage-centre.fr";

fn login(app: &TestApp, next: &str) -> Request<Body> {
    let fields = [("email", EMAIL), ("password", TEST_PASSWORD), ("next", next), ("_csrf", &app.csrf_for(""))];
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("volant_csrf={TEST_CSRF}"))
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request")
}

#[tokio::test]
async fn sign_in_goes_to_next_only_when_it_is_a_path_of_this_site() {
    let app = TestApp::sqlite_with(|c| c.login_attempts_per_minute = NonZeroU32::new(100).expect("n")).await;
    app.user(EMAIL, &[Role::Manager]).await;
    let kept = app.anonymous().send(login(&app, "/vehicles?q=a%20b")).await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER);
    assert_eq!(kept.header("location"), Some("/vehicles?q=a%20b"));
    for next in [
        "/x\r\nSet-Cookie: pirate=1",
        "/x\nabc",
        "/%09/evil.example",
        "/\t/evil.example",
        "//evil.example",
        "/%2F/evil.example",
        "/%5C/evil.example",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let response = app.anonymous().send(login(&app, next)).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{next:?}: {}", response.text());
        assert_eq!(response.header("location"), Some("/"), "{next:?}");
        assert!(
            response
                .headers
                .get_all("set-cookie")
                .iter()
                .any(|c| c.to_str().is_ok_and(|c| c.starts_with("volant_session="))),
            "{next:?}: signed in all the same"
        );
    }
    // A NUL anywhere in a form is refused before anything else (never a server error).
    let nul = app.anonymous().send(login(&app, "/x\0")).await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nul.text());
    assert!(nul.header("location").is_none());
    // The sign-in page does not offer such a target either.
    let page = app
        .anonymous()
        .send(Request::get("/login?next=%2F%2509%2Fevil.example").body(Body::empty()).expect("request"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("evil.example"), "{}", page.text());
}

#[tokio::test]
async fn the_alerts_page_comes_back_only_to_this_site() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "MT-100-AA").await;
    let reading =
        admin.post_form(&format!("/vehicles/{vehicle}/mileage"), &[("mileage_km", "80000"), ("read_on", "")]).await;
    assert_eq!(reading.status, StatusCode::SEE_OTHER, "{}", reading.text());
    let alerts = admin.get(&format!("/api/v1/alerts?vehicle_id={vehicle}")).await.json();
    let alert = alerts[0]["id"].as_i64().expect("an alert");
    let kept = admin
        .post_form(&format!("/alerts/{alert}"), &[("action", "acknowledge"), ("back", "/alerts?window=overdue")])
        .await;
    assert_eq!(kept.header("location"), Some("/alerts?window=overdue"));
    for back in
        ["/%09/evil.example", "/\t/evil.example", "//evil.example", "/%2F/evil.example", "/%5C/evil.example", "/x\r\n"]
    {
        let response = admin.post_form(&format!("/alerts/{alert}"), &[("action", "reopen"), ("back", back)]).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{back:?}: {}", response.text());
        assert_eq!(response.header("location"), Some("/alerts"), "{back:?}");
    }
    let nul = admin.post_form(&format!("/alerts/{alert}"), &[("action", "reopen"), ("back", "/x\0")]).await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY, "a NUL is refused before anything else");
}
