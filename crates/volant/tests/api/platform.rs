//! Cross-cutting behaviour: health, CORS, error documents, OpenAPI, assets, language.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};

use crate::helpers::{TestApp, TestResponse};

const ORIGIN: &str = "http://localhost:3000";

async fn app_with_cors() -> TestApp {
    TestApp::sqlite_with(|config| config.cors_origins = vec![HeaderValue::from_static(ORIGIN)]).await
}

#[tokio::test]
async fn health_endpoints_answer() {
    let app = TestApp::sqlite().await;
    let live = app.anonymous().get("/health/live").await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["status"], "ok");
    let ready = app.anonymous().get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["database"], "ok");
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_unreachable() {
    let app = TestApp::sqlite().await;
    app.db.clone().close().await.expect("close pool");
    let ready = app.anonymous().get("/health/ready").await;
    ready.problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(
        app.anonymous().get("/health/live").await.status,
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}

#[tokio::test]
async fn api_calls_fail_with_503_not_500_when_the_database_is_gone() {
    let app = TestApp::sqlite().await;
    app.admin_token().await;
    app.db.clone().close().await.expect("close pool");
    app.as_admin().get("/api/v1/garages").await.problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test]
async fn cors_preflight_allows_configured_origin_and_exposes_paging_headers() {
    let app = app_with_cors().await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/vehicles/1")
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,authorization")
        .body(Body::empty())
        .expect("request");
    let response = app.as_admin().send(preflight).await;
    assert!(response.status.is_success(), "{}", response.status);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    let methods = response.header("access-control-allow-methods").expect("methods").to_ascii_uppercase();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = response.header("access-control-allow-headers").expect("headers").to_ascii_lowercase();
    assert!(headers.contains("content-type") && headers.contains("authorization"), "{headers}");
}

#[tokio::test]
async fn cors_headers_are_on_errors_too_and_absent_for_other_origins() {
    let app = app_with_cors().await;
    let admin = app.as_admin();
    let request =
        Request::get("/api/v1/garages/424242").header(header::ORIGIN, ORIGIN).body(Body::empty()).expect("request");
    let response = admin.send(request).await;
    response.problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    let exposed = response.header("access-control-expose-headers").expect("exposed").to_ascii_lowercase();
    assert!(exposed.contains("link") && exposed.contains("location"), "{exposed}");

    let request = Request::get("/api/v1/garages")
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::empty())
        .expect("request");
    let response = admin.send(request).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn unknown_api_route_is_404_problem_and_wrong_method_is_405_problem() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    admin.get("/api/v1/nothing-here").await.problem(StatusCode::NOT_FOUND, "not_found");
    let response = admin.send(Request::post("/api/v1/garages/1").body(Body::empty()).expect("request")).await;
    response.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn problems_speak_english_when_asked() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let request = Request::post("/api/v1/garages")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.8")
        .body(Body::from("{}"))
        .expect("request");
    let response = admin.send(request).await;
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["detail"], "Some data is invalid.");
    assert_eq!(problem["errors"][0]["message"], "This field is required.");
    let french = admin.post("/api/v1/garages", &serde_json::json!({})).await.json();
    assert_eq!(french["errors"][0]["message"], "Ce champ est obligatoire.");
}

#[tokio::test]
async fn every_response_has_a_request_id_and_security_headers() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let response = admin.get("/api/v1/garages").await;
    assert!(response.header("x-request-id").is_some_and(|id| id.len() >= 32));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    let csp = response.header("content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let request =
        Request::get("/api/v1/garages").header("x-request-id", "trace-me-123").body(Body::empty()).expect("request");
    assert_eq!(admin.send(request).await.header("x-request-id"), Some("trace-me-123"), "an incoming id is kept");
}

