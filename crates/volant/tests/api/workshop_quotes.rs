//! Quotes API: numbering without gaps or duplicates under concurrency, exact money,
//! the status flow (illegal moves are 409), duplication, the share link with the
//! client's decision, the PDF's text, and sending by e-mail through the outbox.

use axum::http::{Method, StatusCode};
use chrono::Datelike;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::pdf_text;
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, json_request, send};

async fn quote(app: &TestApp, body: Value) -> Value {
    let response = app.as_admin().post("/api/v1/quotes", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

fn two_lines(client: i64) -> Value {
    json!({
        "client_id": client,
        "lines": [
            { "kind": "part", "description": "Filtre à huile", "quantity": 1, "unit_price": "12.50", "vat_rate": 20 },
            { "kind": "labour", "description": "Vidange et contrôle des niveaux", "quantity": "1,5", "unit": "h", "unit_price": 60, "vat_rate": "20", "discount": "10" }
        ]
    })
}

backend_tests!(
    a_quote_computes_exact_totals_and_takes_the_first_number,
    line_discounts_quantities_and_rates_round_half_up,
    invalid_quotes_name_every_bad_field,
    twenty_concurrent_creations_take_twenty_consecutive_numbers,
    numbering_follows_the_settings_and_restarts_each_year,
    only_drafts_change_and_illegal_transitions_are_409,
    concurrent_decisions_let_exactly_one_win,
    past_due_sent_quotes_expire_once,
    the_pdf_shows_number_client_vehicle_every_line_and_totals,
    long_quotes_run_over_several_numbered_pages,
    emailing_a_quote_queues_the_pdf_and_sends_the_draft,
    quotes_decided_line_by_line_before_the_fix_get_their_accepted_totals_on_upgrade
);

async fn a_quote_computes_exact_totals_and_takes_the_first_number(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "Jeanne Martin" })).await;
    let created = quote(
        &app,
        json!({
            "client_id": client,
            "lines": [
                { "description": "A", "unit_price": "33.33", "vat_rate": "20" },
                { "description": "B", "unit_price": 33.33, "vat_rate": 20 },
                { "description": "C", "unit_price": "33,33" }
            ]
        }),
    )
    .await;
    let year = chrono::Utc::now().year();
    assert_eq!(created["number"], format!("DEV-{year}-0001"));
    assert_eq!(created["status"], "draft");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["totals"]["excl_tax"], "99.99");
    assert_eq!(created["totals"]["vat_total"], "20.00");
    assert_eq!(created["totals"]["incl_tax"], "119.99");
    assert_eq!(created["lines"][0]["total_excl_tax"], "33.33");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(admin.get(&format!("/api/v1/quotes/{id}")).await.json(), created);
    let listed = admin.get("/api/v1/quotes").await.json();
    assert_eq!(listed[0]["total_incl_tax"], "119.99");
}

async fn line_discounts_quantities_and_rates_round_half_up(app: TestApp) {
    let client = client(&app, json!({ "name": "C" })).await;
    let created = quote(&app, two_lines(client)).await;
    // 1.5 h × 60 less 10 % = 81.00; 12.50 + 81.00 = 93.50; VAT 18.70.
    assert_eq!(created["lines"][1]["total_excl_tax"], "81.00");
    assert_eq!(created["lines"][1]["quantity"], "1.5");
    assert_eq!(created["totals"]["excl_tax"], "93.50");
    assert_eq!(created["totals"]["vat"], json!([{ "rate": "20", "base": "93.50", "vat": "18.70" }]));
    assert_eq!(created["totals"]["incl_tax"], "112.20");
    let mixed = quote(
        &app,
        json!({ "client_id": client, "lines": [
            { "description": "Pièce", "quantity": "3", "unit_price": "0.125", "vat_rate": "5.5" },
            { "description": "MO", "quantity": "999999.999", "unit_price": "99999.9999", "vat_rate": "20" }
        ]}),
    )
    .await;
    assert_eq!(mixed["lines"][0]["total_excl_tax"], "0.38");
    assert_eq!(
        mixed["totals"]["vat"][0],
        json!({
            "rate": "20",
            "base": "99999999800.00",
            "vat": "19999999960.00"
        })
    );
    assert_eq!(mixed["totals"]["vat"][1], json!({ "rate": "5.5", "base": "0.38", "vat": "0.02" }));
    assert_eq!(mixed["totals"]["incl_tax"], "119999999760.40");
}

