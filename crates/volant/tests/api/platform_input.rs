//! What outside testing found in how input and downloads are handled: texts on
//! several lines, NUL bytes, formulas in CSV cells, e-mail addresses, downloads
//! under every content encoding, and connections kept alive after a refusal.

use std::io::Read;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::html;
use crate::fixtures::school::{candidate, instructor, training_car};
use crate::helpers::{TestApp, TestResponse, json_request};

/// A text as people type it: Windows line ends, accents, an emoji.
const TWO_LINES: &str = "Bonjour Léa,\r\nrendez-vous devant l'école à 8 h 🚗\r\nMerci !";
const TWO_LINES_STORED: &str = "Bonjour Léa,\nrendez-vous devant l'école à 8 h 🚗\nMerci !";

async fn created(app: &TestApp, uri: &str, body: &Value) -> Value {
    let response = app.as_admin().post(uri, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{uri}: {}", response.text());
    response.json()
}

/// Every `.eml` file written so far, parsed: (recipient, text body).
fn written_emails(app: &TestApp) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(app.outbox.path()).expect("outbox") {
        let content = std::fs::read(entry.expect("entry").path()).expect("eml");
        let parsed = mail_parser::MessageParser::default().parse(&content).expect("a message");
        let to = parsed.to().and_then(|t| t.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
        let text = parsed.body_text(0).map(|t| t.replace("\r\n", "\n")).unwrap_or_default();
        found.push((to, text));
    }
    found
}

fn decode_gzip(bytes: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut decoded).expect("a complete gzip stream");
    decoded
}

/// The same download under each encoding a client may ask for, decoded.
async fn download_each_way(app: &TestApp, uri: &str, bearer: Option<&str>) -> Vec<(String, TestResponse, Vec<u8>)> {
    let mut answers = Vec::new();
    for encoding in ["gzip", "br", "gzip, deflate, br, zstd", "identity"] {
        let mut request = Request::get(uri).header(header::ACCEPT_ENCODING, encoding);
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = app.as_admin().send(request.body(Body::empty()).expect("request")).await;
        assert_eq!(response.status, StatusCode::OK, "{uri} ({encoding}): {}", response.text());
        let body = match response.header("content-encoding") {
            Some("gzip") => decode_gzip(&response.body),
            None => response.body.clone(),
            Some(other) => panic!("{uri}: unexpected encoding {other}"),
        };
        assert!(!body.is_empty(), "{uri} ({encoding}): empty download");
        answers.push((encoding.to_owned(), response, body));
    }
    answers
}

backend_tests!(
    texts_on_several_lines_are_kept_and_single_line_fields_refuse_them,
    forms_mark_the_field_that_failed,
    nul_bytes_are_a_clear_refusal_on_every_route,
    csv_cells_never_start_a_formula,
    e_mail_addresses_are_parsed_not_guessed,
    every_download_survives_every_content_encoding
);

