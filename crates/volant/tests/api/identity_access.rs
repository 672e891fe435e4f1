//! Access control over every API route, read from the OpenAPI document so that a
//! new route is covered the day it is added: without a token → 401; with each
//! role → allowed or 403 exactly as the role matrix says.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use volant::identity::roles::{Permission, Role};

use crate::backend_tests;
use crate::helpers::{TestApp, vehicle_json};

static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A plate never used before in this test binary.
fn fresh_plate() -> String {
    format!("MX-{:06}", SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Every (method, concrete path) of the protected API, ids filled with real rows.
async fn protected_routes(app: &TestApp) -> Vec<(Method, String, Option<Value>)> {
    let garage = app.garage("Matrice").await;
    let doc = app.get("/api/openapi.json").await.json();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if path.starts_with("/api/v1/auth/") {
            continue;
        }
        for (method, _) in item.as_object().expect("item") {
            let method: Method = method.to_uppercase().parse().expect("method");
            // A fresh vehicle per route, so that a DELETE cannot starve the next route.
            let vehicle = app.vehicle(garage, &fresh_plate()).await;
            let id = if path.starts_with("/api/v1/vehicles") { vehicle } else { garage };
            let concrete = path.replace("{id}", &id.to_string());
            let body = match (&method, path.starts_with("/api/v1/vehicles")) {
                (&Method::POST | &Method::PUT, true) => Some(vehicle_json(garage, &fresh_plate())),
                (&Method::POST | &Method::PUT, false) => Some(json!({ "name": "G", "address": "A" })),
                (&Method::PATCH, _) => Some(json!({})),
                _ => None,
            };
            routes.push((method, concrete, body));
        }
    }
    assert!(routes.len() >= 10, "{routes:?}");
    routes
}

fn request(method: &Method, path: &str, body: Option<&Value>, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

backend_tests! {
    async fn every_api_route_needs_a_token(app) {
        for (method, path, body) in protected_routes(&app).await {
            let response = app.send_anonymous(request(&method, &path, body.as_ref(), None)).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        }
    }

    async fn every_api_route_obeys_the_role_matrix(app) {
        for role in Role::ALL {
            let token = app.token_for(&format!("role-{}@volant.test", role.as_str()), &[role]).await;
            for (method, path, body) in protected_routes(&app).await {
                let needed = if path.starts_with("/api/v1/audit") {
                    Permission::AuditRead
                } else if path.starts_with("/api/v1/users") {
                    Permission::UsersManage
                } else if path.starts_with("/api/v1/organization") {
                    if method == Method::GET { Permission::OwnProfile } else { Permission::OrgSettings }
                } else if method == Method::GET {
                    Permission::FleetRead
                } else {
                    Permission::FleetWrite
                };
                let response = app.send_anonymous(request(&method, &path, body.as_ref(), Some(&token))).await;
                if role.allows(needed) {
                    assert!(
                        !matches!(response.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) && !response.status.is_server_error(),
                        "{role:?} {method} {path}: {} {}", response.status, response.text()
                    );
                } else {
                    response.problem(StatusCode::FORBIDDEN, "forbidden");
                }
            }
        }
    }

    async fn tokens_act_for_their_own_organization(app) {
        use volant::identity::organizations::service::{self as organizations, NewOrganization};
        use volant::identity::users::service::{self as users, NewUser};
        let other = organizations::create(&app.db, NewOrganization::default()).await.expect("org");
        let theirs = users::create(&app.db, other, NewUser {
            email: "chef@autre.fr".into(),
            display_name: "Chef".into(),
            password: crate::helpers::TEST_PASSWORD.into(),
            roles: vec![Role::Admin],
        }).await.expect("user");
        let their_token = volant::identity::auth::issue(&app.db, &app.signing_key, &theirs, "api").await.expect("token").token;
        let ours = app.garage("Chez nous").await;
        let response = app.send_anonymous(request(&Method::POST, "/api/v1/garages", Some(&json!({ "name": "Chez eux", "address": "Rue 2" })), Some(&their_token))).await;
        assert_eq!(response.status, StatusCode::CREATED);
        let list = app.send_anonymous(request(&Method::GET, "/api/v1/garages", None, Some(&their_token))).await.json();
        let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|g| g["name"].as_str()).collect();
        assert_eq!(names, ["Chez eux"]);
        let peek = app.send_anonymous(request(&Method::GET, &format!("/api/v1/garages/{ours}"), None, Some(&their_token))).await;
        peek.problem(StatusCode::NOT_FOUND, "not_found");
    }
}