async fn invalid_quotes_name_every_bad_field(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "C" })).await;
    let response = admin.post("/api/v1/quotes", &json!({
            "client_id": 999_999, "vehicle_id": 999_999,
            "lines": [{ "description": "", "quantity": "-1", "unit_price": "1.00001", "vat_rate": "120", "discount": "abc" }]
        })).await;
    // `discount: "abc"` is not even a number: refused before anything else.
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
    let response = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": client, "valid_until": "2000-01-01",
                "lines": [{ "description": "", "quantity": "-1", "unit_price": "1.00001", "vat_rate": "120" }]
            }),
        )
        .await;
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["lines[0].description", "lines[0].quantity", "lines[0].unit_price", "lines[0].vat_rate", "valid_until"]
    );
    let unknown = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": 999_999,
                "vehicle_id": 999_999,
                "lines": []
            }),
        )
        .await;
    let mut fields = unknown.error_fields();
    fields.sort();
    assert_eq!(fields, ["client_id", "vehicle_id"]);
}

async fn twenty_concurrent_creations_take_twenty_consecutive_numbers(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "C" })).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let body = json!({
            "client_id": client,
            "lines": [{ "description": format!("L{i}"), "unit_price": "10" }]
        });
        let request = admin.authorize(json_request(Method::POST, "/api/v1/quotes", &body)).await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        let response = task.await.expect("task");
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        numbers.push(response.json()["number"].as_str().expect("number").to_owned());
    }
    numbers.sort();
    let year = chrono::Utc::now().year();
    let expected: Vec<String> = (1..=20).map(|n| format!("DEV-{year}-{n:04}")).collect();
    assert_eq!(numbers, expected);
    // A refused creation gives its number back: the next one follows on.
    let refused = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": client,
                "lines": [{ "description": "x", "unit_price": "1e30" }]
            }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
    let next = quote(&app, json!({ "client_id": client })).await;
    assert_eq!(next["number"], format!("DEV-{year}-0021"));
}

async fn numbering_follows_the_settings_and_restarts_each_year(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "C" })).await;
    let settings = json!({
        "quote_number_format": "D{year}/{seq:3}",
        "quote_validity_days": 15,
        "line_decisions": true,
        "quote_terms": "Acompte 30 %",
        "legal_mentions": "SARL Garage — SIRET 123 456 789 00012"
    });
    let saved = admin.put("/api/v1/workshop/settings", &settings).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert_eq!(admin.get("/api/v1/workshop/settings").await.json(), settings);
    let a = quote(&app, json!({ "client_id": client, "issue_date": "2025-12-31" })).await;
    let b = quote(&app, json!({ "client_id": client, "issue_date": "2026-01-02" })).await;
    let c = quote(&app, json!({ "client_id": client, "issue_date": "2025-06-01" })).await;
    assert_eq!(a["number"], "D2025/001");
    assert_eq!(b["number"], "D2026/001");
    assert_eq!(c["number"], "D2025/002");
    assert_eq!(a["valid_until"], "2026-01-15");
    assert_eq!(a["terms"], "Acompte 30 %");
    assert_eq!(a["line_decisions"], true);
    let bad = admin
        .put(
            "/api/v1/workshop/settings",
            &json!({
                "quote_number_format": "D-{year}",
                "quote_validity_days": 0,
                "line_decisions": false
            }),
        )
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["quote_number_format", "quote_validity_days"]);
}

