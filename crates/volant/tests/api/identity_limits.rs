//! Brute force: sign-in attempts are limited per client address, failures per account
//! (per address, and from all addresses under a higher ceiling),
//! API requests per user; past the limit, 429 with `Retry-After`.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use volant::identity::roles::Role;

use crate::helpers::{TEST_CSRF, TEST_PASSWORD, TestApp, TestResponse, json_request};

fn login_from(ip: [u8; 4], email: &str, password: &str) -> Request<Body> {
    let mut request =
        json_request(axum::http::Method::POST, "/api/v1/auth/login", &json!({ "email": email, "password": password }));
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    request
}

fn assert_limited(response: &TestResponse) {
    response.problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let retry: u64 = response.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn a_stranger_cannot_lock_an_account_out() {
    let app = TestApp::sqlite().await;
    app.user("cible@garage.fr", &[Role::Admin]).await;
    // A stranger sends a wrong password before each of the owner's sign-ins.
    for round in 0..5 {
        for attempt in 0..2 {
            let stranger =
                app.anonymous().send(login_from([203, 0, 113, 66], "cible@garage.fr", "mauvais mot de passe")).await;
            if round * 2 + attempt < 5 {
                stranger.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
            } else {
                assert_limited(&stranger);
            }
        }
        let owner = app.anonymous().send(login_from([10, 0, 0, 7], "CIBLE@garage.fr", TEST_PASSWORD)).await;
        assert_eq!(owner.status, StatusCode::OK, "round {round}: {}", owner.text());
    }
    // The stranger's own address stays refused, even with the right password.
    let guessed = app.anonymous().send(login_from([203, 0, 113, 66], "cible@garage.fr", TEST_PASSWORD)).await;
    assert_eq!(guessed.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn failures_from_many_addresses_still_reach_the_account_ceiling() {
    // One failure per address and per 15 minutes, ten for the account from all addresses.
    let app = TestApp::sqlite_with(|config| config.login_attempts_per_minute = NonZeroU32::new(1).expect("1")).await;
    app.user("cible@garage.fr", &[Role::Admin]).await;
    for i in 0..10 {
        let response = app.anonymous().send(login_from([10, 0, 1, i], "cible@garage.fr", "mauvais mot de passe")).await;
        response.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let refused = app.anonymous().send(login_from([10, 0, 1, 99], "cible@garage.fr", TEST_PASSWORD)).await;
    refused.problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(refused.header("retry-after").is_some());
    // Another account is not concerned, nor is a sign-in that succeeds counted.
    app.user("autre@garage.fr", &[Role::Admin]).await;
    for i in 0..12 {
        let ok = app.anonymous().send(login_from([10, 0, 2, i], "autre@garage.fr", TEST_PASSWORD)).await;
        assert_eq!(ok.status, StatusCode::OK, "sign-in {i}");
    }
}

#[tokio::test]
async fn sign_in_is_limited_per_address_whatever_the_account() {
    let app = TestApp::sqlite().await;
    app.user("vrai@garage.fr", &[Role::Admin]).await;
    for i in 0..5 {
        let response = app.anonymous().send(login_from([192, 0, 2, 1], &format!("essai{i}@garage.fr"), "x")).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    assert_limited(&app.anonymous().send(login_from([192, 0, 2, 1], "vrai@garage.fr", TEST_PASSWORD)).await);
    let elsewhere = app.anonymous().send(login_from([192, 0, 2, 2], "vrai@garage.fr", TEST_PASSWORD)).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "another address is not punished");
}

#[tokio::test]
async fn the_login_page_is_limited_too() {
    let app = TestApp::sqlite().await;
    app.user("page@garage.fr", &[Role::Admin]).await;
    let token = app.csrf_for("");
    let form = |password: &str| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("volant_csrf={TEST_CSRF}"))
            .body(Body::from(
                serde_urlencoded::to_string([
                    ("email", "page@garage.fr"),
                    ("password", password),
                    ("_csrf", token.as_str()),
                ])
                .expect("form"),
            ))
            .expect("request")
    };
    for _ in 0..5 {
        assert_eq!(app.anonymous().send(form("faux")).await.status, StatusCode::UNAUTHORIZED);
    }
    let limited = app.anonymous().send(form(TEST_PASSWORD)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert!(limited.text().contains("Trop de tentatives"), "{}", limited.text());
    assert!(
        !limited
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("volant_session=")))
    );
}

#[tokio::test]
async fn api_requests_are_limited_per_user() {
    let app = TestApp::sqlite_with(|config| config.api_requests_per_minute = NonZeroU32::new(3).expect("3")).await;
    let admin = app.as_admin();
    // Every answer says where the caller stands: the limit, what remains, when all is back.
    let standing = |response: &crate::helpers::TestResponse| {
        let read = |name: &str| response.header(name).and_then(|v| v.parse::<u64>().ok()).expect(name);
        (read("ratelimit-limit"), read("ratelimit-remaining"), read("ratelimit-reset"))
    };
    for remaining in [2, 1, 0] {
        let response = admin.get("/api/v1/garages").await;
        assert_eq!(response.status, StatusCode::OK);
        let (limit, left, reset) = standing(&response);
        assert_eq!((limit, left), (3, remaining));
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let refused = admin.get("/api/v1/garages").await;
    assert_limited(&refused);
    assert_eq!(standing(&refused).1, 0);
    let other = app.token_for("autre@garage.fr", &[Role::Staff]).await;
    assert_eq!(
        app.with_token(&other).get("/api/v1/garages").await.status,
        StatusCode::OK,
        "each user has their own budget"
    );
}