#[tokio::test]
async fn openapi_document_lists_every_route_and_is_stable() {
    let app = TestApp::sqlite().await;
    let response = app.as_admin().get("/api/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = response.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/garages",
        "/api/v1/garages/{id}",
        "/api/v1/garages/{id}/vehicles",
        "/api/v1/vehicles",
        "/api/v1/vehicles/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    insta::assert_json_snapshot!("openapi", doc);
}

/// Every `$ref` of `value`.
fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(serde_json::Value::as_str) {
                out.push(target.to_owned());
            }
            map.values().for_each(|v| refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_declares_every_common_answer() {
    let app = TestApp::sqlite().await;
    let doc = app.anonymous().get("/api/openapi.json").await.json();
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in &targets {
        let path: Vec<&str> = target.strip_prefix("#/").expect("a local reference").split('/').collect();
        assert!(path.iter().fold(&doc, |at, part| &at[*part]).is_object(), "{target} does not exist");
    }
    let mut operation_ids = std::collections::HashSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            operations += 1;
            let at = format!("{method} {path}");
            assert!(operation_ids.insert(op["operationId"].as_str().expect("id").to_owned()), "{at}: id taken");
            let responses = op["responses"].as_object().expect("responses");
            for (status, response) in responses {
                let response = match response["$ref"].as_str() {
                    Some(shared) => &doc["components"]["responses"][shared.rsplit('/').next().expect("name")],
                    None => response,
                };
                assert!(response["description"].as_str().is_some_and(|d| !d.is_empty()), "{at} {status}");
                if (status.starts_with('4') || status.starts_with('5')) && status != "416" {
                    let content = response["content"].as_object().expect("a body");
                    assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{at} {status}");
                }
            }
            let signed_in = op["security"][0].get("bearer").is_some();
            let json_body = op.pointer("/requestBody/content/application~1json").is_some();
            for (needed, status) in [(signed_in, "401"), (signed_in, "429"), (json_body, "415")] {
                assert!(!needed || responses.contains_key(status), "{at} does not declare {status}");
            }
        }
    }
    assert!(operations > 200, "{operations}");
    // Every code a problem may carry is listed, with the problem document.
    let code = &doc["components"]["schemas"]["Problem"]["properties"]["code"];
    let codes = code["anyOf"][0]["enum"].as_array().expect("codes");
    assert_eq!(code["anyOf"][1]["type"], "string", "open: a code added later breaks no client");
    let listed: Vec<&str> = codes.iter().filter_map(serde_json::Value::as_str).collect();
    let registry: Vec<&str> = volant::platform::error::CODES.iter().map(|(code, _)| *code).collect();
    assert_eq!(listed, registry);
    for code in ["duplicate_plate", "vehicle_has_history", "instructor_busy", "link_expired", "validation_failed"] {
        assert!(listed.contains(&code), "{code}");
    }
    let delete_vehicle = &doc["paths"]["/api/v1/vehicles/{id}"]["delete"]["responses"];
    assert!(delete_vehicle["409"]["description"].as_str().is_some_and(|d| d.contains("vehicle_has_history")));
    assert_eq!(delete_vehicle["503"]["$ref"], "#/components/responses/Unavailable");
    // A creation links to what can be done with the record it made.
    let links = &doc["paths"]["/api/v1/garages"]["post"]["responses"]["201"]["links"];
    let get_garage = doc["paths"]["/api/v1/garages/{id}"]["get"]["operationId"].as_str().expect("id");
    assert_eq!(links[get_garage]["parameters"]["id"], "$response.body#/id", "{links}");
    // Bodies are closed (an unknown field is a 422), decimals taken as strings or numbers.
    assert_eq!(doc["components"]["schemas"]["GarageInput"]["additionalProperties"], false);
    assert_eq!(doc["components"]["schemas"]["DecimalInput"]["type"], serde_json::json!(["string", "number"]));
    // An independent reader of the specification (PyPI's openapi-spec-validator).
    let installed = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        assert!(std::env::var_os("CI").is_none(), "openapi-spec-validator is required in CI");
        eprintln!("openapi-spec-validator is not installed (pip install openapi-spec-validator): not validated");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures/openapi_check.py");
    let output = std::process::Command::new("python3").arg(script).arg(&file).output().expect("python3");
    assert!(output.status.success(), "not valid OpenAPI: {}", String::from_utf8_lossy(&output.stderr));
}

