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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_sign_in_limit_through_redis() {
    let Some(url) = redis() else { return };
    let app = TestApp::sqlite().await;
    let admin = app.admin().await.email.clone();
    let prefix = format!("volant-test-{}", fastrand::u64(..));
    let five = NonZeroU32::new(5).expect("5");
    let mut instances = Vec::new();
    for _ in 0..2 {
        let mut state = app.state.clone();
        state.limits =
            Arc::new(RateLimits::shared(five, NonZeroU32::new(1200).expect("n"), &url, &prefix).await.expect("redis"));
        instances.push(volant::build_app(state));
    }
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

    let unreachable = RateLimits::shared(five, five, "redis://127.0.0.1:1", &prefix).await;
    assert!(unreachable.err().unwrap_or_default().contains("not reachable"));
}
