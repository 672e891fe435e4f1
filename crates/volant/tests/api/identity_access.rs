//! Access control over every API route, read from the OpenAPI document so that a
//! new route is covered the day it is added: without a token → 401; with each
//! role → allowed or 403 exactly as the role matrix says.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use volant::identity::roles::{Permission, Role};

use crate::backend_tests;
use crate::fixtures::fleet::vehicle_json;
use crate::helpers::TestApp;

static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A plate never used before in this test binary.
fn fresh_plate() -> String {
    format!("MX-{:06}", SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// What an operation's security requirement in the OpenAPI document asks; the
/// matrix fails on an operation that declares none.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Nothing,
    SignIn,
    Permission(Permission),
}

fn needs(path: &str, method: &str, operation: &Value) -> Needs {
    let security =
        operation["security"].as_array().unwrap_or_else(|| panic!("{method} {path} declares no security requirement"));
    match security.as_slice() {
        [requirement] if requirement.as_object().is_some_and(serde_json::Map::is_empty) => Needs::Nothing,
        [requirement] => match requirement["bearer"].as_array().map(Vec::as_slice) {
            Some([]) => Needs::SignIn,
            Some([scope]) => Needs::Permission(
                Permission::from_scope(scope.as_str().unwrap_or_default())
                    .unwrap_or_else(|| panic!("{method} {path}: unknown scope {scope}")),
            ),
            _ => panic!("{method} {path}: {requirement}"),
        },
        _ => panic!("{method} {path}: {security:?}"),
    }
}

/// Every operation of the API that needs a signed-in caller: method, concrete
/// path (ids filled with real rows), a body, and what it needs, as the document says.
async fn protected_routes(app: &TestApp) -> Vec<(Method, String, Option<Value>, Needs)> {
    let garage = app.garage("Matrice").await;
    let doc = app.as_admin().get("/api/openapi.json").await.json();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let needed = needs(path, method, operation);
            if needed == Needs::Nothing {
                continue;
            }
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
            routes.push((method, concrete, body, needed));
        }
    }
    // Signing out revokes the caller's token: it goes last, so every other route is tried signed in.
    routes.sort_by_key(|(_, path, _, _)| path.ends_with("/auth/logout"));
    assert!(routes.len() >= 100, "{routes:?}");
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

backend_tests!(
    every_api_route_needs_a_token,
    every_api_route_obeys_the_role_matrix,
    every_api_route_obeys_a_tokens_scopes,
    the_document_declares_the_expected_permissions,
    tokens_act_for_their_own_organization,
    the_test_clients_act_as_who_they_say
);

// The harness's explicit clients: a role's client gets that role's answers, the
// other organization's administrator is somebody else, somewhere else.
async fn the_test_clients_act_as_who_they_say(app: TestApp) {
    let staff = app.as_role(Role::Staff).await;
    assert_eq!(staff.user().await.roles, vec![Role::Staff]);
    staff.get("/api/v1/users").await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.as_admin().get("/api/v1/users").await.assert_status(StatusCode::OK);
    let other = app.other_org().await;
    assert_ne!(other.org().await, app.as_admin().org().await);
    assert_eq!(other.org().await, other.user().await.org);
    other.get("/api/v1/users").await.assert_status(StatusCode::OK);
}

