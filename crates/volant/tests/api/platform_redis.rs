//! Rate limits shared by two instances through a real Redis (127.0.0.1:6379):
//! the limit holds across them. Skipped outside CI when no Redis listens.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use volant::platform::ratelimit::RateLimits;

use crate::helpers::{TestApp, json_request, send};

fn redis() -> Option<String> {
    if std::net::TcpStream::connect_timeout(&"127.0.0.1:6379".parse().expect("address"), Duration::from_secs(2)).is_ok()
    {
        return Some("redis://127.0.0.1:6379".to_owned());
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have Redis on 127.0.0.1:6379");
    None
}

/// Two instances of the app counting sign-ins (5 a minute) in one Redis, under a fresh prefix.
async fn instances_sharing_redis(app: &TestApp, url: &str) -> Vec<axum::Router> {
    let prefix = format!("volant-test-{}", fastrand::u64(..));
    let five = NonZeroU32::new(5).expect("5");
    let mut instances = Vec::new();
    for _ in 0..2 {
        let mut state = app.state.clone();
        state.limits =
            Arc::new(RateLimits::shared(five, NonZeroU32::new(1200).expect("n"), url, &prefix).await.expect("redis"));
        instances.push(volant::App::over(state).expect("app").router);
    }
    instances
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_sign_in_limit_through_redis() {
    let Some(url) = redis() else { return };
    let app = TestApp::sqlite().await;
    let admin = app.admin().await.email.clone();
    let instances = instances_sharing_redis(&app, &url).await;
    let wrong = json!({ "email": admin, "password": "not the password at all" });
    for attempt in 0..5 {
        let instance = instances[attempt % 2].clone();
        let response = send(instance, json_request(Method::POST, "/api/v1/auth/login", &wrong)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // The sixth attempt is refused on either instance: they counted together.
    for instance in &instances {
        let response = send(instance.clone(), json_request(Method::POST, "/api/v1/auth/login", &wrong)).await;
        assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = response.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&wait), "{wait}");
    }
    // An instance counting alone (no Redis) would still have let it through.
    let alone = send(app.router.clone(), json_request(Method::POST, "/api/v1/auth/login", &wrong)).await;
    assert_eq!(alone.status, StatusCode::UNAUTHORIZED);

    let five = NonZeroU32::new(5).expect("5");
    let unreachable = RateLimits::shared(five, five, "redis://127.0.0.1:1", "volant-test-unreachable").await;
    assert!(unreachable.err().unwrap_or_default().contains("not reachable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_redis_the_api_allowance_is_shared_and_told_in_every_answer() {
    let Some(url) = redis() else { return };
    let app = TestApp::sqlite().await;
    let token = app.admin_token().await.to_owned();
    let prefix = format!("volant-test-{}", fastrand::u64(..));
    let (login, four) = (NonZeroU32::new(5).expect("5"), NonZeroU32::new(4).expect("4"));
    let mut instances = Vec::new();
    for _ in 0..2 {
        let mut state = app.state.clone();
        state.limits = Arc::new(RateLimits::shared(login, four, &url, &prefix).await.expect("redis"));
        instances.push(volant::App::over(state).expect("app").router);
    }
    let get = |instance: &axum::Router| {
        let request = axum::http::Request::get("/api/v1/garages")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .expect("request");
        send(instance.clone(), request)
    };
    for (turn, remaining) in [3, 2, 1, 0].into_iter().enumerate() {
        let response = get(&instances[turn % 2]).await;
        assert_eq!(response.status, StatusCode::OK, "turn {turn}");
        assert_eq!(response.header("ratelimit-limit"), Some("4"));
        assert_eq!(response.header("ratelimit-remaining"), Some(remaining.to_string().as_str()), "turn {turn}");
        let reset: u64 = response.header("ratelimit-reset").expect("reset").parse().expect("seconds");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let refused = get(&instances[0]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_redis_a_stranger_cannot_lock_an_account_out() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    let Some(url) = redis() else { return };
    let app = TestApp::sqlite().await;
    let admin = app.admin().await.email.clone();
    let instances = instances_sharing_redis(&app, &url).await;
    let from = |ip: [u8; 4], password: &str| {
        let mut request =
            json_request(Method::POST, "/api/v1/auth/login", &json!({ "email": admin, "password": password }));
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        request
    };
    for round in 0..5 {
        for attempt in 0..2 {
            let instance = instances[attempt % 2].clone();
            let stranger = send(instance, from([203, 0, 113, 66], "not the password at all")).await;
            let expected =
                if round * 2 + attempt < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
            assert_eq!(stranger.status, expected, "round {round}, attempt {attempt}");
        }
        let owner = send(instances[round % 2].clone(), from([10, 0, 0, 7], crate::helpers::TEST_PASSWORD)).await;
        assert_eq!(owner.status, StatusCode::OK, "round {round}: {}", owner.text());
    }
    // Brute force from many addresses meets the account's ceiling (ten times one address's budget).
    let mut refused = false;
    for i in 0..60u8 {
        let response = send(instances[usize::from(i) % 2].clone(), from([10, 9, i, 1], "still not it")).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    assert!(refused, "the account's ceiling holds across instances");
    let owner = send(instances[0].clone(), from([10, 0, 0, 8], crate::helpers::TEST_PASSWORD)).await;
    assert_eq!(owner.status, StatusCode::TOO_MANY_REQUESTS, "until the ceiling recovers");
}