/// The examples of the main representations are what the API answers: the same
/// fields as a real record (their values are checked against the schemas by
/// `openapi_check.py`).
#[tokio::test]
async fn the_documents_examples_have_the_fields_of_real_answers() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let doc = admin.get("/api/openapi.json").await.json();
    let keys = |value: &serde_json::Value| -> std::collections::BTreeSet<String> {
        value.as_object().expect("an object").keys().cloned().collect()
    };
    let garage = app.garage("Garage du Centre").await;
    let vehicle = app.vehicle(garage, "EX-123-AM").await;
    let client = admin
        .post("/api/v1/clients", &serde_json::json!({ "kind": "individual", "name": "Jeanne Martin" }))
        .await
        .json()["id"]
        .as_i64()
        .expect("client");
    for (schema, path) in [
        ("Garage", format!("/api/v1/garages/{garage}")),
        ("Vehicle", format!("/api/v1/vehicles/{vehicle}")),
        ("Client", format!("/api/v1/clients/{client}")),
    ] {
        let example = &doc["components"]["schemas"][schema]["example"];
        assert_eq!(keys(example), keys(&admin.get(&path).await.json()), "{schema}");
    }
    for schema in ["Garage", "Vehicle", "Client", "Lesson"] {
        let described = &doc["components"]["schemas"][schema];
        assert_eq!(keys(&described["example"]), keys(&described["properties"]), "{schema}");
    }
}

#[tokio::test]
async fn docs_page_uses_local_assets_only() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let page = admin.get("/api/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("/assets/vendor/swagger-ui/swagger-ui-bundle.js"), "{html}");
    assert!(!html.contains("https://"), "no CDN: {html}");
    for asset in [
        "/assets/vendor/swagger-ui/swagger-ui-bundle.js",
        "/assets/vendor/swagger-ui/swagger-ui.css",
        "/assets/swagger-init.js",
    ] {
        assert_eq!(admin.get(asset).await.status, StatusCode::OK, "{asset}");
    }
}