async fn only_drafts_change_and_illegal_transitions_are_409(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "C" })).await;
    let draft = quote(&app, json!({ "client_id": client })).await;
    let id = draft["id"].as_i64().expect("id");
    // An empty quote is not sent.
    admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.problem(StatusCode::CONFLICT, "quote_empty");
    let edited = admin.put(&format!("/api/v1/quotes/{id}"), &two_lines(client)).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text());
    assert_eq!(edited.json()["number"], draft["number"]);
    assert_eq!(edited.json()["lines"].as_array().map(Vec::len), Some(2));
    // The decision needs a sent quote.
    admin
        .post(&format!("/api/v1/quotes/{id}/decision"), &json!({ "decision": "accept" }))
        .await
        .problem(StatusCode::CONFLICT, "illegal_transition");
    let sent = admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    assert_eq!(sent.json()["quote"]["status"], "sent");
    assert!(sent.json()["share_url"].as_str().is_some_and(|u| u.starts_with("http://localhost/q/")));
    admin
        .put(&format!("/api/v1/quotes/{id}"), &two_lines(client))
        .await
        .problem(StatusCode::CONFLICT, "quote_not_editable");
    let accepted = admin.post(&format!("/api/v1/quotes/{id}/decision"), &json!({ "decision": "accept" })).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());
    assert_eq!(accepted.json()["status"], "accepted");
    assert!(accepted.json()["decided_at"].is_string());
    for (path, body) in [("decision", json!({ "decision": "decline" })), ("send", json!({}))] {
        admin
            .post(&format!("/api/v1/quotes/{id}/{path}"), &body)
            .await
            .problem(StatusCode::CONFLICT, "illegal_transition");
    }
    // Any quote can be duplicated into a new draft.
    let copy = admin.post(&format!("/api/v1/quotes/{id}/duplicate"), &json!({})).await;
    assert_eq!(copy.status, StatusCode::CREATED, "{}", copy.text());
    let copy = copy.json();
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["duplicated_from"], id);
    assert_ne!(copy["number"], draft["number"]);
    assert_eq!(copy["totals"], edited.json()["totals"]);
    assert_eq!(copy["lines"][1]["description"], "Vidange et contrôle des niveaux");
}

async fn concurrent_decisions_let_exactly_one_win(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "C" })).await;
    let id = quote(&app, two_lines(client)).await["id"].as_i64().expect("id");
    assert_eq!(admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.status, StatusCode::OK);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let decision = if i % 2 == 0 { "accept" } else { "decline" };
        let request = admin
            .authorize(json_request(
                Method::POST,
                &format!("/api/v1/quotes/{id}/decision"),
                &json!({ "decision": decision }),
            ))
            .await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut wins = 0;
    for task in tasks {
        let response = task.await.expect("task");
        match response.status {
            StatusCode::OK => wins += 1,
            StatusCode::CONFLICT => {}
            other => panic!("{other}: {}", response.text()),
        }
    }
    assert_eq!(wins, 1);
}

