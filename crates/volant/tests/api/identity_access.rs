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
                let needed = if path.starts_with("/api/v1/notifications") {
                    Permission::OwnProfile
                } else if path.starts_with("/api/v1/contact-consents") {
                    Permission::ContactConsents
                } else if path.starts_with("/api/v1/admin") {
                    Permission::Operations
                } else if path.starts_with("/api/v1/audit") {
                    Permission::AuditRead
                } else if path.starts_with("/api/v1/users") {
                    Permission::UsersManage
                } else if path.starts_with("/api/v1/organization") {
                    if method == Method::GET { Permission::OwnProfile } else { Permission::OrgSettings }
                } else if ["/api/v1/school/calendar-feed", "/api/v1/school/free-slots", "/api/v1/school/my-lessons", "/api/v1/school/progress", "/api/v1/school/threads", "/api/v1/school/unread"].iter().any(|p| path.starts_with(p)) {
                    Permission::SchoolPlanning
                } else if path.starts_with("/api/v1/school/exam-results") {
                    if method == Method::GET { Permission::SchoolPlanning } else { Permission::Teaching }
                } else if path.ends_with("/outcome") {
                    Permission::Teaching
                } else if path.starts_with("/api/v1/school/lessons") {
                    if method == Method::GET { Permission::SchoolPlanning } else { Permission::SchoolWrite }
                } else if path.starts_with("/api/v1/school") {
                    if method == Method::GET { Permission::SchoolRead } else { Permission::SchoolWrite }
                } else if method != Method::GET
                    && (path.starts_with("/api/v1/interventions") || path.ends_with("/mileage") || path.ends_with("/intervention"))
                {
                    Permission::InterventionsRecord
                } else if ["/api/v1/clients", "/api/v1/quotes", "/api/v1/workshop", "/api/v1/alerts", "/api/v1/maintenance", "/api/v1/interventions", "/api/v1/dashboard", "/api/v1/exports"]
                    .iter()
                    .any(|p| path.starts_with(p))
                    || ["/owners", "/interventions", "/mileage", "/maintenance", "/service-info"].iter().any(|s| path.ends_with(s))
                    || path.contains("/maintenance/")
                {
                    if method == Method::GET { Permission::WorkshopRead } else { Permission::WorkshopWrite }
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

/// Every page route, with the permission it needs (pages have no OpenAPI
/// document: a new page must be added here).
fn page_routes(garage: i64, vehicle: i64, user: i64, (client, quote): (i64, i64)) -> Vec<(Method, String, Permission)> {
    use Permission::{
        AuditRead, ContactConsents, FleetRead, FleetWrite, InterventionsRecord, Operations, OrgSettings, OwnProfile,
        SchoolPlanning, SchoolRead, SchoolWrite, Teaching, UsersManage, WorkshopRead, WorkshopWrite,
    };
    let get = |path: String, permission| (Method::GET, path, permission);
    let post = |path: String, permission| (Method::POST, path, permission);
    vec![
        get("/garages".into(), FleetRead),
        get("/garages/new".into(), FleetRead),
        get(format!("/garages/{garage}"), FleetRead),
        get(format!("/garages/{garage}/edit"), FleetRead),
        get(format!("/garages/{garage}/delete"), FleetRead),
        get("/vehicles".into(), FleetRead),
        get("/vehicles/new".into(), FleetRead),
        get(format!("/vehicles/{vehicle}"), FleetRead),
        get(format!("/vehicles/{vehicle}/edit"), FleetRead),
        get(format!("/vehicles/{vehicle}/move"), FleetRead),
        get(format!("/vehicles/{vehicle}/delete"), FleetRead),
        get("/admin/audit".into(), AuditRead),
        get("/admin/audit.csv".into(), AuditRead),
        get("/admin/users".into(), UsersManage),
        get("/admin/users/new".into(), UsersManage),
        get(format!("/admin/users/{user}"), UsersManage),
        get("/admin/organization".into(), OrgSettings),
        get("/profile".into(), OwnProfile),
        post("/garages".into(), FleetWrite),
        post(format!("/garages/{garage}/edit"), FleetWrite),
        post("/vehicles".into(), FleetWrite),
        post(format!("/vehicles/{vehicle}/edit"), FleetWrite),
        post(format!("/vehicles/{vehicle}/move"), FleetWrite),
        post("/admin/users".into(), UsersManage),
        post(format!("/admin/users/{user}"), UsersManage),
        post("/admin/organization".into(), OrgSettings),
        post("/profile".into(), OwnProfile),
        post("/profile/tokens".into(), OwnProfile),
        get("/clients".into(), WorkshopRead),
        get("/clients/new".into(), WorkshopRead),
        get(format!("/clients/{client}"), WorkshopRead),
        get(format!("/clients/{client}/edit"), WorkshopRead),
        get(format!("/clients/{client}/delete"), WorkshopRead),
        get("/quotes".into(), WorkshopRead),
        get(format!("/quotes/new?client_id={client}"), WorkshopRead),
        get(format!("/quotes/{quote}"), WorkshopRead),
        get(format!("/quotes/{quote}/edit"), WorkshopRead),
        get(format!("/quotes/{quote}/pdf"), WorkshopRead),
        get("/workshop/settings".into(), WorkshopRead),
        get("/alerts".into(), WorkshopRead),
        get("/dashboard".into(), WorkshopRead),
        get("/exports/clients.csv".into(), WorkshopRead),
        get("/exports/clients.xlsx".into(), WorkshopRead),
        get("/exports/vehicles.csv".into(), WorkshopRead),
        get("/exports/vehicles.xlsx".into(), WorkshopRead),
        get("/exports/quotes.csv".into(), WorkshopRead),
        get("/exports/quotes.xlsx".into(), WorkshopRead),
        get("/exports/alerts.csv".into(), WorkshopRead),
        get("/exports/alerts.xlsx".into(), WorkshopRead),
        get("/maintenance/rules".into(), WorkshopRead),
        get(format!("/vehicles/{vehicle}/maintenance"), WorkshopRead),
        get(format!("/vehicles/{vehicle}/interventions/new"), WorkshopRead),
        post("/clients".into(), WorkshopWrite),
        post(format!("/clients/{client}/edit"), WorkshopWrite),
        post(format!("/clients/{client}/vehicles"), WorkshopWrite),
        post(format!("/clients/{client}/vehicles/{vehicle}/release"), WorkshopWrite),
        post("/quotes".into(), WorkshopWrite),
        post(format!("/quotes/{quote}/edit"), WorkshopWrite),
        post(format!("/quotes/{quote}/send"), WorkshopWrite),
        post(format!("/quotes/{quote}/email"), WorkshopWrite),
        post(format!("/quotes/{quote}/decision"), WorkshopWrite),
        post(format!("/quotes/{quote}/duplicate"), WorkshopWrite),
        post("/workshop/settings".into(), WorkshopWrite),
        post("/alerts/999999".into(), WorkshopWrite),
        post("/maintenance/rules".into(), WorkshopWrite),
        post(format!("/vehicles/{vehicle}/service-info"), WorkshopWrite),
        post(format!("/vehicles/{vehicle}/maintenance/rules"), WorkshopWrite),
        post(format!("/vehicles/{vehicle}/maintenance/rules/reset"), WorkshopWrite),
        post(format!("/vehicles/{vehicle}/mileage"), InterventionsRecord),
        post(format!("/vehicles/{vehicle}/interventions"), InterventionsRecord),
        post(format!("/quotes/{quote}/intervention"), InterventionsRecord),
        post("/interventions/999999/complete".into(), InterventionsRecord),
        post(format!("/clients/{client}/delete"), WorkshopWrite),
        post(format!("/garages/{garage}/delete"), FleetWrite),
        post(format!("/vehicles/{vehicle}/delete"), FleetWrite),
        get("/school/planning".into(), SchoolPlanning),
        get("/school/lessons/new".into(), SchoolPlanning),
        get("/portal".into(), SchoolPlanning),
        get("/messages".into(), SchoolPlanning),
        get("/messages/new".into(), SchoolPlanning),
        get("/school/candidates".into(), SchoolRead),
        get("/school/candidates/new".into(), SchoolRead),
        post("/school/candidates".into(), SchoolWrite),
        get("/school/lessons/999999".into(), SchoolPlanning),
        post("/school/lessons/999999/outcome".into(), Teaching),
        post("/messages".into(), SchoolPlanning),
        get("/school/exams".into(), SchoolRead),
        get("/school/results".into(), Teaching),
        post("/school/results".into(), Teaching),
        get("/school/reports".into(), SchoolRead),
        get("/school/instructors".into(), SchoolRead),
        get("/school/vehicles".into(), SchoolRead),
        get("/school/settings".into(), SchoolRead),
        post("/school/settings".into(), SchoolWrite),
        post("/school/exams/results".into(), SchoolWrite),
        post("/school/lessons".into(), SchoolWrite),
        post("/school/lessons/999999/cancel".into(), SchoolWrite),
        get("/notifications".into(), OwnProfile),
        get("/notifications/preferences".into(), OwnProfile),
        post("/notifications/preferences".into(), OwnProfile),
        post("/notifications/read-all".into(), OwnProfile),
        post("/notifications/999999/open".into(), OwnProfile),
        get("/contacts/consents".into(), ContactConsents),
        post("/contacts/consents".into(), ContactConsents),
        get("/admin/jobs".into(), Operations),
        get("/admin/notifications".into(), Operations),
        get("/admin/status".into(), Operations),
        post("/admin/jobs/999999/retry".into(), Operations),
    ]
}

backend_tests! {
    async fn every_page_obeys_the_role_matrix(app) {
        use crate::helpers::TEST_CSRF;
        for role in Role::ALL {
            let person = app.user(&format!("page-{}@volant.test", role.as_str()), &[role]).await;
            let session = volant::identity::auth::issue(&app.db, &app.signing_key, &person, "web").await.expect("session").token;
            let cookies = format!("volant_session={session}; volant_csrf={TEST_CSRF}");
            let garage = app.garage(&format!("Pages {}", role.as_str())).await;
            let vehicle = app.vehicle(garage, &fresh_plate()).await;
            let client = app.post_json("/api/v1/clients", &json!({ "name": "Client matrice" })).await.json()["id"].as_i64().expect("client");
            let quote = app.post_json("/api/v1/quotes", &json!({ "client_id": client })).await.json()["id"].as_i64().expect("quote");
            let workshop = (client, quote);
            for (method, path, needed) in page_routes(garage, vehicle, person.id, workshop) {
                let body = if method == Method::POST { format!("_csrf={}", app.csrf_for(&session)) } else { String::new() };
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header(header::COOKIE, &cookies)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .expect("request");
                let response = app.send_anonymous(request).await;
                let sent_to_login = response.header("location").is_some_and(|l| l.starts_with("/login"));
                if role.allows(needed) {
                    assert!(
                        response.status != StatusCode::FORBIDDEN && !sent_to_login && !response.status.is_server_error(),
                        "{role:?} {method} {path}: {}", response.status
                    );
                } else {
                    assert_eq!(response.status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                }
            }
            // Strangers are sent to the login page; their forms are refused outright.
            for (method, path, _) in page_routes(garage, vehicle, person.id, workshop) {
                let request = Request::builder().method(method.clone()).uri(&path).body(Body::empty()).expect("request");
                let response = app.send_anonymous(request).await;
                let sent_to_login = response.header("location").is_some_and(|l| l.starts_with("/login"));
                assert!(sent_to_login || (method == Method::POST && response.status == StatusCode::FORBIDDEN), "{method} {path}: {}", response.status);
            }
        }
    }
}
