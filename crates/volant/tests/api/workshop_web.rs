//! Workshop pages without JavaScript: clients through forms, the quote editor,
//! sending, and the client's share link (read, PDF, accept line by line).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::backend_tests;
use crate::fixtures::{follow, html};
use crate::helpers::{TEST_CSRF, TestApp, TestResponse};

/// A request from the client's browser: no session, only the CSRF cookie.
async fn as_client(app: &TestApp, request: Request<Body>) -> TestResponse {
    let (mut parts, body) = request.into_parts();
    parts.headers.insert(header::COOKIE, format!("volant_csrf={TEST_CSRF}").parse().expect("cookie"));
    app.anonymous().send(Request::from_parts(parts, body)).await
}

/// A form posted from the client's browser (signed out), with the page's CSRF token.
fn form_post(app: &TestApp, uri: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let token = app.csrf_for("");
    let mut fields = fields.to_vec();
    fields.push(("_csrf", &token));
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request")
}

fn id_from(response: &TestResponse, prefix: &str) -> i64 {
    response
        .header("location")
        .expect("location")
        .trim_start_matches(prefix)
        .split('/')
        .next()
        .expect("id")
        .parse()
        .expect("id")
}

backend_tests!(
    a_client_is_created_found_and_given_a_vehicle_through_forms,
    a_quote_is_written_sent_and_accepted_line_by_line_by_the_client,
    unknown_or_replaced_share_links_are_404,
    the_quote_settings_page_saves_and_explains
);

async fn a_client_is_created_found_and_given_a_vehicle_through_forms(app: TestApp) {
    let admin = app.as_admin();
    let created = admin
        .post_form(
            "/clients",
            &[
                ("kind", "company"),
                ("name", "Jeanne Martin"),
                ("company_name", "Transports Martin"),
                ("phone", "06 12 34 56 78"),
                ("consent_notifications", "on"),
            ],
        )
        .await;
    let id = id_from(&created, "/clients/");
    let page = html(&follow(&app, &created).await);
    assert!(page.contains("Client Transports Martin créé."), "{page}");
    assert!(page.contains("Accepte les e-mails de service"));
    let found = html(&admin.get("/clients?q=0612").await);
    assert!(found.contains(&format!("/clients/{id}")) && found.contains("Transports Martin"), "{found}");
    let none = html(&admin.get("/clients?q=zzz").await);
    assert!(none.contains("Aucun client ne correspond à « zzz »"));

    let garage = app.garage("G").await;
    app.vehicle(garage, "AB-123-CD").await;
    let unknown = admin.post_form(&format!("/clients/{id}/vehicles"), &[("plate", "ZZ-999-ZZ")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&unknown).contains("Aucun véhicule immatriculé « ZZ-999-ZZ » dans le parc."));
    let assigned = admin.post_form(&format!("/clients/{id}/vehicles"), &[("plate", "ab 123 cd")]).await;
    let page = html(&follow(&app, &assigned).await);
    assert!(page.contains("Le véhicule AB-123-CD appartient désormais à ce client."), "{page}");
    assert!(page.contains(">AB-123-CD</a>"));
    let invalid =
        admin.post_form(&format!("/clients/{id}/edit"), &[("kind", "company"), ("name", ""), ("email", "x")]).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = html(&invalid);
    assert!(body.contains("Ce champ est obligatoire.") && body.contains("Adresse e-mail invalide."), "{body}");
}