async fn past_due_sent_quotes_expire_once(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "C" })).await;
    let mut body = two_lines(client);
    body["issue_date"] = json!("2026-01-01");
    body["valid_until"] = json!("2026-01-31");
    let old = quote(&app, body.clone()).await["id"].as_i64().expect("id");
    let draft = quote(&app, body).await["id"].as_i64().expect("id");
    assert_eq!(admin.post(&format!("/api/v1/quotes/{old}/send"), &json!({})).await.status, StatusCode::OK);
    let expire = async |instant: &str| {
        let now = chrono::DateTime::parse_from_rfc3339(instant).expect("instant").with_timezone(&chrono::Utc);
        volant::workshop::quotes::service::expire_past_due(&app.db, now).await.expect("expire")
    };
    // 23:30 in Paris on its last day: still valid where the garage is.
    assert_eq!(expire("2026-01-31T22:30:00Z").await, 0);
    // Half past midnight in Paris (still the 31st in UTC): past due there, once.
    assert_eq!(expire("2026-01-31T23:30:00Z").await, 1);
    assert_eq!(expire("2026-02-01T09:00:00Z").await, 0);
    assert_eq!(admin.get(&format!("/api/v1/quotes/{old}")).await.json()["status"], "expired");
    assert_eq!(admin.get(&format!("/api/v1/quotes/{draft}")).await.json()["status"], "draft");
    let expired = admin.get("/api/v1/quotes?status=expired").await.json();
    assert_eq!(expired.as_array().map(Vec::len), Some(1));
    admin.get("/api/v1/quotes?status=lost").await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn the_pdf_shows_number_client_vehicle_every_line_and_totals(app: TestApp) {
    let admin = app.as_admin();
    let client = client(
        &app,
        json!({
            "kind": "company",
            "name": "Jeanne Martin",
            "company_name": "Transports Martin",
            "address": "3 rue des Lilas, 69003 Lyon"
        }),
    )
    .await;
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    let business = json!({
        "name": "Garage du Centre",
        "address": "12 rue de la Paix\n69002 Lyon",
        "phone": "04 78 00 00 00",
        "email": "contact@garage-centre.fr",
        "registration_number": "130 005 481 00010",
        "vat_number": "FR40303265045"
    });
    admin.patch("/api/v1/organization", &business).await.assert_success();
    admin
        .put(
            "/api/v1/workshop/settings",
            &json!({
                "quote_number_format": "DEV-{year}-{seq:4}",
                "quote_validity_days": 30,
                "line_decisions": false,
                "legal_mentions": "SIRET 123 456 789 00012"
            }),
        )
        .await
        .assert_success();
    let mut body = two_lines(client);
    body["vehicle_id"] = json!(vehicle);
    body["notes"] = json!("Prévoir le remplacement des plaquettes avant l'hiver.");
    let created = quote(&app, body).await;
    let id = created["id"].as_i64().expect("id");
    let response = admin.get(&format!("/api/v1/quotes/{id}/pdf")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/pdf"));
    let number = created["number"].as_str().expect("number");
    assert!(response.header("content-disposition").is_some_and(|d| d.contains(&format!("{number}.pdf"))));
    assert!(response.body.starts_with(b"%PDF-"));
    let Some(text) = pdf_text(&response.body) else { return };
    for expected in [
        number,
        "DEVIS",
        "Garage du Centre",
        "69002 Lyon",
        "04 78 00 00 00 · contact@garage-centre.fr",
        "SIRET : 130 005 481 00010",
        "N° TVA : FR40303265045",
        "Transports Martin",
        "Jeanne Martin",
        "3 rue des Lilas",
        "AB-123-CD",
        "Renault Clio",
        "Filtre à huile",
        "Vidange et contrôle des niveaux",
        "12,50 €",
        "81,00 €",
        "1,5",
        "Total HT",
        "93,50 €",
        "18,70 €",
        "Total TTC",
        "112,20 €",
        "Prévoir le remplacement",
        "SIRET 123 456 789 00012",
        "Page 1 / 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
}

async fn long_quotes_run_over_several_numbered_pages(app: TestApp) {
    let client = client(&app, json!({ "name": "C" })).await;
    let lines: Vec<Value> = (1..=120)
        .map(|i| {
            json!({
                "description": format!("Ligne numéro {i:03}"),
                "unit_price": "1.10"
            })
        })
        .collect();
    let id = quote(&app, json!({ "client_id": client, "lines": lines })).await["id"].as_i64().expect("id");
    let response = app.as_admin().get(&format!("/api/v1/quotes/{id}/pdf")).await;
    let Some(text) = pdf_text(&response.body) else { return };
    let pages = text.matches("Page ").count();
    assert!(pages >= 3, "{pages} pages");
    assert!(text.contains(&format!("Page {pages} / {pages}")));
    for i in [1, 60, 120] {
        assert!(text.contains(&format!("Ligne numéro {i:03}")), "line {i}");
    }
    assert!(text.contains("132,00 €"), "120 × 1.10");
}

async fn emailing_a_quote_queues_the_pdf_and_sends_the_draft(app: TestApp) {
    let admin = app.as_admin();
    let without = client(&app, json!({ "name": "Sans mail" })).await;
    let id = quote(&app, two_lines(without)).await["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/quotes/{id}/email"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "client_without_email");
    let client = client(&app, json!({ "name": "Jeanne", "email": "jeanne@exemple.fr" })).await;
    let created = quote(&app, two_lines(client)).await;
    let id = created["id"].as_i64().expect("id");
    let response = admin.post(&format!("/api/v1/quotes/{id}/email"), &json!({})).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text());
    assert_eq!(response.json()["quote"]["status"], "sent");
    let email_id = response.json()["email_id"].as_i64().expect("email id");
    let queued = volant::notify::outbox::get(&app.db, app.org, email_id).await.expect("read").expect("queued");
    assert_eq!(queued.to_address, "jeanne@exemple.fr");
    assert_eq!(queued.status, "pending");
    assert!(queued.subject.contains(created["number"].as_str().expect("number")));
    assert!(
        queued.body_text.contains("112,20\u{a0}€") && queued.body_text.contains("http://localhost/q/"),
        "{}",
        queued.body_text
    );
    assert!(queued.body_text.contains("\n\n"), "paragraphs");
    assert_eq!(queued.attachment_type.as_deref(), Some("application/pdf"));
    let pdf = queued.attachment.expect("attachment");
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("112,20 €"));
    }
}