async fn every_api_route_needs_a_token(app: TestApp) {
    for (method, path, body, _) in protected_routes(&app).await {
        let response = app.anonymous().send(request(&method, &path, body.as_ref(), None)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
}

// Each operation's declared requirement, tried with every role: allowed exactly
// where the role matrix grants the permission the document names.
async fn every_api_route_obeys_the_role_matrix(app: TestApp) {
    for role in Role::ALL {
        let token = app.token_for(&format!("role-{}@volant.test", role.as_str()), &[role]).await;
        for (method, path, body, needed) in protected_routes(&app).await {
            let allowed = match needed {
                Needs::Permission(permission) => role.allows(permission),
                Needs::SignIn | Needs::Nothing => true,
            };
            let response = app.anonymous().send(request(&method, &path, body.as_ref(), Some(&token))).await;
            if allowed {
                assert!(
                    !matches!(response.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                        && !response.status.is_server_error(),
                    "{role:?} {method} {path} ({needed:?}): {} {}",
                    response.status,
                    response.text()
                );
            } else {
                response.problem(StatusCode::FORBIDDEN, "forbidden");
            }
        }
    }
}

// Each operation tried with an administrator's personal tokens, each narrowed to
// a few scopes: allowed exactly where a scope reaches the operation's area at the
// level its permission and its method need (GET and HEAD read, others write);
// elsewhere 403 `insufficient_scope` naming that area and level.
async fn every_api_route_obeys_a_tokens_scopes(app: TestApp) {
    use volant::identity::auth::tokens::{self, NewToken};
    use volant::identity::scopes::ApiArea::{Account, Administration, Billing, Consents, Fleet, School, Workshop};
    use volant::identity::scopes::Level::{Read, Write};
    use volant::identity::scopes::{Grant, Level, TokenScope};
    let admin = app.admin().await.clone();
    let actor =
        volant::identity::audit::Actor { user_id: Some(admin.id), ..volant::identity::audit::Actor::system(app.org) };
    let grants = [
        vec![TokenScope::new(Fleet, Read), TokenScope::new(School, Write)],
        vec![TokenScope::new(Workshop, Write), TokenScope::new(Billing, Read), TokenScope::new(Account, Read)],
        vec![TokenScope::new(Administration, Read), TokenScope::new(Consents, Write), TokenScope::new(Account, Write)],
    ];
    let mut refused = 0;
    for scopes in grants {
        let new = NewToken { name: Some("Matrice".into()), scopes: Some(scopes.clone()), ..Default::default() };
        let token = tokens::create(&app.db, &actor, "matrix-session", &new).await.expect("token").token;
        let grant = Grant::from_scopes(scopes);
        for (method, path, body, needed) in protected_routes(&app).await {
            // Operations open to any signed-in caller check their records' own permissions.
            let Needs::Permission(permission) = needed else { continue };
            if !admin.roles_allow(permission) {
                continue;
            }
            let (area, least) = permission.area();
            let scope = TokenScope::new(area, least.max(Level::of_method(&method)));
            let response = app.anonymous().send(request(&method, &path, body.as_ref(), Some(&token))).await;
            if grant.reaches(scope.area, scope.level) {
                assert!(
                    !matches!(response.status, StatusCode::UNAUTHORIZED) && !response.status.is_server_error(),
                    "{scope} {method} {path}: {} {}",
                    response.status,
                    response.text()
                );
                // An operation that also needs another area's permission (selling a
                // pack issues an invoice) may name that other scope, never its own.
                if response.status == StatusCode::FORBIDDEN {
                    let problem = response.problem(StatusCode::FORBIDDEN, "insufficient_scope");
                    assert!(!problem["detail"].as_str().unwrap_or_default().contains(&scope.to_string()), "{path}");
                }
            } else {
                let problem = response.problem(StatusCode::FORBIDDEN, "insufficient_scope");
                assert!(
                    problem["detail"].as_str().is_some_and(|d| d.contains(&scope.to_string())),
                    "{method} {path}: {problem}"
                );
                refused += 1;
            }
        }
    }
    assert!(refused > 100, "the tokens were refused somewhere: {refused}");
}

// The permissions the document declares are the ones the product was built
// with: who may do what did not change when the split routers went away.
async fn the_document_declares_the_expected_permissions(app: TestApp) {
    let doc = app.as_admin().get("/api/openapi.json").await.json();
    let scope = |method: &str, path: &str| match needs(path, method, &doc["paths"][path][method]) {
        Needs::Permission(p) => p.scope(),
        Needs::SignIn => "signed in",
        Needs::Nothing => "open",
    };
    for (method, path, expected) in [
        ("post", "/api/v1/auth/login", "open"),
        ("get", "/api/v1/auth/me", "signed in"),
        ("post", "/api/v1/garages", "fleet.write"),
        ("get", "/api/v1/vehicles/{id}", "fleet.read"),
        ("post", "/api/v1/interventions", "interventions.record"),
        ("post", "/api/v1/quotes/{id}/send", "workshop.write"),
        ("get", "/api/v1/school/lessons", "school.planning"),
        ("post", "/api/v1/school/lessons", "school.write"),
        ("post", "/api/v1/school/lessons/{id}/outcome", "teaching"),
        ("get", "/api/v1/school/exam-results", "school.planning"),
        ("post", "/api/v1/school/exam-results", "teaching"),
        ("get", "/api/v1/school/candidates", "school.read"),
        ("get", "/api/v1/school/threads", "school.planning"),
        ("put", "/api/v1/school/candidates/{id}/file", "school.write"),
        ("get", "/api/v1/school/incomplete-files", "school.read"),
        ("post", "/api/v1/school/candidates/{id}/contracts", "school.write"),
        ("post", "/api/v1/school/contracts/{id}/sign", "school.planning"),
        ("get", "/api/v1/school/contracts/{id}/pdf", "school.planning"),
        ("get", "/api/v1/notifications", "own_profile"),
        ("post", "/api/v1/contact-consents", "contact_consents"),
        ("get", "/api/v1/admin/jobs", "operations"),
        ("get", "/api/v1/admin/status", "platform"),
        ("get", "/api/v1/audit", "audit.read"),
        ("get", "/api/v1/users", "users.manage"),
        ("get", "/api/v1/organization", "own_profile"),
        ("patch", "/api/v1/organization", "org.settings"),
    ] {
        assert_eq!(scope(method, path), expected, "{method} {path}");
    }
}

async fn tokens_act_for_their_own_organization(app: TestApp) {
    let them = app.other_org().await;
    let their_token = them.token().await;
    let ours = app.garage("Chez nous").await;
    let response = app
        .anonymous()
        .send(request(
            &Method::POST,
            "/api/v1/garages",
            Some(&json!({
                "name": "Chez eux",
                "address": "Rue 2"
            })),
            Some(their_token),
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let list = app.anonymous().send(request(&Method::GET, "/api/v1/garages", None, Some(their_token))).await.json();
    let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["Chez eux"]);
    let peek =
        app.anonymous().send(request(&Method::GET, &format!("/api/v1/garages/{ours}"), None, Some(their_token))).await;
    peek.problem(StatusCode::NOT_FOUND, "not_found");
}

/// The pages open to anyone. Declaring a page public is a decision this list
/// records: a new open page fails the matrix until it is added here.
const PUBLIC_PAGES: [&str; 17] = [
    "/",
    "/login",
    // The code asked after the password (the pending sign-in's cookie is the credential).
    "/login/two-factor",
    // Single sign-on: sent to the e-mail's provider, and its answer at that
    // provider's address (the state's cookie and the provider's code are the credential).
    "/login/sso",
    "/login/sso/callback/{key}",
    "/logout",
    "/setup",
    "/password/forgot",
    "/password/reset/{secret}",
    "/q/{token}",
    "/q/{token}/pdf",
    "/q/{token}/decision",
    "/q/{token}/logo",
    // An issued invoice for its customer (the token is an HMAC of its id).
    "/f/{token}",
    "/f/{token}/pdf",
    "/calendar/{file}",
    "/unsubscribe/{token}",
];

/// A page's path with its parameters filled: real rows where the matrix has them,
/// an id that names nothing elsewhere (the guard answers before the handler looks).
fn concrete(path: &str, garage: i64, vehicle: i64, user: i64, (client, quote): (i64, i64)) -> String {
    let id = if path.starts_with("/garages/") {
        garage
    } else if path.starts_with("/vehicles/") {
        vehicle
    } else if path.starts_with("/clients/") {
        client
    } else if path.starts_with("/quotes/") {
        quote
    } else if path.starts_with("/admin/users/") {
        user
    } else {
        999_999
    };
    let path = path.replace("{id}", &id.to_string()).replace("{vehicle_id}", &vehicle.to_string());
    let path = path.replace("{token}", "0000").replace("{file}", "0000.ics").replace("{secret}", "0000");
    let path = path.replace("{key}", "0000");
    let path = path.replace("{sale_id}", "999999").replace("{delivery_id}", "999999");
    assert!(!path.contains('{'), "a parameter the matrix cannot fill: {path}");
    // The new-quote form needs its client.
    if path == "/quotes/new" { format!("/quotes/new?client_id={client}") } else { path }
}

/// The status and `Location` of a response, without reading its body (the
/// notifications stream never ends).
async fn answer(app: &TestApp, request: Request<Body>) -> (StatusCode, Option<String>) {
    use tower::ServiceExt;
    let response = app.router.clone().oneshot(request).await.expect("infallible");
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (response.status(), location)
}

#[test]
fn the_page_table_declares_each_path_once_and_its_open_pages_knowingly() {
    use volant::identity::auth::web_pages::Access;
    let table = volant::page_table();
    let mut paths: Vec<&str> = table.iter().map(|p| p.path).collect();
    paths.sort_unstable();
    let before = paths.len();
    paths.dedup();
    assert_eq!(paths.len(), before, "a path declared twice: its access would be ambiguous");
    let mut public: Vec<&str> = table.iter().filter(|p| p.access == Access::Public).map(|p| p.path).collect();
    public.sort_unstable();
    let mut expected = PUBLIC_PAGES.to_vec();
    expected.sort_unstable();
    assert_eq!(public, expected);
    // The booking form lists every candidate, instructor and car: only those who book see it.
    let booking = table.iter().find(|p| p.path == "/school/lessons/new").expect("the booking form is a page");
    assert_eq!(booking.access, Access::guarded(Permission::SchoolWrite, Permission::SchoolWrite));
}

backend_tests!(every_page_obeys_the_role_matrix);

// Every page of the router's page table, with every role, answers as the
// table's declared access and the role matrix say: GET needs the page's read
// permission, POST its write permission; strangers go to the login page.
async fn every_page_obeys_the_role_matrix(app: TestApp) {
    let admin = app.as_admin();
    use crate::helpers::TEST_CSRF;
    let table = volant::page_table();
    assert!(table.len() >= 100, "{} pages", table.len());
    let mut checked = 0;
    // Each role, then the platform operator (the instance's first administrator).
    let mut people = Vec::new();
    for role in Role::ALL {
        people.push((format!("{role:?}"), app.user(&format!("page-{}@volant.test", role.as_str()), &[role]).await));
    }
    people.push(("operator".to_owned(), app.admin().await.clone()));
    for (role, person) in people {
        let session =
            volant::identity::auth::issue(&app.db, &app.signing_key, &person, "web").await.expect("session").token;
        let cookies = format!("volant_session={session}; volant_csrf={TEST_CSRF}");
        let garage = app.garage(&format!("Pages {role}")).await;
        let vehicle = app.vehicle(garage, &fresh_plate()).await;
        let client = admin.post("/api/v1/clients", &json!({ "name": "Client matrice" })).await.json()["id"]
            .as_i64()
            .expect("client");
        let quote =
            admin.post("/api/v1/quotes", &json!({ "client_id": client })).await.json()["id"].as_i64().expect("quote");
        let workshop = (client, quote);
        // Deleting forms last, so that the rows stay for the other pages.
        let mut pages: Vec<_> = table.iter().collect();
        pages.sort_by_key(|p| p.path.ends_with("/delete"));
        for page in pages {
            let path = concrete(page.path, garage, vehicle, person.id, workshop);
            for method in [Method::GET, Method::POST] {
                let Some(needed) = page.access.needs(&method) else { continue };
                let token = |session: &str| {
                    if method == Method::POST { format!("_csrf={}", app.csrf_for(session)) } else { String::new() }
                };
                // A method the page does not have is 405 for everyone, before any guard.
                let probe = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header(header::COOKIE, format!("volant_csrf={TEST_CSRF}"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(token("")))
                    .expect("request");
                if answer(&app, probe).await.0 == StatusCode::METHOD_NOT_ALLOWED {
                    continue;
                }
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header(header::COOKIE, &cookies)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(token(&session)))
                    .expect("request");
                let (status, location) = answer(&app, request).await;
                let sent_to_login = location.as_deref().is_some_and(|l| l.starts_with("/login"));
                if person.may(needed) {
                    assert!(
                        status != StatusCode::FORBIDDEN && !sent_to_login && !status.is_server_error(),
                        "{role} {method} {path} ({needed:?}): {status}"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path} ({needed:?})");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 6 * 120, "{checked} checks");
    // Strangers are sent to the login page; their forms are refused outright.
    for page in table.iter().filter(|p| p.access != volant::identity::auth::web_pages::Access::Public) {
        let path = concrete(page.path, 1, 1, 1, (1, 1));
        for method in [Method::GET, Method::POST] {
            let request = Request::builder().method(method.clone()).uri(&path).body(Body::empty()).expect("request");
            let (status, location) = answer(&app, request).await;
            let sent_to_login = location.as_deref().is_some_and(|l| l.starts_with("/login"));
            assert!(
                sent_to_login
                    || status == StatusCode::METHOD_NOT_ALLOWED
                    || (method == Method::POST && status == StatusCode::FORBIDDEN),
                "{method} {path}: {status}"
            );
        }
    }
}

/// An operation documented without a security requirement.
#[utoipa::path(get, path = "/undeclared", responses((status = 200)))]
async fn undeclared() -> &'static str {
    "this should never be served"
}

/// A new API route cannot escape the matrix: documented without its permission,
/// the application refuses to start (naming the route); routed without being
/// documented at all, it is refused to everyone, administrators included.
#[tokio::test]
async fn a_route_added_without_its_permission_is_caught() {
    use utoipa_axum::{router::OpenApiRouter, routes};
    use volant::StartupError;
    use volant::identity::access::AccessError;
    let app = TestApp::sqlite().await;

    let documented = OpenApiRouter::new().routes(routes!(undeclared));
    let refused =
        volant::app::guarded_api(&app.state, documented).expect_err("no application with an undeclared route");
    assert!(
        matches!(&refused, StartupError::Access(AccessError::Undeclared { path, .. }) if path == "/api/v1/undeclared"),
        "{refused}"
    );
    assert!(refused.to_string().contains("GET /api/v1/undeclared declares no security requirement"), "{refused}");

    let hidden = OpenApiRouter::new().route("/hidden", axum::routing::get(|| async { "secret" }));
    let (router, doc) = volant::app::guarded_api(&app.state, hidden).expect("nothing documented, nothing to refuse");
    assert!(serde_json::to_value(&doc).expect("doc")["paths"].get("/api/v1/hidden").is_none());
    let router = router.with_state(app.state.clone());
    let token = app.admin_token().await;
    let response = crate::helpers::send(router, request(&Method::GET, "/api/v1/hidden", None, Some(token))).await;
    response.problem(StatusCode::FORBIDDEN, "forbidden");
}

backend_tests!(no_page_offers_what_its_reader_may_not_do, a_refusal_speaks_the_organizations_language_and_leads_home);

/// The page-table entry a site path falls under (`{…}` matches one segment; the
/// most literal pattern wins: `/vehicles/new` before `/vehicles/{id}`).
fn page_of<'a>(
    table: &'a [volant::identity::auth::web_pages::Page],
    path: &str,
) -> Option<&'a volant::identity::auth::web_pages::Page> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    table
        .iter()
        .filter_map(|page| {
            let pattern: Vec<&str> = page.path.split('/').collect();
            let fits = pattern.len() == segments.len()
                && pattern.iter().zip(&segments).all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s);
            fits.then(|| (pattern.iter().filter(|p| !p.starts_with('{')).count(), page))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, page)| page)
}

/// Every link (`href="/…"`) in `html`.
fn links(html: &str) -> Vec<&str> {
    let marker = "href=\"/";
    html.match_indices(marker)
        .filter_map(|(at, _)| html[at + marker.len() - 1..].split('"').next())
        .filter(|path| !path.starts_with("//"))
        .collect()
}

/// Where every `<form method="post">` of `html` posts to.
fn post_targets(html: &str) -> Vec<&str> {
    html.match_indices("<form")
        .filter_map(|(at, _)| html[at..].split('>').next())
        .filter(|tag| tag.contains("method=\"post\""))
        .filter_map(|tag| tag.split("action=\"").nth(1).and_then(|rest| rest.split('"').next()))
        .filter(|path| path.starts_with('/'))
        .collect()
}

// Every page each role can open, crawled: each link must lead to a page the role
// may read, and each form must post to a page it may write. A button that can
// only end in a 403 fails here, with the page that shows it.
async fn no_page_offers_what_its_reader_may_not_do(app: TestApp) {
    let admin = app.as_admin();
    let table = volant::page_table();
    let garage = app.garage("Garage du crawl").await;
    let vehicle = app.vehicle(garage, &fresh_plate()).await;
    let client =
        admin.post("/api/v1/clients", &json!({ "name": "Client crawl" })).await.json()["id"].as_i64().expect("client");
    let quote =
        admin.post("/api/v1/quotes", &json!({ "client_id": client })).await.json()["id"].as_i64().expect("quote");
    let mut offenders = Vec::new();
    let mut crawled = 0;
    for role in Role::ALL {
        let person = app.user(&format!("crawl-{}@volant.test", role.as_str()), &[role]).await;
        let session =
            volant::identity::auth::issue(&app.db, &app.signing_key, &person, "web").await.expect("session").token;
        let cookies = format!("volant_session={session}; volant_csrf={}", crate::helpers::TEST_CSRF);
        for page in table.iter().filter(|p| p.access.needs(&Method::GET).is_some_and(|needed| person.may(needed))) {
            let path = concrete(page.path, garage, vehicle, person.id, (client, quote));
            if path.contains("999999") || path.ends_with("/stream") {
                continue;
            }
            let request = Request::get(&path).header(header::COOKIE, &cookies).body(Body::empty()).expect("request");
            let response = app.anonymous().send(request).await;
            if response.status != StatusCode::OK
                || !response.header("content-type").is_some_and(|t| t.starts_with("text/html"))
            {
                continue;
            }
            crawled += 1;
            let html = response.text();
            let links = links(&html).into_iter().map(|p| (Method::GET, p));
            let forms = post_targets(&html).into_iter().map(|p| (Method::POST, p));
            for (method, target) in links.chain(forms) {
                let Some(target_page) = page_of(&table, target) else { continue };
                if let Some(needed) = target_page.access.needs(&method)
                    && !person.may(needed)
                {
                    offenders.push(format!("{role:?} on {path}: {method} {target} needs {needed:?}"));
                }
            }
        }
    }
    offenders.sort();
    offenders.dedup();
    assert!(offenders.is_empty(), "pages offer what their reader may not do:\n{}", offenders.join("\n"));
    assert!(crawled >= 80, "{crawled} pages crawled");
}

async fn a_refusal_speaks_the_organizations_language_and_leads_home(app: TestApp) {
    app.as_admin().patch("/api/v1/organization", &json!({ "locale": "en" })).await.assert_success();
    let staff = app.as_role(Role::Staff).await;
    let refused = staff.get("/garages/new").await;
    refused.assert_status(StatusCode::FORBIDDEN);
    let text = refused.text();
    assert!(text.contains("<html lang=\"en\""), "{text}");
    assert!(text.contains("href=\"/\" id=\"home\"") && text.contains("Back to the home page"), "{text}");
    let missing = staff.get("/garages/999999").await;
    missing.assert_status(StatusCode::NOT_FOUND);
    assert!(missing.text().contains("Back to the home page"));
}
