//! Answers to signed-in requests are never stored by caches; HTTPS is remembered
//! (HSTS) when the request came over it; the CSRF token is bound to the session.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use volant::identity::roles::Role;

use crate::helpers::{TEST_CSRF, TEST_PASSWORD, TestApp, TestResponse, form_request};

fn get(uri: &str, cookies: &str) -> Request<Body> {
    Request::get(uri).header(header::COOKIE, cookies).body(Body::empty()).expect("request")
}

fn set_cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().expect("pair").to_owned())
}

/// The hidden `_csrf` value of a page's first form.
fn csrf_field(page: &TestResponse) -> String {
    let text = page.text();
    let start = text.find("name=\"_csrf\" value=\"").expect("a CSRF field") + "name=\"_csrf\" value=\"".len();
    text[start..].split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn a_csrf_token_holds_only_for_its_own_session() {
    let app = TestApp::sqlite().await;
    let session = app.admin_session().await.to_owned();
    let other = app.token_for("autre@garage.fr", &[Role::Admin]).await;
    let other_session = volant::identity::auth::issue(
        &app.db,
        &app.signing_key,
        &app.user("tiers@garage.fr", &[Role::Admin]).await,
        "web",
    )
    .await
    .expect("session")
    .token;
    let garage = [("name", "Garage"), ("address", "1 rue")];
    let with = |cookie_nonce: &str, token: &str| {
        let mut fields = garage.to_vec();
        fields.push(("_csrf", token));
        form_request("/garages", &format!("volant_session={session}; volant_csrf={cookie_nonce}"), &fields)
    };
    // Cookie tossing: a value the attacker chose, in the cookie and in the form.
    let chosen = "a".repeat(64);
    assert_eq!(app.anonymous().send(with(&chosen, &chosen)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.anonymous().send(with(TEST_CSRF, TEST_CSRF)).await.status, StatusCode::FORBIDDEN);
    // A token made for another session (or for an API token, or signed out) does not pass.
    for foreign in [app.csrf_for(&other_session), app.csrf_for(&other), app.csrf_for("")] {
        assert_eq!(app.anonymous().send(with(TEST_CSRF, &foreign)).await.status, StatusCode::FORBIDDEN);
    }
    // Nor one for another nonce.
    assert_eq!(app.anonymous().send(with(&chosen, &app.csrf_for(&session))).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.as_admin().get("/api/v1/garages").await.json().as_array().expect("array").len(),
        0,
        "nothing was created"
    );
    // The page's own token passes, in the form or in the header htmx sends.
    let page =
        app.anonymous().send(get("/garages/new", &format!("volant_session={session}; volant_csrf={TEST_CSRF}"))).await;
    let token = csrf_field(&page);
    assert_eq!(token, app.csrf_for(&session));
    assert_eq!(app.anonymous().send(with(TEST_CSRF, &token)).await.status, StatusCode::SEE_OTHER);
    let mut by_header = form_request(
        "/garages",
        &format!("volant_session={session}; volant_csrf={TEST_CSRF}"),
        &[("name", "Deux"), ("address", "2 rue")],
    );
    by_header.headers_mut().insert("x-csrf-token", token.parse().expect("header"));
    assert_eq!(app.anonymous().send(by_header).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_browser_signs_in_and_posts_with_the_tokens_its_pages_gave() {
    let app = TestApp::sqlite().await;
    app.user("accueil@garage.fr", &[Role::Manager]).await;
    let login_page = app.anonymous().send(get("/login", "")).await;
    let nonce = set_cookie(&login_page, "volant_csrf").expect("a CSRF cookie");
    let signed_in = app
        .anonymous()
        .send(form_request(
            "/login",
            &nonce,
            &[("email", "accueil@garage.fr"), ("password", TEST_PASSWORD), ("_csrf", &csrf_field(&login_page))],
        ))
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text());
    let session = set_cookie(&signed_in, "volant_session").expect("session");
    let cookies = format!("{session}; {nonce}");
    // The sign-in page's token was for no session: the new session's pages give a new one.
    let stale =
        form_request("/garages", &cookies, &[("name", "G"), ("address", "A"), ("_csrf", &csrf_field(&login_page))]);
    assert_eq!(app.anonymous().send(stale).await.status, StatusCode::FORBIDDEN);
    let page = app.anonymous().send(get("/garages/new", &cookies)).await;
    let created = app
        .anonymous()
        .send(form_request("/garages", &cookies, &[("name", "G"), ("address", "A"), ("_csrf", &csrf_field(&page))]))
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
}

#[tokio::test]
async fn signed_in_answers_are_not_stored_by_caches() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    for uri in ["/garages", &format!("/garages/{garage}")] {
        let page = admin.get(uri).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.header("cache-control"), Some("no-store"), "{uri}");
    }
    let token = app.admin_token().await.to_owned();
    for uri in ["/api/v1/garages", &format!("/api/v1/garages/{garage}"), "/api/v1/auth/me", "/api/v1/nothing-here"] {
        assert_eq!(app.with_token(&token).get(uri).await.header("cache-control"), Some("no-store"), "{uri}");
    }
    let export = admin.get("/api/v1/exports/clients.xlsx").await;
    assert_eq!(export.header("cache-control"), Some("private, no-store"), "its own choice is kept");
    // Signed out, and static files even when signed in, are left to their own rules.
    let login = app.anonymous().send(get("/login", "")).await;
    assert_ne!(login.header("cache-control"), Some("no-store"));
    let session = app.admin_session().await.to_owned();
    let asset = app.anonymous().send(get("/assets/app.css", &format!("volant_session={session}"))).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert!(
        asset.header("cache-control").is_some_and(|c| c.contains("max-age")),
        "{:?}",
        asset.header("cache-control")
    );
}

#[tokio::test]
async fn https_is_believed_from_trusted_proxies_only() {
    let app = TestApp::sqlite_with(|config| {
        config.trusted_proxies = volant::platform::proxy::parse_networks(&["10.0.0.0/8".to_owned()]).expect("cidr");
    })
    .await;
    app.user("accueil@garage.fr", &[Role::Manager]).await;
    let sign_in = |peer: [u8; 4]| {
        let mut request = form_request(
            "/login",
            &format!("volant_csrf={TEST_CSRF}"),
            &[("email", "accueil@garage.fr"), ("password", TEST_PASSWORD), ("_csrf", &app.csrf_for(""))],
        );
        request.headers_mut().insert("x-forwarded-proto", "https".parse().expect("header"));
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from((peer, 40000))));
        request
    };
    let proxied = app.anonymous().send(sign_in([10, 0, 0, 5])).await;
    assert_eq!(proxied.status, StatusCode::SEE_OTHER);
    let cookie = proxied
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("volant_session="))
        .expect("session");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert_eq!(proxied.header("strict-transport-security"), Some("max-age=31536000"));
    let forged = app.anonymous().send(sign_in([192, 0, 2, 5])).await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    let cookie = forged
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("volant_session="))
        .expect("session");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(forged.header("strict-transport-security"), None);
}