async fn quotes_decided_line_by_line_before_the_fix_get_their_accepted_totals_on_upgrade(app: TestApp) {
    let admin = app.as_admin();
    use migration::MigratorTrait;
    use sea_orm::ConnectionTrait;
    let client = client(&app, json!({ "name": "C" })).await;
    let created = quote(
        &app,
        json!({
            "client_id": client, "line_decisions": true,
            "lines": [
                { "description": "A", "unit_price": "150", "vat_rate": 20 },
                { "description": "B", "unit_price": "80.20", "vat_rate": 20 },
                { "description": "C", "unit_price": "30", "vat_rate": "5.5" },
                { "description": "D", "unit_price": "12.40", "vat_rate": 20 }
            ]
        }),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    let ids: Vec<i64> =
        created["lines"].as_array().expect("lines").iter().map(|l| l["id"].as_i64().expect("line")).collect();
    assert_eq!(admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.status, StatusCode::OK);
    // A quote that does not allow line-by-line answers takes all of its lines or none,
    // however the ids are repeated.
    let whole = quote(&app, two_lines(client)).await;
    let whole_id = whole["id"].as_i64().expect("id");
    let first_line = whole["lines"][0]["id"].as_i64().expect("line");
    assert_eq!(admin.post(&format!("/api/v1/quotes/{whole_id}/send"), &json!({})).await.status, StatusCode::OK);
    let repeated = admin
        .post(
            &format!("/api/v1/quotes/{whole_id}/decision"),
            &json!({
                "decision": "accept",
                "accepted_line_ids": [first_line, first_line]
            }),
        )
        .await;
    assert_eq!(repeated.error_fields(), vec!["accepted_line_ids"]);
    let decided = admin
        .post(
            &format!("/api/v1/quotes/{id}/decision"),
            &json!({
                "decision": "accept",
                "accepted_line_ids": [ids[0], ids[0], ids[1], ids[2]]
            }),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text());
    // 230.20 at 20 % (46.04) + 30 at 5.5 % (1.65): 260.20 + 47.69 = 307.89.
    assert_eq!(decided.json()["totals"]["incl_tax"], "307.89");
    // As an older Volant stored it: every line in the totals.
    app.db.execute_unprepared(&format!("UPDATE quotes SET total_excl_minor = 27260, total_vat_minor = 5017, total_incl_minor = 32277 WHERE id = {id}")).await.expect("old totals");
    assert_eq!(admin.get("/api/v1/quotes?status=accepted").await.json()[0]["total_incl_tax"], "322.77");
    // The upgrade: back to before the migration that recomputes them, then up again.
    let applied = migration::Migrator::get_applied_migrations(&app.db).await.expect("applied");
    let at = applied.iter().position(|m| m.name() == "m20261202_000012_quote_accepted_totals").expect("the migration");
    let steps = u32::try_from(applied.len() - at).expect("steps");
    migration::Migrator::down(&app.db, Some(steps)).await.expect("down");
    migration::Migrator::up(&app.db, None).await.expect("up");
    let listed = admin.get("/api/v1/quotes?status=accepted").await.json();
    assert_eq!(
        (listed[0]["total_excl_tax"].as_str(), listed[0]["total_incl_tax"].as_str()),
        (Some("260.20"), Some("307.89"))
    );
}

crate::backend_tests!(quotes_sort_by_total_and_dates_across_pages_in_the_api_and_the_list);

async fn quotes_sort_by_total_and_dates_across_pages_in_the_api_and_the_list(app: crate::helpers::TestApp) {
    use axum::http::StatusCode;
    use serde_json::json;
    let admin = app.as_admin();
    let client = crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin" })).await;
    // Five quotes: two of the same total (the id breaks the tie), dates not in creation order.
    for (price, issued) in [
        ("300", "2026-03-01"),
        ("100", "2026-05-01"),
        ("300", "2026-01-15"),
        ("50", "2026-04-01"),
        ("900", "2026-02-01"),
    ] {
        let line = json!([{ "description": "Travaux", "unit_price": price }]);
        admin
            .post("/api/v1/quotes", &json!({ "client_id": client, "issue_date": issued, "lines": line }))
            .await
            .assert_success();
    }
    // Walks every page of a sorted list, two at a time, following `Link`.
    let walk = async |sort: &str| -> Vec<String> {
        let (mut seen, mut ids) = (Vec::new(), Vec::<serde_json::Value>::new());
        let mut next = Some(format!("/api/v1/quotes?sort={sort}&limit=2"));
        while let Some(uri) = next {
            let page = admin.get(&uri).await;
            page.assert_status(StatusCode::OK);
            for q in page.json().as_array().expect("array") {
                assert!(!ids.contains(&q["id"]), "each quote once, ties included: {q}");
                ids.push(q["id"].clone());
                seen.push(q["total_incl_tax"].as_str().expect("total").to_owned());
            }
            next = page.next_link();
        }
        seen
    };
    assert_eq!(walk("-total").await, ["1080.00", "360.00", "360.00", "120.00", "60.00"], "highest first");
    assert_eq!(walk("total").await, ["60.00", "120.00", "360.00", "360.00", "1080.00"]);
    let by_date = |sort: &'static str| {
        let admin = &admin;
        async move {
            let mut dates = Vec::new();
            let mut next = Some(format!("/api/v1/quotes?sort={sort}&limit=2"));
            while let Some(uri) = next {
                let page = admin.get(&uri).await;
                dates.extend(
                    page.json()
                        .as_array()
                        .expect("array")
                        .iter()
                        .map(|q| q["issue_date"].as_str().expect("date").to_owned()),
                );
                next = page.next_link();
            }
            dates
        }
    };
    assert_eq!(by_date("issue_date").await, ["2026-01-15", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]);
    assert_eq!(by_date("-issue_date").await.first().map(String::as_str), Some("2026-05-01"));
    // An unknown order, or a cursor of another order, is a clear 422 naming the parameter.
    assert_eq!(admin.get("/api/v1/quotes?sort=price").await.error_fields(), ["sort"]);
    assert_eq!(admin.get("/api/v1/quotes?sort=total&cursor=i3").await.error_fields(), ["cursor"]);

    // The list page: headings that sort, tell screen readers how, and keep the filters.
    let page = crate::fixtures::html(&admin.get("/quotes?sort=-total&status=draft").await);
    assert!(page.contains("<th scope=\"col\" class=\"num\" aria-sort=\"descending\"><a class=\"sort\" href=\"/quotes?status=draft&sort=total\">"), "{page}");
    assert!(
        page.contains("aria-sort=\"none\"><a class=\"sort\" href=\"/quotes?status=draft&sort=-issue_date\">"),
        "{page}"
    );
    assert!(page.contains("<option value=\"-total\" selected>Montant, le plus élevé d'abord</option>"), "{page}");
    let first = page.find("1\u{202f}080,00").expect("the largest");
    let last = page.find("60,00\u{a0}€").expect("the smallest");
    assert!(first < last, "highest total first");
    // Filtered, the count is of what the filters keep.
    assert!(page.contains("5 correspondant(s)"), "{page}");
    let one = crate::fixtures::html(&admin.get("/quotes?q=0004").await);
    assert!(one.contains("1 correspondant(s)"), "{one}");
    assert!(crate::fixtures::html(&admin.get("/quotes").await).contains("5 au total"));
    // The client's page shows the same table without sorting.
    let card = crate::fixtures::html(&admin.get(&format!("/clients/{client}")).await);
    assert!(!card.contains("aria-sort"), "{card}");
}

