//! Behind a proxy (`VOLANT_TRUSTED_PROXIES`): a real relay on loopback, as nginx
//! does it (`X-Forwarded-For: $proxy_add_x_forwarded_for`, `-Proto`, `-Host`), in
//! front of the application served on a socket. The relay reaches the application
//! from 127.0.0.2, the only trusted address; clients reach the relay from their
//! own loopback addresses (127.0.0.x), and anyone may also call the application
//! directly from 127.0.0.1 with forged headers.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::helpers::{TEST_PASSWORD, TestApp};

const RELAY_ADDRESS: [u8; 4] = [127, 0, 0, 2];

/// Serves `router` on loopback, with each connection's peer address, as `volant serve` does.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    addr
}

struct Upstream {
    client: reqwest::Client,
    addr: SocketAddr,
}

/// A reverse proxy to `upstream`: adds the peer to `X-Forwarded-For`, says the client
/// came over HTTPS and for the host it asked for, and connects from 127.0.0.2.
async fn relay(upstream: SocketAddr) -> SocketAddr {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from(RELAY_ADDRESS))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("relay client");
    let router = Router::new().fallback(forward).with_state(std::sync::Arc::new(Upstream { client, addr: upstream }));
    serve(router).await
}

async fn forward(
    State(upstream): State<std::sync::Arc<Upstream>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    let host = headers.remove("host");
    for hop in ["connection", "content-length", "transfer-encoding"] {
        headers.remove(hop);
    }
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    headers.insert("x-forwarded-for", forwarded_for.parse().expect("header"));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    if let Some(host) = host {
        headers.insert("x-forwarded-host", host);
    }
    let answer = upstream
        .client
        .request(parts.method, format!("http://{}{path}", upstream.addr))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("upstream answers");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !["connection", "content-length", "transfer-encoding"].contains(&name.as_str()) {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(answer.bytes().await.expect("upstream body"))).expect("response")
}

/// An HTTP client whose connections come from `ip` (any 127.x.y.z is loopback).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn trusting_the_relay() -> TestApp {
    TestApp::sqlite_with(|config| {
        config.trusted_proxies = volant::platform::proxy::parse_networks(&["127.0.0.2/32".to_owned()]).expect("cidr");
    })
    .await
}