async fn a_quote_is_written_sent_and_accepted_line_by_line_by_the_client(app: TestApp) {
    let admin = app.as_admin();
    let client = admin
        .post(
            "/api/v1/clients",
            &json!({
                "name": "Jeanne Martin",
                "email": "jeanne@exemple.fr"
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("client");
    let form = admin.get(&format!("/quotes/new?client_id={client}")).await;
    assert!(html(&form).contains("Jeanne Martin"));
    // Two filled rows and a blank one, as the editor sends them.
    let fields = [
        ("client_id", client.to_string()),
        ("line_decisions", "on".into()),
        ("notes", "Pneus arrière à surveiller.\r\nPrévoir la vidange à 95 000 km 🚗".into()),
        ("kind", "part".into()),
        ("description", "Plaquettes avant".into()),
        ("quantity", "1".into()),
        ("unit", "".into()),
        ("unit_price", "48,90".into()),
        ("vat_rate", "20".into()),
        ("discount", "0".into()),
        ("kind", "labour".into()),
        ("description", "Pose".into()),
        ("quantity", "0,5".into()),
        ("unit", "h".into()),
        ("unit_price", "70".into()),
        ("vat_rate", "20".into()),
        ("discount", "".into()),
        ("kind", "part".into()),
        ("description", "".into()),
        ("quantity", "1".into()),
        ("unit", "".into()),
        ("unit_price", "".into()),
        ("vat_rate", "20".into()),
        ("discount", "0".into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| if *k == "unit_price" && *v == "70" { (*k, "soixante-dix") } else { (*k, *v) })
        .collect();
    let refused = admin.post_form("/quotes", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("value=\"soixante-dix\""), "input kept");
    let created = admin.post_form("/quotes", &fields).await;
    let id = id_from(&created, "/quotes/");
    let page = html(&follow(&app, &created).await);
    // 48.90 + 35.00 = 83.90; VAT 16.78; 100.68
    assert!(page.contains("83,90\u{a0}€") && page.contains("16,78\u{a0}€") && page.contains("100,68\u{a0}€"), "{page}");
    assert!(page.contains("Brouillon"));

    let sent = admin.post_form(&format!("/quotes/{id}/send"), &[]).await;
    assert_eq!(sent.status, StatusCode::OK);
    let sent = html(&sent);
    let start = sent.find("http://localhost/q/").expect("share link shown");
    let path = sent[start + "http://localhost".len()..].split('"').next().expect("path").to_owned();
    assert_eq!(
        admin.get(&format!("/quotes/{id}/edit")).await.status,
        StatusCode::SEE_OTHER,
        "sent quotes are not edited"
    );

    // The client, without an account.
    let shared = as_client(&app, Request::get(&path).body(Body::empty()).expect("request")).await;
    assert_eq!(shared.status, StatusCode::OK);
    let shared_page = html(&shared);
    assert!(
        shared_page.contains("Plaquettes avant")
            && shared_page.contains("100,68\u{a0}€")
            && shared_page.contains("J'accepte ce devis")
            && shared_page.contains(
                "Remarques</h2><p class=\"pre\">Pneus arrière à surveiller.\nPrévoir la vidange à 95 000 km 🚗</p>"
            ),
        "the client reads the remarks the PDF prints, on their lines: {shared_page}"
    );
    let pdf = as_client(&app, Request::get(format!("{path}/pdf")).body(Body::empty()).expect("request")).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let quote = admin.get(&format!("/api/v1/quotes/{id}")).await.json();
    let first_line = quote["lines"][0]["id"].as_i64().expect("line").to_string();
    // Accepting with no line ticked is refused; then only the pads are accepted.
    let none = as_client(
        &app,
        form_post(&app, &format!("{path}/decision"), &[("decision", "accept"), ("lines_offered", "1")]),
    )
    .await;
    assert_eq!(none.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get(&format!("/api/v1/quotes/{id}")).await.json()["status"], "sent");
    let accepted = as_client(
        &app,
        form_post(
            &app,
            &format!("{path}/decision"),
            &[("decision", "accept"), ("lines_offered", "1"), ("line", &first_line)],
        ),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    let quote = admin.get(&format!("/api/v1/quotes/{id}")).await.json();
    assert_eq!(quote["status"], "accepted");
    assert_eq!(quote["lines"][0]["accepted"], true);
    assert_eq!(quote["lines"][1]["accepted"], false);
    assert_eq!(quote["decision_ip"], "local");
    // Once decided, the link shows the answer and takes no other.
    let again = as_client(&app, form_post(&app, &format!("{path}/decision"), &[("decision", "decline")])).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get(&format!("/api/v1/quotes/{id}")).await.json()["status"], "accepted");
    let closed = html(&as_client(&app, Request::get(&path).body(Body::empty()).expect("request")).await);
    assert!(closed.contains("Accepté") && !closed.contains("J'accepte ce devis"));
    // The garage heard of the answer at once, once.
    let inbox = admin.get("/api/v1/notifications").await.json();
    let told: Vec<&serde_json::Value> =
        inbox.as_array().expect("inbox").iter().filter(|n| n["event"] == "quote_decided").collect();
    assert_eq!(told.len(), 1, "{inbox}");
    let number = quote["number"].as_str().expect("number");
    assert!(told[0]["title"].as_str().is_some_and(|t| t.starts_with(&format!("Devis {number} accepté par "))));
    assert_eq!(told[0]["link"], format!("/quotes/{id}"));
}

async fn unknown_or_replaced_share_links_are_404(app: TestApp) {
    let admin = app.as_admin();
    let client = admin.post("/api/v1/clients", &json!({ "name": "C" })).await.json()["id"].as_i64().expect("client");
    let id = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": client,
                "lines": [{ "description": "x", "unit_price": "1" }]
            }),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("quote");
    let first = admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.json()["share_link"]["path"]
        .as_str()
        .expect("path")
        .to_owned();
    let second = admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.json()["share_link"]["path"]
        .as_str()
        .expect("path")
        .to_owned();
    for path in [first.as_str(), "/q/abc", "/q/0000000000000000000000000000000000000000000000000000000000000000"] {
        let response = as_client(&app, Request::get(path).body(Body::empty()).expect("request")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        as_client(&app, Request::get(&second).body(Body::empty()).expect("request")).await.status,
        StatusCode::OK
    );
    // A form without the CSRF cookie changes nothing.
    let forged = app.anonymous().send(form_post(&app, &format!("{second}/decision"), &[("decision", "accept")])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

async fn the_quote_settings_page_saves_and_explains(app: TestApp) {
    let admin = app.as_admin();
    let saved = admin
        .post_form(
            "/workshop/settings",
            &[("quote_number_format", "F-{seq:5}"), ("quote_validity_days", "45"), ("legal_mentions", "SIRET 1")],
        )
        .await;
    assert!(html(&follow(&app, &saved).await).contains("Paramètres des devis enregistrés."));
    assert_eq!(admin.get("/api/v1/workshop/settings").await.json()["quote_validity_days"], 45);
    let bad =
        admin.post_form("/workshop/settings", &[("quote_number_format", "F"), ("quote_validity_days", "x")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&bad).contains("Le format doit contenir {seq}"));
}

backend_tests!(
    maintenance_through_pages_reading_alert_and_intervention,
    a_partly_accepted_quote_counts_only_the_accepted_lines_everywhere
);

async fn maintenance_through_pages_reading_alert_and_intervention(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("G").await;
    let vehicle = app.vehicle(garage, "MT-100-AA").await;
    let page = html(&admin.get(&format!("/vehicles/{vehicle}/maintenance")).await);
    assert!(
        page.contains("Vidange") && page.contains("Contrôle technique") && page.contains("Jamais enregistré"),
        "{page}"
    );
    // A reading that goes backwards is explained beside the field.
    let first =
        admin.post_form(&format!("/vehicles/{vehicle}/mileage"), &[("mileage_km", "80 000"), ("read_on", "")]).await;
    assert!(html(&follow(&app, &first).await).contains("Relevé kilométrique enregistré."));
    let lower =
        admin.post_form(&format!("/vehicles/{vehicle}/mileage"), &[("mileage_km", "1000"), ("read_on", "")]).await;
    assert_eq!(lower.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&lower).contains("Kilométrage inférieur au dernier relevé"), "{}", html(&lower));
    // 80,000 km and nothing on record: oil, tyres, brakes alerts on the alerts page.
    let alerts = html(&admin.get("/alerts?window=to_check").await);
    assert!(
        alerts.contains("MT-100-AA") && alerts.contains("Vidange") && alerts.contains("Contrôle des freins"),
        "{alerts}"
    );
    assert!(alerts.contains("À vérifier") && !alerts.contains("badge-rejected"), "never done here is not overdue");
    let alert = admin.get(&format!("/api/v1/alerts?vehicle_id={vehicle}&kind=oil_service")).await.json()[0]["id"]
        .as_i64()
        .expect("alert");
    let acknowledged =
        admin.post_form(&format!("/alerts/{alert}"), &[("action", "acknowledge"), ("back", "/alerts")]).await;
    assert_eq!(acknowledged.header("location"), Some("/alerts"));
    assert_eq!(
        admin.get(&format!("/api/v1/alerts?vehicle_id={vehicle}&kind=oil_service")).await.json()[0]["status"],
        "acknowledged"
    );
    let outside =
        admin.post_form(&format!("/alerts/{alert}"), &[("action", "resolve"), ("back", "https://evil.example")]).await;
    assert_eq!(outside.header("location"), Some("/alerts"), "only local pages to come back to");
    // The oil service, through the intervention form.
    let form = html(&admin.get(&format!("/vehicles/{vehicle}/interventions/new")).await);
    assert!(form.contains("name=\"service\" value=\"oil_service\""));
    let done = admin
        .post_form(
            &format!("/vehicles/{vehicle}/interventions"),
            &[
                ("performed_on", ""),
                ("mileage_km", "80500"),
                ("intervention_description", "Vidange et filtre"),
                ("technician", "Karim"),
                ("service", "oil_service"),
                ("kind", "part"),
                ("description", "Huile 5W30"),
                ("quantity", "4,5"),
                ("unit", "l"),
                ("unit_price", "12,90"),
                ("vat_rate", "20"),
                ("discount", "0"),
            ],
        )
        .await;
    let page = html(&follow(&app, &done).await);
    assert!(
        page.contains("Intervention enregistrée")
            && page.contains("Vidange et filtre")
            && page.contains("58,05\u{a0}€"),
        "{page}"
    );
    assert!(
        admin
            .get(&format!("/api/v1/alerts?vehicle_id={vehicle}&kind=oil_service"))
            .await
            .json()
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let missing =
        admin.post_form(&format!("/vehicles/{vehicle}/interventions"), &[("intervention_description", "")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Work kept in the workshop: shown under way, completed from the page.
    let kept = admin
        .post_form(
            &format!("/vehicles/{vehicle}/interventions"),
            &[("intervention_description", "Boîte de vitesses"), ("in_progress", "on")],
        )
        .await;
    let page = html(&follow(&app, &kept).await);
    assert!(page.contains("en cours") && page.contains("/complete"), "under way, with its button");
    let under_way =
        admin.get(&format!("/api/v1/vehicles/{vehicle}/interventions")).await.json()[0]["id"].as_i64().expect("id");
    let completed = admin.post_form(&format!("/interventions/{under_way}/complete"), &[]).await;
    assert!(html(&follow(&app, &completed).await).contains("Intervention terminée"));
    // This vehicle works hard: its own oil interval, then back to the organization's.
    let own = admin
        .post_form(
            &format!("/vehicles/{vehicle}/maintenance/rules"),
            &[
                ("kind", "oil_service"),
                ("name", "Vidange (taxi)"),
                ("interval_km", "7 500"),
                ("interval_months", "6"),
                ("active", "on"),
            ],
        )
        .await;
    assert!(html(&follow(&app, &own).await).contains("Règle « Vidange (taxi) » enregistrée."));
    let rules = admin.get(&format!("/api/v1/vehicles/{vehicle}/maintenance/rules")).await.json();
    let oil = rules.as_array().expect("rules").iter().find(|r| r["kind"] == "oil_service").expect("oil").clone();
    assert_eq!((oil["interval_km"].clone(), oil["overridden"].clone()), (json!(7500), json!(true)));
    let status = admin.get(&format!("/api/v1/vehicles/{vehicle}/maintenance")).await.json();
    let next = status["rules"].as_array().expect("rules").iter().find(|r| r["kind"] == "oil_service").expect("oil")["next"]["due_km"].clone();
    assert_eq!(next, json!(88_000), "80,500 + 7,500");
    let reset =
        admin.post_form(&format!("/vehicles/{vehicle}/maintenance/rules/reset"), &[("kind", "oil_service")]).await;
    assert!(html(&follow(&app, &reset).await).contains("suit de nouveau la règle de l'organisation"));
    let bad = admin
        .post_form(
            &format!("/vehicles/{vehicle}/maintenance/rules"),
            &[("kind", "oil_service"), ("name", ""), ("active", "on")],
        )
        .await;
    assert!(html(&follow(&app, &bad).await).contains("Ce champ est obligatoire."));
}

async fn a_partly_accepted_quote_counts_only_the_accepted_lines_everywhere(app: TestApp) {
    let admin = app.as_admin();
    let client =
        admin.post("/api/v1/clients", &json!({ "name": "Jeanne Martin" })).await.json()["id"].as_i64().expect("client");
    let created = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": client,
                "line_decisions": true,
                "lines": [
                    { "kind": "labour", "description": "Distribution", "unit_price": "150", "vat_rate": 20 },
                    { "kind": "part", "description": "Kit courroie", "unit_price": "80.20", "vat_rate": 20 },
                    { "kind": "part", "description": "Liquide de refroidissement", "unit_price": "30", "vat_rate": 20 },
                    { "kind": "part", "description": "Balais d'essuie-glace", "unit_price": "12.40", "vat_rate": 20 }
                ]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let quote = created.json();
    let id = quote["id"].as_i64().expect("id");
    assert_eq!(quote["totals"]["incl_tax"], "327.12");
    let sent = admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.json();
    let path = sent["share_link"]["path"].as_str().expect("share path").to_owned();
    let lines: Vec<String> =
        quote["lines"].as_array().expect("lines").iter().map(|l| l["id"].as_i64().expect("id").to_string()).collect();
    // The client unticks the wipers (12,40 € excl. tax) on the share page and accepts.
    let mut fields = vec![("decision", "accept"), ("lines_offered", "1")];
    fields.extend(lines[..3].iter().map(|l| ("line", l.as_str())));
    let decided = as_client(&app, form_post(&app, &format!("{path}/decision"), &fields)).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER);

    // API: the quote, and the list's summary.
    let quote = admin.get(&format!("/api/v1/quotes/{id}")).await.json();
    assert_eq!(quote["status"], "accepted");
    assert_eq!(
        (
            quote["totals"]["excl_tax"].clone(),
            quote["totals"]["vat_total"].clone(),
            quote["totals"]["incl_tax"].clone()
        ),
        (json!("260.20"), json!("52.04"), json!("312.24"))
    );
    assert_eq!(quote["original_totals"]["incl_tax"], "327.12");
    let listed = admin.get("/api/v1/quotes?status=accepted").await.json();
    assert_eq!(listed[0]["total_incl_tax"], "312.24");
    assert_eq!(listed[0]["total_excl_tax"], "260.20");
    // The dashboard's accepted amount.
    let dashboard = admin.get("/api/v1/dashboard").await.json();
    assert_eq!(dashboard["quotes"]["amount_accepted"], "260.20", "{dashboard}");
    // The staff page and the client's page: the accepted totals, the original ones labelled beside them.
    let shared = as_client(&app, Request::get(&path).body(Body::empty()).expect("request")).await;
    assert_eq!(shared.header("cache-control"), Some("no-store"), "the client's page is personal, signed in or not");
    for page in [html(&admin.get(&format!("/quotes/{id}")).await), html(&shared)] {
        assert!(
            page.contains("312,24\u{a0}€")
                && page.contains("Devis initial, toutes lignes")
                && page.contains("327,12\u{a0}€"),
            "{page}"
        );
        assert!(
            page.contains("data-testid=\"total-incl\">312,24\u{a0}€"),
            "the grand total is the accepted one: {page}"
        );
    }
    // The PDF, read back by an independent reader.
    let pdf = admin.get(&format!("/api/v1/quotes/{id}/pdf")).await;
    if let Some(text) = crate::fixtures::pdf_text(&pdf.body) {
        let total_line = text.lines().find(|l| l.contains("Total TTC")).expect("total line");
        assert!(total_line.contains("312,24"), "{text}");
        assert!(
            text.contains("ligne refusée par le client")
                && text.contains("Devis initial, toutes lignes")
                && text.contains("327,12"),
            "{text}"
        );
    }
}

backend_tests!(quotes_are_started_from_their_list_and_found_by_number_client_or_plate);

async fn quotes_are_started_from_their_list_and_found_by_number_client_or_plate(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage des Brotteaux").await;
    let vehicle = app.vehicle(garage, "GH-456-JK").await;
    let martin =
        crate::fixtures::workshop::client(&app, json!({ "name": "Paul Martin", "phone": "06 11 22 33 44" })).await;
    let durand = crate::fixtures::workshop::client(&app, json!({ "name": "Anne Durand" })).await;
    let line = json!([{ "kind": "labour", "description": "Diagnostic", "quantity": "1", "unit_price": "60" }]);
    let with_car =
        admin.post("/api/v1/quotes", &json!({ "client_id": martin, "vehicle_id": vehicle, "lines": line })).await;
    let with_car = with_car.json();
    let other = admin.post("/api/v1/quotes", &json!({ "client_id": durand, "lines": line })).await.json();

    // "Nouveau devis" on the list: the client first, found by what the garage knows of them.
    let list = html(&admin.get("/quotes").await);
    assert!(list.contains("href=\"/quotes/new\"") && list.contains("Garage des Brotteaux"), "button and garage column");
    let chooser = html(&admin.get("/quotes/new").await);
    assert!(chooser.contains("name=\"client_q\""), "{chooser}");
    let found = html(&admin.get("/quotes/new?client_q=06%2011%2022").await);
    assert!(
        found.contains(&format!("href=\"/quotes/new?client_id={martin}\"")) && !found.contains("Anne Durand"),
        "{found}"
    );
    assert!(html(&admin.get(&format!("/quotes/new?client_id={martin}")).await).contains("Paul Martin"));

    // The vehicle's page lists its quotes beside its alerts and history.
    let hub = html(&admin.get(&format!("/vehicles/{vehicle}/maintenance")).await);
    assert!(hub.contains(with_car["number"].as_str().unwrap()) && hub.contains("id=\"quotes-title\""), "{hub}");

    // Search by plate, by client, by part of the number.
    let number = other["number"].as_str().expect("number");
    let tail = &number[number.len() - 3..];
    for (q, expected, absent) in [
        ("gh-456", with_car["number"].as_str().unwrap(), number),
        ("durand", number, with_car["number"].as_str().unwrap()),
        (tail, number, with_car["number"].as_str().unwrap()),
    ] {
        let page = html(&admin.get(&format!("/quotes?q={q}")).await);
        assert!(page.contains(expected) && !page.contains(absent), "{q}: {page}");
        let api = admin.get(&format!("/api/v1/quotes?q={q}")).await.json();
        assert_eq!(api.as_array().map(Vec::len), Some(1), "{q}: {api}");
    }
    // Wildcards typed as a search are text, not "everything".
    for q in ["%25", "_", "%25%25"] {
        let api = admin.get(&format!("/api/v1/quotes?q={q}")).await.json();
        assert_eq!(api.as_array().map(Vec::len), Some(0), "{q}: {api}");
    }
}

backend_tests!(work_from_an_accepted_quote_ticks_the_maintenance_its_lines_imply);

async fn work_from_an_accepted_quote_ticks_the_maintenance_its_lines_imply(app: TestApp) {
    let admin = app.as_admin();
    let vehicle = app.vehicle(app.garage("Garage Frein").await, "FR-100-AA").await;
    let reading = admin.post(&format!("/api/v1/vehicles/{vehicle}/mileage"), &json!({ "mileage_km": 90_000 })).await;
    assert_eq!(reading.status, StatusCode::CREATED, "{}", reading.text());
    let owner = crate::fixtures::workshop::client(&app, json!({ "name": "Hugo Frein" })).await;
    admin.post(&format!("/api/v1/clients/{owner}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": owner, "vehicle_id": vehicle,
                "lines": [
                    { "kind": "part", "description": "Plaquettes de frein avant", "unit_price": "48.90" },
                    { "kind": "part", "description": "Essuie-glaces", "unit_price": "25" }
                ]
            }),
        )
        .await
        .json();
    let id = quote["id"].as_i64().expect("id");
    admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.assert_success();
    admin.post(&format!("/api/v1/quotes/{id}/decision"), &json!({ "decision": "accept" })).await.assert_success();

    // The brake pads tick the brake check; nothing else is ticked.
    let page = html(&admin.get(&format!("/quotes/{id}")).await);
    assert!(page.contains("name=\"service\" value=\"brakes\" checked"), "{page}");
    assert!(page.contains("name=\"service\" value=\"oil_service\">"), "the oil service is not ticked: {page}");
    let done = admin
        .post_form(
            &format!("/quotes/{id}/intervention"),
            &[("mileage_km", "90 200"), ("technician", "Karim"), ("service", "brakes")],
        )
        .await;
    assert!(html(&follow(&app, &done).await).contains("Contrôle des freins"), "in the vehicle's history");
    // The brake alert is resolved by the work; the others stay open.
    let open = admin.get(&format!("/api/v1/alerts?vehicle_id={vehicle}")).await.json();
    let kinds: Vec<&str> = open.as_array().expect("alerts").iter().map(|a| a["kind"].as_str().expect("kind")).collect();
    assert!(!kinds.contains(&"brakes") && kinds.contains(&"oil_service"), "{kinds:?}");
}

backend_tests!(the_line_editor_totals_rows_as_they_are_typed_and_saves_nothing);

/// One editor row as the browser sends it.
fn editor_row<'a>(
    kind: &'a str,
    description: &'a str,
    quantity: &'a str,
    price: &'a str,
    vat: &'a str,
) -> [(&'a str, &'a str); 7] {
    [
        ("kind", kind),
        ("description", description),
        ("quantity", quantity),
        ("unit", ""),
        ("unit_price", price),
        ("vat_rate", vat),
        ("discount", ""),
    ]
}

async fn the_line_editor_totals_rows_as_they_are_typed_and_saves_nothing(app: TestApp) {
    // A mechanic fills in an intervention's lines: the same editor, the same totals.
    let mechanic = app.as_role(volant::identity::roles::Role::Staff).await;
    let rows = [
        editor_row("part", "Plaquettes avant", "1", "48,90", "20"),
        editor_row("labour", "Pose", "0,5", "70", "20"),
        editor_row("part", "", "1", "", "20"),
        editor_row("part", "Ampoules", "3", "10,01", "5,5"),
        editor_row("part", "Liquide", "1", "soixante", "20"),
    ];
    let fields: Vec<(&str, &str)> = rows.iter().flatten().copied().collect();
    let preview = mechanic.post_form("/workshop/lines/preview", &fields).await;
    assert_eq!(preview.status, StatusCode::OK);
    let fragment = html(&preview);
    // Row for row: the blank row and the one whose price is not a number count for nothing.
    assert!(
        fragment.contains("<li>48,90\u{a0}€</li><li>35,00\u{a0}€</li><li></li><li>30,03\u{a0}€</li><li></li>"),
        "{fragment}"
    );
    // 113.93 excl.; VAT 20 % of 83.90 = 16.78, VAT 5.5 % of 30.03 = 1.65; 132.36 incl.
    assert!(
        fragment.contains("113,93\u{a0}€")
            && fragment.contains("16,78\u{a0}€")
            && fragment.contains("1,65\u{a0}€")
            && fragment.contains("132,36\u{a0}€"),
        "{fragment}"
    );
    assert!(!fragment.contains("<html"), "a fragment, not a page");
    let quotes = app.as_admin().get("/api/v1/quotes").await.json();
    assert_eq!(quotes.as_array().map(Vec::len), Some(0), "nothing saved");

    // The editor opens with the totals of what it holds: a saved quote's, to the cent.
    let client = crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin" })).await;
    let line = json!([
        { "kind": "part", "description": "Filtre", "quantity": "3", "unit_price": "3.333", "discount": "10" },
        { "kind": "labour", "description": "Main-d'œuvre", "quantity": "1.25", "unit_price": "64" }
    ]);
    let saved = app.as_admin().post("/api/v1/quotes", &json!({ "client_id": client, "lines": line })).await.json();
    let id = saved["id"].as_i64().expect("quote");
    let editor = html(&app.as_admin().get(&format!("/quotes/{id}/edit")).await);
    // 9.00 + 80.00 = 89.00; VAT 17.80; 106.80, as the service saved it.
    assert_eq!(saved["totals"]["incl_tax"].as_str().and_then(|t| t.parse::<f64>().ok()), Some(106.8));
    assert!(editor.contains("data-testid=\"running-incl\">106,80\u{a0}€"), "{editor}");
    assert!(editor.contains("data-line-total>9,00\u{a0}€</td>"), "3 × 3.333 − 10 % = 9.00: {editor}");
    // Without a session, nothing is computed for anyone.
    let anonymous = app.anonymous().post_form("/workshop/lines/preview", &fields).await;
    assert_ne!(anonymous.status, StatusCode::OK);
}