async fn texts_on_several_lines_are_kept_and_single_line_fields_refuse_them(app: TestApp) {
    let admin = app.as_admin();
    // Workshop: client notes, quote notes and a line, the legal mentions, an intervention.
    let client = created(&app, "/api/v1/clients", &json!({ "name": "Jeanne Martin", "notes": TWO_LINES })).await;
    assert_eq!(client["notes"], TWO_LINES_STORED);
    let refused = admin.post("/api/v1/clients", &json!({ "name": "Jeanne\nMartin" })).await;
    assert_eq!(refused.error_fields(), vec!["name"]);
    let settings = admin
        .put(
            "/api/v1/workshop/settings",
            &json!({
                "quote_number_format": "DEV-{year}-{seq:4}",
                "quote_validity_days": 30,
                "line_decisions": false,
                "legal_mentions": "SARL Garage Martin\r\nSIRET 123 456 789 00012"
            }),
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text());
    let quote = created(
        &app,
        "/api/v1/quotes",
        &json!({
            "client_id": client["id"], "notes": TWO_LINES,
            "lines": [{ "description": "Plaquettes avant\r\nréf. 0986 494 123", "unit_price": "48.90", "vat_rate": 20 }]
        }),
    )
    .await;
    assert_eq!(quote["notes"], TWO_LINES_STORED);
    assert_eq!(quote["lines"][0]["description"], "Plaquettes avant\nréf. 0986 494 123");
    let id = quote["id"].as_i64().expect("id");
    let page = html(&admin.get(&format!("/quotes/{id}")).await);
    assert!(page.contains("class=\"pre\">Bonjour Léa,\nrendez-vous"), "shown with its line breaks: {page}");
    let pdf = admin.get(&format!("/api/v1/quotes/{id}/pdf")).await;
    if let Some(text) = crate::fixtures::pdf_text(&pdf.body) {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for expected in ["Bonjour Léa,", "Merci !", "SARL Garage Martin", "SIRET 123 456 789 00012"] {
            assert!(
                lines.iter().any(|l| l.starts_with(expected) || l.ends_with(expected)),
                "{expected:?} on a line of its own in:\n{text}"
            );
        }
    }
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "AB-321-CD").await;
    let work = created(
        &app,
        "/api/v1/interventions",
        &json!({
            "vehicle_id": vehicle,
            "description": "Vidange\r\nContrôle des niveaux"
        }),
    )
    .await;
    assert_eq!(work["description"], "Vidange\nContrôle des niveaux");
    let escape = admin
        .post(
            "/api/v1/interventions",
            &json!({
                "vehicle_id": vehicle,
                "description": "Vidange\u{1b}[31m"
            }),
        )
        .await;
    assert_eq!(escape.error_fields(), vec!["description"]);

    // School: a message to a candidate (and its e-mail), a lesson's notes.
    let teacher = instructor(&app, &["B"]).await;
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "24:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "email": "lea.lignes@example.fr" })).await["id"].as_i64().expect("id");
    let thread = created(
        &app,
        "/api/v1/school/threads",
        &json!({
            "candidate_id": lea,
            "subject": "Jeudi",
            "body": TWO_LINES
        }),
    )
    .await;
    let thread_id = thread["id"].as_i64().expect("thread");
    let opened = admin.get(&format!("/api/v1/school/threads/{thread_id}")).await.json();
    assert_eq!(opened["messages"][0]["body"], TWO_LINES_STORED);
    assert!(html(&admin.get(&format!("/messages/{thread_id}")).await).contains("Bonjour Léa,\nrendez-vous"));
    app.run_jobs().await;
    let emails = written_emails(&app);
    let (_, text) = emails.iter().find(|(to, _)| to == "lea.lignes@example.fr").expect("the candidate's e-mail");
    assert!(text.contains("Bonjour Léa,\nrendez-vous devant l'école à 8 h 🚗\nMerci !"), "{text}");
    // Yesterday's daytime: in the past whatever the hour of the run.
    let start = chrono::DateTime::parse_from_rfc3339(&crate::fixtures::school::at(-1, 10, 0)).expect("time");
    let lesson = created(
        &app,
        "/api/v1/school/lessons",
        &json!({
            "candidate_id": lea,
            "instructor_id": teacher,
            "vehicle_id": car,
            "starts_at": start.to_rfc3339(),
            "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339()
        }),
    )
    .await;
    let lesson_id = lesson["id"].as_i64().expect("lesson");
    let outcome = admin
        .post(
            &format!("/api/v1/school/lessons/{lesson_id}/outcome"),
            &json!({
                "status": "done",
                "notes": "Créneaux : bien.\r\nRond-points : à revoir."
            }),
        )
        .await;
    assert_eq!(outcome.status, StatusCode::OK, "{}", outcome.text());
    assert_eq!(outcome.json()["notes"], "Créneaux : bien.\nRond-points : à revoir.");
}