crate::backend_tests!(a_quote_and_a_work_order_are_dated_today_where_the_business_is);

/// A zone whose date is not UTC's at this hour (far east late in the UTC day,
/// far west early in it), and that date.
fn elsewhere() -> (&'static str, chrono::NaiveDate) {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let zone = if now.hour() >= 10 { chrono_tz::Pacific::Kiritimati } else { chrono_tz::Pacific::Pago_Pago };
    let today = now.with_timezone(&zone).date_naive();
    assert_ne!(today, now.date_naive(), "{zone}: another day than UTC's");
    (zone.name(), today)
}

async fn a_quote_and_a_work_order_are_dated_today_where_the_business_is(app: crate::helpers::TestApp) {
    use serde_json::json;
    let admin = app.as_admin();
    let (zone, today) = elsewhere();
    admin.patch("/api/v1/organization", &json!({ "time_zone": zone })).await.assert_success();
    let client = crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin" })).await;
    let line = json!([{ "description": "Vidange", "unit_price": "60" }]);
    let quote = admin.post("/api/v1/quotes", &json!({ "client_id": client, "lines": line })).await;
    quote.assert_success();
    assert_eq!(quote.json()["issue_date"], json!(today.to_string()), "the business's day, not UTC's");
    // The work form opens on that day too.
    let garage = app.garage("Garage du Centre").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    let form = crate::fixtures::html(&admin.get(&format!("/vehicles/{vehicle}/interventions/new")).await);
    assert!(form.contains(&format!("value=\"{today}\"")), "{form}");
}

crate::backend_tests!(legal_mentions_that_would_not_fit_the_footer_are_refused);

async fn legal_mentions_that_would_not_fit_the_footer_are_refused(app: crate::helpers::TestApp) {
    use axum::http::StatusCode;
    use serde_json::json;
    let admin = app.as_admin();
    let settings = |legal: &str| json!({ "quote_number_format": "DEV-{year}-{seq:4}", "quote_validity_days": 30, "line_decisions": false, "legal_mentions": legal });
    let long = "SARL Garage du Centre au capital de 10 000 €, RCS Lyon 123 456 789, SIRET 123 456 789 00012, TVA FR12 123456789. ".repeat(4);
    let refused = admin.put("/api/v1/workshop/settings", &settings(&long)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.error_fields(), ["legal_mentions"]);
    assert!(refused.text().contains("3 lignes au plus"), "{}", refused.text());
    let fits = "SARL Garage du Centre — SIRET 123 456 789 00012\nTVA FR12 123456789";
    admin.put("/api/v1/workshop/settings", &settings(fits)).await.assert_success();
}