#[tokio::test]
async fn assets_are_served_with_long_cache_and_revalidate() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let css = admin.get("/assets/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.header("cache-control").is_some_and(|c| c.contains("max-age=31536000")));
    let etag = css.header("etag").expect("etag").to_owned();
    let again =
        Request::get("/assets/app.css").header(header::IF_NONE_MATCH, etag).body(Body::empty()).expect("request");
    assert_eq!(admin.send(again).await.status, StatusCode::NOT_MODIFIED);
    assert_eq!(admin.get("/assets/vendor/htmx/htmx.min.js").await.status, StatusCode::OK);
    assert_eq!(admin.get("/assets/../Cargo.toml").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/assets/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn volant_installs_as_an_app_with_its_manifest_icons_and_service_worker() {
    let app = TestApp::sqlite().await;
    let visitor = app.anonymous();
    let manifest = visitor.get("/manifest.webmanifest").await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(manifest.header("content-type"), Some("application/manifest+json"));
    let manifest = manifest.json();
    assert_eq!((manifest["start_url"].as_str(), manifest["scope"].as_str()), (Some("/"), Some("/")));
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["lang"], "fr");
    assert!(manifest["description"].as_str().is_some_and(|d| d.contains("auto-écoles")), "{manifest}");
    // Each icon is there, a PNG of the size the manifest says.
    let icons = manifest["icons"].as_array().expect("icons").clone();
    assert!(icons.iter().any(|i| i["purpose"] == "maskable"), "{icons:?}");
    for icon in icons {
        let png = visitor.get(icon["src"].as_str().expect("src")).await;
        assert_eq!(png.header("content-type"), Some("image/png"), "{icon}");
        let bytes = &png.body;
        let width = u32::from_be_bytes(bytes[16..20].try_into().expect("width"));
        let height = u32::from_be_bytes(bytes[20..24].try_into().expect("height"));
        assert_eq!(format!("{width}x{height}"), icon["sizes"].as_str().expect("sizes"));
    }
    // The worker controls the whole site, names the assets' version (a new
    // version is a new worker) and is checked again at every visit.
    let worker = visitor.get("/sw.js").await;
    assert_eq!(worker.status, StatusCode::OK);
    assert_eq!(worker.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(worker.header("cache-control"), Some("no-cache"));
    assert_eq!(visitor.get("/assets/sw.js").await.status, StatusCode::NOT_FOUND);
    assert!(worker.text().contains(&format!("\"{}\"", volant::platform::http::assets::version())));
    assert!(!worker.text().contains("__VOLANT_ASSET_VERSION__"));
    // Every page links the manifest; a signed-in page carries the note it shows offline.
    let page = app.as_admin().get("/garages").await.text();
    assert!(page.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#), "{page}");
    assert!(
        page.contains(r#"data-offline-note="copy" hidden>Hors ligne : cette page est la copie enregistrée"#),
        "{page}"
    );
    assert!(page.contains(r#"<meta name="volant-person" content=""#), "{page}");
    assert!(page.contains(r#"data-send-failed hidden>Rien n"#), "{page}");
    assert!(visitor.get("/login").await.text().contains(r#"rel="manifest""#));
}

#[tokio::test]
async fn a_page_saved_ahead_by_the_app_leaves_the_person_s_message_for_their_next_page() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let page = |save_ahead: bool| {
        let mut request =
            Request::get("/garages").header(header::COOKIE, "volant_flash=success:Le%C3%A7on%20enregistr%C3%A9e");
        if save_ahead {
            request = request.header("volant-save-ahead", "1");
        }
        request.body(Body::empty()).expect("request")
    };
    let flash_removed = |response: &TestResponse| {
        response
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("volant_flash=;")))
    };
    let ahead = admin.send(page(true)).await;
    assert_eq!(ahead.status, StatusCode::OK);
    assert!(!ahead.text().contains("Leçon enregistrée"), "the saved copy does not show it");
    assert!(!flash_removed(&ahead), "nor uses it up");
    let seen = admin.send(page(false)).await;
    assert!(seen.text().contains("Leçon enregistrée"), "the page the person opens shows it");
    assert!(flash_removed(&seen));
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::sqlite().await;
    let request =
        Request::get("/assets/app.css").header(header::ACCEPT_ENCODING, "gzip").body(Body::empty()).expect("request");
    assert_eq!(app.as_admin().send(request).await.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn migrations_are_idempotent_and_reversible() {
    use migration::MigratorTrait;
    let app = TestApp::sqlite().await;
    volant::platform::db::migrate(&app.db).await.expect("second run is a no-op");
    migration::Migrator::down(&app.db, None).await.expect("down");
    migration::Migrator::up(&app.db, None).await.expect("up again");
    volant::identity::organizations::service::ensure_default(&app.db).await.expect("default organization again");
    assert_eq!(app.as_admin().get("/api/v1/garages").await.status, StatusCode::OK);
}

#[tokio::test]
async fn demo_seed_fills_an_empty_database_once() {
    use volant::fleet::demo::{self, Region};
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let report = demo::seed(&app.db, app.org, Region::France).await.expect("seed");
    assert_eq!(report.garages, 3);
    assert!(report.vehicles >= 120, "{report:?}");
    let garages = admin.get("/api/v1/garages").await.json();
    let total: i64 =
        garages.as_array().expect("array").iter().map(|g| g["vehicle_count"].as_i64().expect("count")).sum();
    assert_eq!(usize::try_from(total).expect("count"), report.vehicles);
    assert!(demo::seed(&app.db, app.org, Region::France).await.is_err(), "refuses an organization with data");
    let workshop = volant::workshop::demo::seed(&app.db, app.org, Region::France).await.expect("workshop demo");
    assert_eq!(workshop.clients, 12);
    assert_eq!(workshop.quotes, 48);
    assert!(workshop.interventions >= 15 && workshop.alerts > 0, "{workshop:?}");
    let dashboard = admin.get("/api/v1/dashboard").await.json();
    assert!(dashboard["quotes"]["accepted"].as_i64().expect("accepted") >= 15, "{dashboard}");

    // The West African garages: an organization of their own, in CFA francs at 18 % VAT.
    let sahel = volant::identity::organizations::service::create(&app.db, demo::west_africa()).await.expect("org");
    let report = demo::seed(&app.db, sahel, Region::WestAfrica).await.expect("west africa");
    assert_eq!(report.garages, 5);
    volant::workshop::demo::seed(&app.db, sahel, Region::WestAfrica).await.expect("its workshop");
    let manager = volant::identity::users::service::NewUser {
        email: "gerant@sahel.test".to_owned(),
        display_name: "Cheikh Gueye".to_owned(),
        password: crate::helpers::TEST_PASSWORD.to_owned(),
        roles: vec![volant::identity::roles::Role::Manager],
    };
    let manager = volant::identity::users::service::create(&app.db, sahel, manager).await.expect("manager");
    let dakar = app.as_user(&manager).await;
    let cities: Vec<String> = dakar
        .get("/api/v1/garages")
        .await
        .json()
        .as_array()
        .expect("garages")
        .iter()
        .map(|g| g["city"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        cities.contains(&"Dakar".to_owned())
            && cities.contains(&"Cotonou".to_owned())
            && !cities.contains(&"Lyon".to_owned()),
        "{cities:?}"
    );
    let quote = &dakar.get("/api/v1/quotes?limit=1").await.json()[0];
    assert_eq!(quote["currency"], "XOF", "{quote}");
    assert!(!quote["total_incl_tax"].as_str().expect("total").contains('.'), "whole francs: {quote}");
    let detail = dakar.get(&format!("/api/v1/quotes/{}", quote["id"])).await.json();
    assert_eq!(detail["lines"][0]["vat_rate"], "18", "{detail}");
    let page = crate::fixtures::html(&dakar.get("/quotes").await);
    assert!(page.contains("FCFA") && !page.contains("€"), "{page}");
    let french = admin.get("/api/v1/garages").await.json();
    assert_eq!(french.as_array().map(Vec::len), Some(3), "each organization its own garages");

    let cipher = volant::platform::crypto::load(
        Some("t:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        std::path::Path::new("unused"),
    )
    .expect("key");
    let school = volant::school::demo::seed(&app.db, &cipher, app.org, Default::default()).await.expect("school demo");
    assert_eq!((school.instructors, school.candidates), (3, 8));
    assert!(school.lessons >= 30, "{school:?}");
    let reported = admin.get("/api/v1/school/report-data/candidate_hours").await.json();
    assert!(
        reported["rows"].as_array().expect("rows").iter().any(|r| r[5] != "0.00"),
        "lessons done last week: {reported}"
    );
    assert_eq!(
        volant::school::demo::seed(&app.db, &cipher, app.org, Default::default()).await.expect("again").candidates,
        0,
        "once"
    );
    // What the demo would tell its invented people is recorded, never sent.
    let mut withheld = 0;
    for org in [app.org, sahel] {
        withheld +=
            volant::notify::service::withhold_pending(&app.db, org, "demo data: not sent").await.expect("withhold");
    }
    assert!(withheld > 10, "{withheld}");
    app.run_jobs().await;
    assert_eq!(std::fs::read_dir(app.outbox.path()).expect("outbox").count(), 0, "no e-mail written");
    let deliveries = admin.get("/api/v1/admin/notifications").await.json();
    assert!(deliveries.as_array().expect("list").iter().all(|d| d["sms"].is_null() || d["sms"]["status"] == "failed"));
    assert!(
        dashboard["months"]
            .as_array()
            .expect("months")
            .iter()
            .filter(|m| m["interventions"].as_i64() > Some(0))
            .count()
            >= 6
    );
}

#[tokio::test]
async fn demo_seed_works_on_postgres() {
    let Some(app) = TestApp::postgres().await else { return };
    let report = volant::fleet::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France).await.expect("seed");
    assert_eq!(report.garages, 3);
    let workshop = volant::workshop::demo::seed(&app.db, app.org, volant::fleet::demo::Region::France)
        .await
        .expect("workshop demo");
    assert_eq!(workshop.quotes, 48);
    let sahel = volant::identity::organizations::service::create(&app.db, volant::fleet::demo::west_africa())
        .await
        .expect("org");
    volant::fleet::demo::seed(&app.db, sahel, volant::fleet::demo::Region::WestAfrica).await.expect("west africa");
    let workshop =
        volant::workshop::demo::seed(&app.db, sahel, volant::fleet::demo::Region::WestAfrica).await.expect("workshop");
    assert_eq!(workshop.quotes, 48);
}