async fn sign_in(client: &reqwest::Client, base: SocketAddr, email: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("http://{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_relay_each_client_has_its_own_sign_in_budget() {
    let app = trusting_the_relay().await;
    let server = serve(app.router.clone()).await;
    let relay = relay(server).await;
    // Seven people sign in within the minute through the relay (five per address allowed).
    for i in 0..7u8 {
        let email = format!("personne{i}@garage.fr");
        app.user(&email, &[Role::Staff]).await;
        let answer = sign_in(&client_from([127, 0, 0, 20 + i]), relay, &email, TEST_PASSWORD).await;
        assert_eq!(answer.status(), StatusCode::OK, "person {i}");
    }
    // One of them is still limited on their own.
    let noisy = client_from([127, 0, 0, 40]);
    for _ in 0..5 {
        assert_eq!(sign_in(&noisy, relay, "personne0@garage.fr", "faux").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in(&noisy, relay, "personne1@garage.fr", "faux").await.status(), StatusCode::TOO_MANY_REQUESTS);
    let neighbour = sign_in(&client_from([127, 0, 0, 41]), relay, "personne1@garage.fr", TEST_PASSWORD).await;
    assert_eq!(neighbour.status(), StatusCode::OK);
    // Through the relay (which, like nginx, passes a client's own `Forwarded` on),
    // a client naming itself anew each time still has one budget.
    let forger = client_from([127, 0, 0, 50]);
    for i in 0..6u8 {
        let answer = forger
            .post(format!("http://{relay}/api/v1/auth/login"))
            .header("forwarded", format!("for=198.51.100.{i};proto=https"))
            .json(&json!({ "email": format!("devine{i}@garage.fr"), "password": "x" }))
            .send()
            .await
            .expect("answer");
        let expected = if i < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(answer.status(), expected, "forged Forwarded through the relay, attempt {i}");
    }

    // Straight to the application, forged addresses are not believed: one budget.
    let direct = client_from([127, 0, 0, 1]);
    for i in 0..6u8 {
        let answer = direct
            .post(format!("http://{server}/api/v1/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .header("forwarded", format!("for=198.51.100.{i}"))
            .json(&json!({ "email": format!("inconnu{i}@garage.fr"), "password": "x" }))
            .send()
            .await
            .expect("answer");
        let expected = if i < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(answer.status(), expected, "forged attempt {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_records_the_address_the_trusted_relay_forwarded() {
    let app = trusting_the_relay().await;
    let server = serve(app.router.clone()).await;
    let relay = relay(server).await;
    let staff = app.user("atelier@garage.fr", &[Role::Staff]).await;
    assert_eq!(sign_in(&client_from([127, 0, 0, 33]), relay, &staff.email, TEST_PASSWORD).await.status(), 200);
    let forged = client_from([127, 0, 0, 1])
        .post(format!("http://{server}/api/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({ "email": staff.email, "password": TEST_PASSWORD }))
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status(), StatusCode::OK);
    let rows = app.as_admin().get(&format!("/api/v1/audit?actor={}&action=login", staff.id)).await.json();
    let ips: Vec<&str> = rows.as_array().expect("rows").iter().map(|r| r["ip"].as_str().expect("ip")).collect();
    assert_eq!(ips, ["127.0.0.1", "127.0.0.33"], "newest first: the socket peer when direct, the client via the relay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_and_https_come_from_the_trusted_relay_only() {
    let app = trusting_the_relay().await;
    let admin = app.as_admin();
    app.garage("Premier").await;
    app.garage("Second").await;
    let token = app.admin_token().await.to_owned();
    let server = serve(app.router.clone()).await;
    let relay = relay(server).await;
    let via_relay = client_from([127, 0, 0, 50])
        .get(format!("http://{relay}/api/v1/garages?limit=1"))
        .header("host", "garage.example.com")
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(via_relay.status(), StatusCode::OK);
    let link = via_relay.headers()["link"].to_str().expect("link");
    assert!(link.starts_with("<https://garage.example.com/api/v1/garages?"), "{link}");
    assert_eq!(via_relay.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(via_relay.headers()["cache-control"], "no-store");

    let direct = client_from([127, 0, 0, 1])
        .get(format!("http://{server}/api/v1/garages?limit=1"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "proto=https;host=evil.example")
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    let link = direct.headers()["link"].to_str().expect("link");
    assert!(link.starts_with(&format!("<http://{server}/api/v1/garages?")), "{link}");
    assert!(direct.headers().get("strict-transport-security").is_none());

    // Without VOLANT_PUBLIC_URL, a quote's share address is where the client is.
    let client = admin.post("/api/v1/clients", &json!({ "name": "Client relais" })).await.json()["id"].clone();
    let lines =
        json!([{ "kind": "part", "description": "Filtre", "quantity": 1, "unit_price": "12.50", "vat_rate": 20 }]);
    let quote = admin.post("/api/v1/quotes", &json!({ "client_id": client, "lines": lines })).await.json();
    let sent: Value = client_from([127, 0, 0, 51])
        .post(format!("http://{relay}/api/v1/quotes/{}/send", quote["id"]))
        .header("host", "garage.example.com")
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert!(sent["share_url"].as_str().is_some_and(|u| u.starts_with("https://garage.example.com/q/")), "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_to_relayed_requests() {
    let app = trusting_the_relay().await;
    let server = serve(app.router.clone()).await;
    let relay = relay(server).await;
    let direct = client_from([127, 0, 0, 1]).get(format!("http://{server}/metrics")).send().await.expect("answer");
    assert_eq!(direct.status(), StatusCode::OK, "a loopback client of its own");
    let relayed = client_from([127, 0, 0, 1]).get(format!("http://{relay}/metrics")).send().await.expect("answer");
    assert_eq!(relayed.status(), StatusCode::NOT_FOUND, "the relay speaks for someone else");
    let real_ip = client_from([127, 0, 0, 1])
        .get(format!("http://{server}/metrics"))
        .header("x-real-ip", "203.0.113.9")
        .send()
        .await
        .expect("answer");
    assert_eq!(real_ip.status(), StatusCode::NOT_FOUND);

    // A relay on this host that is not trusted: its headers are not believed, but
    // neither is it taken for a loopback client of its own.
    let untrusting = TestApp::sqlite().await;
    let server = serve(untrusting.router.clone()).await;
    let relay = self::relay(server).await;
    let relayed = client_from([127, 0, 0, 1]).get(format!("http://{relay}/metrics")).send().await.expect("answer");
    assert_eq!(relayed.status(), StatusCode::NOT_FOUND);
}