async fn forms_mark_the_field_that_failed(app: TestApp) {
    let admin = app.as_admin();
    let client = created(&app, "/api/v1/clients", &json!({ "name": "Paul" })).await;
    let id = client["id"].as_i64().expect("id");
    let long = "x".repeat(5001);
    let refused = admin
        .post_form(&format!("/clients/{id}/edit"), &[("kind", "individual"), ("name", "Paul"), ("notes", &long)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&refused);
    assert!(page.contains("has-error") && page.contains("5000"), "{page}");
    let quote = admin
        .post_form(
            "/quotes",
            &[
                ("client_id", &id.to_string()),
                ("notes", &long),
                ("kind", "part"),
                ("description", "A"),
                ("quantity", "1"),
                ("unit", ""),
                ("unit_price", "1"),
                ("vat_rate", "20"),
                ("discount", "0"),
            ],
        )
        .await;
    assert_eq!(quote.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&quote);
    let notes_field = page
        .split("id=\"notes\"")
        .next()
        .and_then(|before| before.rsplit("<div").next())
        .unwrap_or_default()
        .to_owned();
    assert!(notes_field.contains("has-error"), "the notes field is marked: {page}");
    // An intervention's description now takes several lines; a control character is marked on its field.
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "AB-654-CD").await;
    let bad = admin
        .post_form(&format!("/vehicles/{vehicle}/interventions"), &[("intervention_description", "Vidange\u{7}")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&bad).contains("aria-invalid=\"true\" aria-describedby=\"intervention_description-error\""),
        "{}",
        html(&bad)
    );
    let ok = admin
        .post_form(&format!("/vehicles/{vehicle}/interventions"), &[("intervention_description", "Vidange\r\nFiltre")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    // An instructor's day off with a bad reason marks the days off.
    let teacher = instructor(&app, &["B"]).await;
    let mut availability = admin.get(&format!("/api/v1/school/instructors/{teacher}/availability")).await.json();
    availability["days_off"] = json!([{ "day": "2099-01-02", "reason": "Congés\nfamille" }]);
    let refused = admin.put(&format!("/api/v1/school/instructors/{teacher}/availability"), &availability).await;
    assert_eq!(refused.error_fields(), vec!["days_off[0].reason"]);
}

async fn nul_bytes_are_a_clear_refusal_on_every_route(app: TestApp) {
    let admin = app.as_admin();
    let client = created(&app, "/api/v1/clients", &json!({ "name": "Paul" })).await;
    let id = client["id"].as_i64().expect("id");
    for (method, uri) in [(Method::POST, "/api/v1/clients".to_owned()), (Method::PUT, format!("/api/v1/clients/{id}"))]
    {
        let response = admin.send(json_request(method, &uri, &json!({ "name": "Paul", "notes": "a\u{0}b" }))).await;
        assert_eq!(response.error_fields(), vec!["notes"], "{uri}: {}", response.text());
    }
    let form = admin
        .post_form(&format!("/clients/{id}/edit"), &[("kind", "individual"), ("name", "Paul"), ("notes", "a\u{0}b")])
        .await;
    assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", form.text());
    // A raw NUL byte (not %00) from a signed-out visitor's sign-in form.
    let raw = format!("email=a\u{0}b%40example.org&password=x&_csrf={}", app.csrf_for(""));
    let login = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("volant_csrf={}", crate::helpers::TEST_CSRF))
        .body(Body::from(raw))
        .expect("request");
    assert_eq!(app.anonymous().send(login).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let teacher = instructor(&app, &["B"]).await;
    let days = admin
        .put(
            &format!("/api/v1/school/instructors/{teacher}/availability"),
            &json!({
                "weekly": [],
                "days_off": [{ "day": "2099-01-02", "reason": "a\u{0}b" }]
            }),
        )
        .await;
    assert_eq!(days.error_fields(), vec!["days_off[0].reason"]);
    // In a parameter, a 422 naming it (as in a body); in the path, a 400.
    let query = admin.get("/api/v1/clients?q=a%00b").await;
    assert_eq!(query.error_fields(), vec!["q"]);
    // In the caller's language, like every other refusal.
    let english = axum::http::Request::get("/api/v1/clients?q=a%00b")
        .header("accept-language", "en")
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(admin.send(english).await.json()["detail"], "Some data is invalid.");
    assert_eq!(admin.get("/clients?q=%00").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(admin.get(&format!("/api/v1/clients/{id}%00")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        admin.get(&format!("/api/v1/clients/{id}")).await.status,
        StatusCode::OK,
        "a %00-free address is served"
    );

    // Every operation of the OpenAPI document that takes a body: each of its
    // properties given a NUL is refused with a 422, never a server error.
    let doc = admin.get("/api/openapi.json").await.json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operation") {
            let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema") else { continue };
            let schema = match schema.get("$ref").and_then(Value::as_str) {
                Some(reference) => doc.pointer(reference.trim_start_matches('#')).cloned().unwrap_or_default(),
                None => schema.clone(),
            };
            let properties: Vec<String> =
                schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
            let uri = format!("/api/v1{}", path.trim_start_matches("/api/v1")).replace("{id}", &id.to_string());
            // Every other parameter names row 1 (the body is refused before it is looked for).
            let uri =
                uri.split('{')
                    .enumerate()
                    .map(|(i, part)| {
                        if i == 0 { part.to_owned() } else { format!("1{}", part.split_once('}').map_or("", |p| p.1)) }
                    })
                    .collect::<String>();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for property in properties.iter().take(3) {
                let mut body = serde_json::Map::new();
                body.insert(property.clone(), json!("a\u{0}b"));
                let mut request = json_request(method.clone(), &uri, &Value::Object(body));
                // Signed in on every route, the sign-in ones included (the harness leaves those bare).
                request.headers_mut().insert(
                    header::AUTHORIZATION,
                    format!("Bearer {}", app.admin_token().await).parse().expect("header"),
                );
                let response = admin.send(request).await;
                assert_eq!(
                    response.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{method} {uri} {property}: {}",
                    response.text()
                );
                let fields = response.error_fields();
                assert!(
                    fields.first().is_some_and(|f| f == property || f.starts_with(&format!("{property}["))),
                    "{method} {uri}: {fields:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} operations checked");
}

async fn csv_cells_never_start_a_formula(app: TestApp) {
    let admin = app.as_admin();
    created(
        &app,
        "/api/v1/clients",
        &json!({
            "name": "=HYPERLINK(\"http://evil.example\",\"Cliquez\")",
            "phone": "+33 6 12 34 56 78",
            "notes": "@SUM(A1)"
        }),
    )
    .await;
    let csv = String::from_utf8(admin.get("/api/v1/exports/clients.csv").await.body).expect("utf-8");
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Cliquez\"\")\""), "{csv}");
    assert!(csv.contains("'+33 6 12 34 56 78") && !csv.contains(";+33"), "{csv}");
    // The audit trail's CSV goes through the same writer.
    let audit = String::from_utf8(admin.get("/admin/audit.csv").await.body).expect("utf-8");
    assert!(
        !audit.lines().any(|l| l.split(';').any(|cell| cell.starts_with('=') || cell.starts_with("\"="))),
        "{audit}"
    );
    // And the school's report files.
    candidate(&app, json!({ "first_name": "=cmd|' /C calc'!A0", "last_name": "-Dupont" })).await;
    let today = crate::fixtures::school::school_day(0);
    let requested = admin
        .post(
            "/api/v1/school/reports",
            &json!({
                "kind": "candidate_hours",
                "format": "csv",
                "from": today,
                "to": today
            }),
        )
        .await;
    let report = requested.json()["id"].as_i64().expect("report");
    app.run_jobs().await;
    let file =
        String::from_utf8(admin.get(&format!("/api/v1/school/reports/{report}/file")).await.body).expect("utf-8");
    assert!(file.contains("'-Dupont") && !file.lines().any(|l| l.starts_with("-Dupont")), "{file}");
}

async fn e_mail_addresses_are_parsed_not_guessed(app: TestApp) {
    let admin = app.as_admin();
    for bad in [
        "a@@b.fr",
        "a,b@example.org",
        "<a@example.org>",
        "x\"><svg/onload=alert(1)>@example.org",
        "Jean <jean@example.org>",
    ] {
        let client = admin.post("/api/v1/clients", &json!({ "name": "C", "email": bad })).await;
        assert_eq!(client.error_fields(), vec!["email"], "client {bad}");
        let user = admin
            .post(
                "/api/v1/users",
                &json!({
                    "email": bad,
                    "display_name": "U",
                    "password": "correct horse battery staple",
                    "roles": ["staff"]
                }),
            )
            .await;
        assert_eq!(user.error_fields(), vec!["email"], "user {bad}");
        let candidate = admin
            .post(
                "/api/v1/school/candidates",
                &json!({
                    "first_name": "L",
                    "last_name": "M",
                    "category": "B",
                    "email": bad
                }),
            )
            .await;
        assert_eq!(candidate.error_fields(), vec!["email"], "candidate {bad}");
    }
    created(&app, "/api/v1/clients", &json!({ "name": "C", "email": "jeanne.martin+devis@exemple.fr" })).await;
}

async fn every_download_survives_every_content_encoding(app: TestApp) {
    let admin = app.as_admin();
    let client = created(
        &app,
        "/api/v1/clients",
        &json!({
            "name": "Jeanne Martin",
            "email": "jeanne@exemple.fr"
        }),
    )
    .await;
    let garage = app.garage("Garage du Centre").await;
    for i in 0..120 {
        app.vehicle(garage, &format!("DL-{i:03}-AA")).await;
    }
    let quote = created(
        &app,
        "/api/v1/quotes",
        &json!({
            "client_id": client["id"],
            "lines": [{ "description": "Vidange", "unit_price": "60", "vat_rate": 20 }]
        }),
    )
    .await;
    let quote_id = quote["id"].as_i64().expect("quote");
    let share = admin.post(&format!("/api/v1/quotes/{quote_id}/send"), &json!({})).await.json()["share_link"]["path"]
        .as_str()
        .expect("share")
        .to_owned();
    let teacher_user = app.user("dl.moniteur@example.fr", &[Role::Instructor]).await;
    let teacher = instructor(&app, &["B"]).await;
    let mut body = admin.get(&format!("/api/v1/school/instructors/{teacher}")).await.json();
    body["user_id"] = json!(teacher_user.id);
    admin.put(&format!("/api/v1/school/instructors/{teacher}"), &body).await.assert_success();
    let teacher_token =
        volant::identity::auth::issue(&app.db, &app.signing_key, &teacher_user, "api").await.expect("token").token;
    let feed = app
        .anonymous()
        .send(
            Request::post("/api/v1/school/calendar-feed")
                .header(header::AUTHORIZATION, format!("Bearer {teacher_token}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let feed = feed.json()["url"]
        .as_str()
        .expect("feed url")
        .split_once("/calendar/")
        .map(|(_, rest)| format!("/calendar/{rest}"))
        .expect("path");
    let today = crate::fixtures::school::school_day(0);
    let mut reports = Vec::new();
    for format in ["csv", "xlsx", "pdf"] {
        let requested = admin
            .post(
                "/api/v1/school/reports",
                &json!({
                    "kind": "pass_rates",
                    "format": format,
                    "from": today,
                    "to": today
                }),
            )
            .await;
        reports.push(requested.json()["id"].as_i64().expect("report"));
    }
    app.run_jobs().await;

    let mut uris: Vec<String> = Vec::new();
    for dataset in ["clients", "vehicles", "quotes", "alerts"] {
        for format in ["csv", "xlsx"] {
            uris.push(format!("/api/v1/exports/{dataset}.{format}"));
            uris.push(format!("/exports/{dataset}.{format}"));
        }
    }
    uris.extend([
        format!("/api/v1/quotes/{quote_id}/pdf"),
        format!("/quotes/{quote_id}/pdf"),
        format!("{share}/pdf"),
        feed,
        "/admin/audit.csv".to_owned(),
    ]);
    for report in &reports {
        uris.push(format!("/api/v1/school/reports/{report}/file"));
        uris.push(format!("/school/reports/files/{report}"));
    }
    for uri in &uris {
        let answers = download_each_way(&app, uri, None).await;
        let kind = answers[0].1.header("content-type").unwrap_or_default().to_owned();
        for (encoding, response, body) in &answers {
            assert_eq!(response.header("content-type").unwrap_or_default(), kind, "{uri} ({encoding})");
            if kind.starts_with("text/csv") {
                let text = std::str::from_utf8(body).expect("utf-8");
                assert_eq!(body, &answers[0].2, "{uri} ({encoding}): the same file whatever the encoding");
                assert!(text.starts_with('\u{feff}') || uri.contains("audit"), "{uri}");
                if uri.contains("vehicles") {
                    assert_eq!(text.lines().count(), 121, "{uri}: every page of rows, not cut off");
                }
            } else if kind.starts_with("application/pdf") {
                assert!(body.starts_with(b"%PDF-") && body.windows(5).any(|w| w == b"%%EOF"), "{uri} ({encoding})");
            } else if kind.contains("spreadsheetml") {
                zip::ZipArchive::new(std::io::Cursor::new(body.clone())).expect("a complete XLSX");
            } else {
                assert!(std::str::from_utf8(body).expect("utf-8").trim_end().ends_with("END:VCALENDAR"), "{uri}");
            }
        }
    }
}

/// A client that keeps its connection: requests refused before their body is read
/// (401, 415, 404) do not break the next request on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_stays_usable_after_a_body_left_unread() {
    let app = TestApp::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
    let body = "x".repeat(20_000);
    let mut closed = 0;
    for i in 0..300 {
        let refused = match i % 3 {
            0 => client
                .post(format!("http://{addr}/api/v1/garages"))
                .header("content-type", "application/json")
                .body(body.clone()),
            1 => client
                .post(format!("http://{addr}/api/v1/auth/login"))
                .header("content-type", "text/plain")
                .body(body.clone()),
            _ => client
                .post(format!("http://{addr}/api/v1/nothing-here"))
                .header("content-type", "application/json")
                .body(body.clone()),
        };
        let refused = refused.send().await.unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert!(refused.status().is_client_error(), "request {i}: {}", refused.status());
        if refused.headers().get(header::CONNECTION).is_some_and(|v| v == "close") {
            closed += 1;
        }
        let next = client
            .get(format!("http://{addr}/health/live"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("the request after {i}: {e}"));
        assert_eq!(next.status(), StatusCode::OK);
    }
    assert_eq!(closed, 300, "every refusal with an unread body tells the client to reconnect");
    // A body that was read leaves the connection open.
    let read = client
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&json!({ "email": "x@example.org", "password": "wrong" }))
        .send()
        .await
        .expect("login");
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);
    assert!(read.headers().get(header::CONNECTION).is_none());
    server.abort();
}
