//! Invoices: drafts from an accepted quote, completed work or typed by hand; one
//! unbroken numbering under concurrency; issued invoices frozen by the database;
//! credit notes; payments, refunds and the balance due; the PDF read back by
//! pdftotext and its Factur-X XML by an independent validator.

use axum::http::{Method, StatusCode};
use chrono::Datelike;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::fixtures::{facturx_check, follow, html, pdf_text};
use crate::helpers::{TestApp, json_request, send};

fn lines() -> Value {
    json!([
        { "kind": "part", "description": "Plaquettes de frein avant", "quantity": 1, "unit_price": "48.90", "vat_rate": 20 },
        { "kind": "labour", "description": "Remplacement plaquettes\nessai routier ✓ 🚗", "quantity": "1,2", "unit": "h", "unit_price": 62, "discount": "10" }
    ])
}

async fn company(app: &TestApp) -> i64 {
    client(
        app,
        json!({
            "kind": "company", "name": "Paul Durand", "company_name": "Transports Durand & Fils",
            "tax_id": "FR40303265045", "email": "compta@durand.example",
            "address": "12 avenue de la Gare\n69003 Lyon"
        }),
    )
    .await
}

async fn draft(app: &TestApp, client: i64) -> Value {
    // The seller's identity is required to issue.
    profile(app).await;
    let response = app.as_admin().post("/api/v1/invoices", &json!({ "client_id": client, "lines": lines() })).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn issue(app: &TestApp, id: &Value) -> Value {
    let response = app.as_admin().post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

async fn profile(app: &TestApp) {
    let response = app
        .as_admin()
        .patch(
            "/api/v1/organization",
            &json!({
                "name": "Garage du Centre", "address": "3 rue Victor Hugo\n75011 Paris",
                "registration_number": "732 829 320 00074", "vat_number": "FR44732829320"
            }),
        )
        .await;
    assert!(response.status.is_success(), "{}", response.text());
}

fn year() -> i32 {
    chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).year()
}

backend_tests!(
    a_draft_has_no_number_and_issuing_takes_the_first_one_and_freezes_it,
    twenty_concurrent_issues_take_twenty_consecutive_numbers,
    the_database_refuses_to_change_or_delete_an_issued_invoice,
    an_accepted_quote_and_completed_work_are_invoiced_once,
    payments_refunds_and_credit_notes_keep_the_balance_exact,
    the_pdf_carries_every_mention_and_valid_factur_x_data,
    vat_exempt_organizations_say_why_and_charge_no_vat,
    staff_record_payments_but_do_not_issue,
    issuing_needs_the_sellers_identity,
    the_accountant_gets_a_balanced_fec_and_the_journals,
    a_garage_invoices_an_accepted_quote_and_is_paid_at_the_counter,
    an_issued_invoice_is_emailed_with_its_factur_x_pdf,
    unpaid_invoices_are_reminded_once_per_step_until_paid,
    a_customer_is_reminded_by_hand_once_a_day,
    a_manager_types_an_invoice_by_hand_and_changes_its_draft,
    the_customer_reads_the_invoice_by_the_link_every_email_carries,
    each_garage_has_its_cash_report_and_exports
);

async fn a_draft_has_no_number_and_issuing_takes_the_first_one_and_freezes_it(app: TestApp) {
    profile(&app).await;
    let admin = app.as_admin();
    let client = company(&app).await;
    let created = draft(&app, client).await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["number"], Value::Null);
    assert_eq!(created["seller"], Value::Null);
    // 48.90 + 1.2 × 62 − 10 % (66.96) = 115.86; VAT 23.17; 139.03.
    assert_eq!(created["totals"]["excl_tax"], "115.86");
    assert_eq!(created["totals"]["vat_total"], "23.17");
    assert_eq!(created["totals"]["incl_tax"], "139.03");
    assert_eq!(created["balance_due"], "0.00", "nothing is due on a draft");
    assert_eq!(created["payment_state"], "not_due");
    let id = &created["id"];
    // A draft changes; an empty one does not issue.
    let emptied = admin.put(&format!("/api/v1/invoices/{id}"), &json!({ "client_id": client, "lines": [] })).await;
    assert_eq!(emptied.status, StatusCode::OK, "{}", emptied.text());
    admin
        .post(&format!("/api/v1/invoices/{id}/issue"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "invoice_empty");
    admin
        .put(&format!("/api/v1/invoices/{id}"), &json!({ "client_id": client, "lines": lines() }))
        .await
        .assert_success();
    let issued = issue(&app, id).await;
    assert_eq!(issued["number"], format!("FAC-{}-00001", year()));
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["seller"]["name"], "Garage du Centre");
    assert_eq!(issued["seller"]["registration_number"], "732 829 320 00074");
    assert_eq!(issued["buyer"]["name"], "Transports Durand & Fils");
    assert_eq!(issued["buyer"]["is_business"], true);
    assert_eq!(issued["balance_due"], "139.03");
    assert_eq!(issued["payment_state"], "unpaid");
    let issue_date = issued["issue_date"].as_str().expect("issue date");
    let due = chrono::NaiveDate::parse_from_str(issued["due_date"].as_str().expect("due"), "%Y-%m-%d").expect("date");
    let issued_on = chrono::NaiveDate::parse_from_str(issue_date, "%Y-%m-%d").expect("date");
    assert_eq!((due - issued_on).num_days(), 30, "the default payment terms");
    let mentions = issued["mentions"].as_str().expect("mentions");
    assert!(mentions.contains("pénalités au taux annuel de 10 %"), "{mentions}");
    assert!(mentions.contains("40 €"), "a business buyer owes the fixed indemnity: {mentions}");
    // Frozen: no second issue, no change, no deletion — 409 each, nothing changed.
    admin
        .post(&format!("/api/v1/invoices/{id}/issue"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "invoice_issued");
    admin
        .put(&format!("/api/v1/invoices/{id}"), &json!({ "client_id": client, "lines": [] }))
        .await
        .problem(StatusCode::CONFLICT, "invoice_issued");
    admin.delete(&format!("/api/v1/invoices/{id}")).await.problem(StatusCode::CONFLICT, "invoice_issued");
    // The client's file changes later: the issued invoice keeps the buyer it was issued to.
    let renamed = admin
        .put(
            &format!("/api/v1/clients/{client}"),
            &json!({ "kind": "company", "name": "Paul Durand", "company_name": "Durand SA" }),
        )
        .await;
    assert!(renamed.status.is_success(), "{}", renamed.text());
    let again = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(again["buyer"]["name"], "Transports Durand & Fils");
    // A draft is deleted; its number was never taken.
    let other = draft(&app, client).await;
    admin.delete(&format!("/api/v1/invoices/{}", other["id"])).await.assert_status(StatusCode::NO_CONTENT);
    let next = draft(&app, client).await;
    assert_eq!(issue(&app, &next["id"]).await["number"], format!("FAC-{}-00002", year()));
    let listed = admin.get("/api/v1/invoices?status=issued").await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert_eq!(listed[1]["balance_due"], "139.03");
}

async fn twenty_concurrent_issues_take_twenty_consecutive_numbers(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "Jeanne Martin" })).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(draft(&app, client).await["id"].as_i64().expect("id"));
    }
    let mut tasks = Vec::new();
    for id in &ids {
        // Each draft issued twice at once: exactly one issue wins per draft.
        for _ in 0..2 {
            let request =
                admin.authorize(json_request(Method::POST, &format!("/api/v1/invoices/{id}/issue"), &json!({}))).await;
            tasks.push(tokio::spawn(send(app.router.clone(), request)));
        }
    }
    let mut numbers = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let response = task.await.expect("task");
        match response.status {
            StatusCode::OK => numbers.push(response.json()["number"].as_str().expect("number").to_owned()),
            StatusCode::CONFLICT => refused += 1,
            other => panic!("{other}: {}", response.text()),
        }
    }
    assert_eq!(refused, 20);
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("FAC-{}-{n:05}", year())).collect();
    assert_eq!(numbers, expected, "no gap, no duplicate");
    // Numbers follow the issue order: chronological by construction.
    let listed = admin.get("/api/v1/invoices?limit=200").await.json();
    let mut by_issue: Vec<(String, String)> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|i| {
            (
                i["issue_date"].as_str().unwrap_or_default().to_owned(),
                i["number"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    by_issue.sort();
    assert!(by_issue.windows(2).all(|w| w[0].0 <= w[1].0));
}

async fn the_database_refuses_to_change_or_delete_an_issued_invoice(app: TestApp) {
    let client = client(&app, json!({ "name": "Jeanne Martin" })).await;
    let issued = issue(&app, &draft(&app, client).await["id"]).await;
    let id = issued["id"].as_i64().expect("id");
    let paid = app
        .as_admin()
        .post(&format!("/api/v1/invoices/{id}/payments"), &json!({ "method": "cash", "amount": "10" }))
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text());
    // Whatever writes to the tables, not only Volant's services.
    for sql in [
        format!("UPDATE invoices SET total_incl_minor = 1 WHERE id = {id}"),
        format!("UPDATE invoices SET buyer_name = 'X' WHERE id = {id}"),
        format!("UPDATE invoices SET status = 'draft' WHERE id = {id}"),
        format!("DELETE FROM invoices WHERE id = {id}"),
        format!("UPDATE invoice_lines SET unit_price_e4 = 1 WHERE invoice_id = {id}"),
        format!("DELETE FROM invoice_lines WHERE invoice_id = {id}"),
        format!(
            "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity_milli, unit_price_e4, \
             vat_rate_bp, discount_bp, total_excl_minor) VALUES ({id}, 9, 'other', 'x', 1000, 10000, 0, 0, 100)"
        ),
        format!("UPDATE payments SET amount_minor = 1 WHERE invoice_id = {id}"),
        format!("DELETE FROM payments WHERE invoice_id = {id}"),
    ] {
        let refused = app.db.execute_unprepared(&sql).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    let after = app.as_admin().get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(after["totals"], issued["totals"]);
    assert_eq!(after["lines"], issued["lines"]);
    assert_eq!(after["paid"], "10.00");
    // What may change on an issued invoice: when it was sent.
    app.db
        .execute_unprepared(&format!("UPDATE invoices SET sent_at = created_at WHERE id = {id}"))
        .await
        .expect("sending is recorded");
}

async fn an_accepted_quote_and_completed_work_are_invoiced_once(app: TestApp) {
    let admin = app.as_admin();
    profile(&app).await;
    let client = client(&app, json!({ "name": "Jeanne Martin", "address": "4 rue des Lilas\n33000 Bordeaux" })).await;
    let garage = app.garage("Centre").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({ "client_id": client, "vehicle_id": vehicle, "line_decisions": true, "lines": [
                { "description": "Pneus", "quantity": 2, "unit_price": "89" },
                { "description": "Parallélisme", "unit_price": "59" }
            ]}),
        )
        .await
        .json();
    let quote_id = &quote["id"];
    let path = format!("/api/v1/quotes/{quote_id}/invoice");
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "quote_not_accepted");
    admin.post(&format!("/api/v1/quotes/{quote_id}/send"), &json!({})).await.assert_success();
    let first_line = &quote["lines"][0]["id"];
    admin
        .post(
            &format!("/api/v1/quotes/{quote_id}/decision"),
            &json!({ "decision": "accept", "accepted_line_ids": [first_line] }),
        )
        .await
        .assert_success();
    // A double click: both requests at once make one invoice.
    let requests = [
        admin.authorize(json_request(Method::POST, &path, &json!({}))).await,
        admin.authorize(json_request(Method::POST, &path, &json!({}))).await,
    ];
    let [a, b] = requests.map(|r| tokio::spawn(send(app.router.clone(), r)));
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "{} / {}", a.text(), b.text());
    let invoice = if a.status == StatusCode::CREATED { a.json() } else { b.json() };
    assert_eq!(invoice["source_kind"], "quote");
    assert_eq!(invoice["lines"].as_array().map(Vec::len), Some(1), "only the accepted line");
    assert_eq!(invoice["totals"]["incl_tax"], "213.60");
    assert!(invoice["vehicle_label"].as_str().is_some_and(|l| l.starts_with("AB-123-CD")), "{invoice}");
    // Completed work of the vehicle's owner.
    admin.post(&format!("/api/v1/clients/{client}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    // The quote carried out as work: that work is the quote's job, already invoiced.
    let carried =
        admin.post(&format!("/api/v1/quotes/{quote_id}/intervention"), &json!({ "mileage_km": 61_000 })).await;
    assert_eq!(carried.status, StatusCode::CREATED, "{}", carried.text());
    admin
        .post(&format!("/api/v1/interventions/{}/invoice", carried.json()["id"]), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "already_invoiced");
    let work = admin
        .post(
            "/api/v1/interventions",
            &json!({ "vehicle_id": vehicle, "description": "Vidange", "in_progress": true,
                "lines": [{ "kind": "part", "description": "Huile 5W30", "quantity": "4.5", "unit": "l", "unit_price": "12.90" }] }),
        )
        .await
        .json();
    let work_path = format!("/api/v1/interventions/{}/invoice", work["id"]);
    admin.post(&work_path, &json!({})).await.problem(StatusCode::CONFLICT, "work_in_progress");
    admin.post(&format!("/api/v1/interventions/{}/complete", work["id"]), &json!({})).await.assert_success();
    let from_work = admin.post(&work_path, &json!({})).await;
    assert_eq!(from_work.status, StatusCode::CREATED, "{}", from_work.text());
    let from_work = from_work.json();
    assert_eq!(from_work["buyer"]["name"], "Jeanne Martin");
    assert_eq!(from_work["totals"]["excl_tax"], "58.05");
    assert_eq!(from_work["service_date"], work["performed_on"]);
    admin.post(&work_path, &json!({})).await.problem(StatusCode::CONFLICT, "already_invoiced");
    // Another organization's quote is not found.
    let other = app.other_org().await;
    other.post(&path, &json!({})).await.assert_status(StatusCode::NOT_FOUND);
}

async fn payments_refunds_and_credit_notes_keep_the_balance_exact(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "Awa Diop" })).await;
    let invoice = issue(&app, &draft(&app, client).await["id"]).await;
    let id = &invoice["id"];
    let pay = |body: Value| {
        let admin = app.as_admin();
        async move { admin.post(&format!("/api/v1/invoices/{id}/payments"), &body).await }
    };
    // Partial payment by mobile money: the provider and reference are kept.
    let refused = pay(json!({ "method": "mobile_money", "amount": "50" })).await;
    assert_eq!(refused.error_fields(), ["provider"]);
    let part =
        pay(json!({ "method": "mobile_money", "provider": "Wave", "reference": "TX-778", "amount": "50,00" })).await;
    assert_eq!(part.status, StatusCode::CREATED, "{}", part.text());
    let part = part.json();
    assert_eq!(part["paid"], "50.00");
    assert_eq!(part["balance_due"], "89.03");
    assert_eq!(part["payment_state"], "partly_paid");
    assert_eq!(part["payments"][0]["provider"], "Wave");
    // The same transaction twice (a replayed callback) is refused.
    pay(json!({ "method": "mobile_money", "provider": "Wave", "reference": "TX-778", "amount": "50" }))
        .await
        .problem(StatusCode::CONFLICT, "payment_reference_taken");
    for (body, field) in [
        (json!({ "method": "cash", "amount": "0" }), "amount"),
        (json!({ "method": "cash", "amount": "1.001" }), "amount"),
        (json!({ "method": "cash", "amount": "-5" }), "amount"),
        (json!({ "method": "cash", "amount": "10", "received_on": "2999-01-01" }), "received_on"),
        (json!({ "method": "cash", "kind": "refund", "amount": "50.01" }), "amount"),
    ] {
        assert_eq!(pay(body.clone()).await.error_fields(), [field], "{body}");
    }
    // Paid in full, then more: the customer holds a credit.
    let rest = pay(json!({ "method": "card", "amount": "100" })).await.json();
    assert_eq!(rest["balance_due"], "-10.97");
    assert_eq!(rest["payment_state"], "overpaid");
    let refunded = pay(json!({ "method": "cash", "kind": "refund", "amount": "10.97" })).await.json();
    assert_eq!(refunded["balance_due"], "0.00");
    assert_eq!(refunded["payment_state"], "paid");
    // Listed with the same balance as read alone (one computation).
    let listed = admin.get(&format!("/api/v1/invoices?client_id={client}")).await.json();
    assert_eq!(listed[0]["balance_due"], "0.00");
    assert!(admin.get("/api/v1/invoices?due=unpaid").await.json().as_array().is_some_and(Vec::is_empty));
    // A credit note cancels the invoice: numbered in its own sequence, what was paid is now owed back.
    let credit = admin.post(&format!("/api/v1/invoices/{id}/credit"), &json!({ "reason": "Erreur de client" })).await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.text());
    let credit = credit.json();
    assert_eq!(credit["kind"], "credit_note");
    assert_eq!(credit["number"], format!("AV-{}-00001", year()));
    assert_eq!(credit["credited_invoice_id"], *id);
    assert_eq!(credit["totals"]["incl_tax"], "139.03");
    assert!(credit["mentions"].as_str().is_some_and(|m| m.contains(invoice["number"].as_str().expect("n"))));
    let after = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(after["credited"], "139.03");
    assert_eq!(after["balance_due"], "-139.03");
    assert_eq!(after["credit_note_ids"], json!([credit["id"]]));
    admin
        .post(&format!("/api/v1/invoices/{id}/credit"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "already_credited");
    admin
        .post(&format!("/api/v1/invoices/{}/payments", credit["id"]), &json!({ "method": "cash", "amount": "1" }))
        .await
        .problem(StatusCode::CONFLICT, "invoice_not_payable");
    let back = pay(json!({ "method": "transfer", "kind": "refund", "amount": "139.03" })).await.json();
    assert_eq!(back["balance_due"], "0.00");
    // The day's cash report sums by method.
    let report = admin.get("/api/v1/payments/daily").await.json();
    let methods: Vec<(&str, &str)> = report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|m| (m["method"].as_str().unwrap_or_default(), m["net"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(methods, [("cash", "-10.97"), ("card", "100.00"), ("transfer", "-139.03"), ("mobile_money", "50.00")]);
    assert_eq!(report["net"], "0.00");
}

async fn the_pdf_carries_every_mention_and_valid_factur_x_data(app: TestApp) {
    profile(&app).await;
    let admin = app.as_admin();
    let client = company(&app).await;
    let created = draft(&app, client).await;
    let id = &created["id"];
    let draft_pdf = admin.get(&format!("/api/v1/invoices/{id}/pdf")).await;
    assert_eq!(draft_pdf.header("content-type"), Some("application/pdf"));
    if let Some(text) = pdf_text(&draft_pdf.body) {
        assert!(text.contains("BROUILLON DE FACTURE"), "{text}");
    }
    let issued = issue(&app, id).await;
    let number = issued["number"].as_str().expect("number");
    let response = admin.get(&format!("/api/v1/invoices/{id}/pdf")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-disposition").is_some_and(|d| d.contains(&format!("{number}.pdf"))));
    let bytes = response.body.clone();
    if let Some(text) = pdf_text(&bytes) {
        for expected in [
            "FACTURE",
            number,
            "Garage du Centre",
            "SIRET : 732 829 320 00074",
            "N° TVA : FR44732829320",
            "Transports Durand & Fils",
            "FR40303265045",
            "Plaquettes de frein avant",
            "Remplacement plaquettes",
            "115,86",
            "23,17",
            "139,03",
            "Échéance",
            "40 €",
            "pénalités au taux annuel de 10 %",
            "Pas d'escompte",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
    }
    if let Some(read) = facturx_check(&bytes) {
        let mut lines = read.lines();
        assert_eq!(lines.next(), Some("factur-x.xml"));
        assert_eq!(lines.next(), Some("en16931"));
        for expected in [
            &format!("<ram:ID>{number}</ram:ID>"),
            "<ram:TypeCode>380</ram:TypeCode>",
            "<ram:ID schemeID=\"0002\">732829320</ram:ID>",
            "<ram:ID schemeID=\"VA\">FR44732829320</ram:ID>",
            "<ram:Name>Transports Durand &amp; Fils</ram:Name>",
            "<ram:PostcodeCode>69003</ram:PostcodeCode>",
            "<ram:GrandTotalAmount>139.03</ram:GrandTotalAmount>",
            "<ram:TaxTotalAmount currencyID=\"EUR\">23.17</ram:TaxTotalAmount>",
        ] {
            assert!(read.contains(expected), "{expected:?} missing from:\n{read}");
        }
    }
    // The credit note is a valid Factur-X document too, naming the invoice it corrects.
    let credit = admin.post(&format!("/api/v1/invoices/{id}/credit"), &json!({})).await.json();
    let cancelled = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(cancelled["payment_state"], "credited");
    assert_eq!(cancelled["balance_due"], "0.00");
    let credit_pdf = admin.get(&format!("/api/v1/invoices/{}/pdf", credit["id"])).await.body.clone();
    if let Some(text) = pdf_text(&credit_pdf) {
        assert!(text.contains("AVOIR") && text.contains(&format!("Corrige la facture {number}")), "{text}");
    }
    if let Some(read) = facturx_check(&credit_pdf) {
        assert!(read.contains("<ram:TypeCode>381</ram:TypeCode>"), "{read}");
        assert!(read.contains(&format!("<ram:IssuerAssignedID>{number}</ram:IssuerAssignedID>")), "{read}");
    }
}

async fn vat_exempt_organizations_say_why_and_charge_no_vat(app: TestApp) {
    let admin = app.as_admin();
    let settings = admin
        .put(
            "/api/v1/billing/settings",
            &json!({ "vat_exempt": true, "payment_terms_days": 0, "invoice_number_format": "F{year}-{seq:3}" }),
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text());
    let client = client(&app, json!({ "name": "Jeanne Martin" })).await;
    let issued = issue(&app, &draft(&app, client).await["id"]).await;
    assert_eq!(issued["number"], format!("F{}-001", year()));
    assert_eq!(issued["totals"]["vat_total"], "0.00");
    assert_eq!(issued["totals"]["incl_tax"], "115.86");
    assert_eq!(issued["due_date"], issued["issue_date"]);
    let mentions = issued["mentions"].as_str().expect("mentions");
    assert!(mentions.contains("TVA non applicable, art. 293 B du CGI"), "{mentions}");
    assert!(!mentions.contains("40 €"), "a private buyer owes no recovery indemnity: {mentions}");
    let bytes = admin.get(&format!("/api/v1/invoices/{}/pdf", issued["id"])).await.body.clone();
    if let Some(read) = facturx_check(&bytes) {
        assert!(read.contains("<ram:CategoryCode>E</ram:CategoryCode>"), "{read}");
        assert!(read.contains("VATEX-FR-FRANCHISE"), "{read}");
    }
    for (body, field) in [
        (json!({ "invoice_number_format": "FAC" }), "invoice_number_format"),
        // Without the year, January would reuse last year's numbers.
        (json!({ "invoice_number_format": "F-{seq:5}" }), "invoice_number_format"),
        (
            json!({ "invoice_number_format": "X-{year}-{seq}", "credit_note_number_format": "X-{year}-{seq}" }),
            "credit_note_number_format",
        ),
        (json!({ "payment_terms_days": 400 }), "payment_terms_days"),
        (json!({ "late_penalty_rate": "-1" }), "late_penalty_rate"),
    ] {
        assert_eq!(admin.put("/api/v1/billing/settings", &body).await.error_fields(), [field], "{body}");
    }
}

async fn staff_record_payments_but_do_not_issue(app: TestApp) {
    let client = client(&app, json!({ "name": "Jeanne Martin" })).await;
    let created = draft(&app, client).await;
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    let id = &created["id"];
    staff.post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.assert_status(StatusCode::FORBIDDEN);
    staff.post("/api/v1/invoices", &json!({ "client_id": client })).await.assert_status(StatusCode::FORBIDDEN);
    issue(&app, id).await;
    let paid = staff
        .post(
            &format!("/api/v1/invoices/{id}/payments"),
            &json!({ "method": "cheque", "reference": "0012345", "amount": "139.03" }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text());
    assert_eq!(paid.json()["payment_state"], "paid");
    staff.get(&format!("/api/v1/invoices/{id}")).await.assert_success();
    // Every change is in the audit trail.
    let trail = app.as_admin().get(&format!("/api/v1/audit?entity_type=invoice&entity_id={id}")).await.json();
    assert!(trail.as_array().is_some_and(|t| t.len() >= 3), "{trail}");
}

async fn a_garage_invoices_an_accepted_quote_and_is_paid_at_the_counter(app: TestApp) {
    let admin = app.as_admin();
    profile(&app).await;
    let client = company(&app).await;
    let quote = admin.post("/api/v1/quotes", &json!({ "client_id": client, "lines": lines() })).await.json();
    let quote_id = &quote["id"];
    admin.post(&format!("/api/v1/quotes/{quote_id}/send"), &json!({})).await.assert_success();
    admin.post(&format!("/api/v1/quotes/{quote_id}/decision"), &json!({ "decision": "accept" })).await.assert_success();
    // The accepted quote offers to invoice it; one click makes the draft.
    let page = html(&admin.get(&format!("/quotes/{quote_id}/deposits")).await);
    assert!(page.contains(&format!("action=\"/quotes/{quote_id}/invoice\"")), "{page}");
    let drafted = admin.post_form(&format!("/quotes/{quote_id}/invoice"), &[]).await;
    let draft = html(&follow(&app, &drafted).await);
    assert!(draft.contains("Brouillon de facture créé"), "{draft}");
    assert!(draft.contains("Émettre la facture") && draft.contains("139,03"), "{draft}");
    let id = drafted.header("location").expect("location").trim_start_matches("/invoices/").to_owned();
    // A second click finds the same invoice.
    let again = admin.post_form(&format!("/quotes/{quote_id}/invoice"), &[]).await;
    assert_eq!(again.header("location"), Some(format!("/invoices/{id}").as_str()));
    let issued = html(&follow(&app, &admin.post_form(&format!("/invoices/{id}/issue"), &[]).await).await);
    let number = format!("FAC-{}-00001", year());
    assert!(issued.contains(&format!("Facture {number} émise.")), "{issued}");
    assert!(issued.contains("Non payée") && issued.contains("Enregistrer un paiement"), "{issued}");
    // Paid at the counter in two goes, the second by mobile money; a bad amount is said.
    let refused = admin.post_form(&format!("/invoices/{id}/payments"), &[("method", "cash"), ("amount", "abc")]).await;
    let refused = html(&follow(&app, &refused).await);
    assert!(refused.contains("Le montant doit être positif"), "{refused}");
    let part = admin.post_form(&format!("/invoices/{id}/payments"), &[("method", "cash"), ("amount", "39,03")]).await;
    let part = html(&follow(&app, &part).await);
    assert!(part.contains("Reste à payer : 100,00"), "{part}");
    assert!(part.contains("Payée en partie"), "{part}");
    let rest = admin
        .post_form(
            &format!("/invoices/{id}/payments"),
            &[("method", "mobile_money"), ("provider", "Orange Money"), ("reference", "OM-1"), ("amount", "100")],
        )
        .await;
    let rest = html(&follow(&app, &rest).await);
    assert!(rest.contains("Payée") && rest.contains("Mobile money · Orange Money"), "{rest}");
    // The list and the day's cash report agree.
    let list = html(&admin.get("/invoices").await);
    assert!(
        list.contains(&number) && list.contains("Transports Durand &amp; Fils")
            || list.contains("Transports Durand & Fils"),
        "{list}"
    );
    assert!(html(&admin.get("/invoices?view=unpaid").await).contains("Aucune facture"));
    let cash = html(&admin.get("/payments/daily").await);
    assert!(cash.contains("Espèces") && cash.contains("39,03") && cash.contains("139,03"), "{cash}");
    // Corrected by a credit note from its page.
    let credited = admin.post_form(&format!("/invoices/{id}/credit"), &[("reason", "Erreur de TVA\nà refaire")]).await;
    let note = html(&follow(&app, &credited).await);
    assert!(note.contains(&format!("Avoir AV-{}-00001 émis.", year())), "{note}");
    assert!(note.contains("Erreur de TVA"), "{note}");
    // Settings from their page; a wrong format is said beside its field.
    let bad = admin
        .post_form(
            "/billing/settings",
            &[
                ("invoice_number_format", "FAC"),
                ("credit_note_number_format", "AV-{year}-{seq}"),
                ("payment_terms_days", "30"),
                ("late_penalty_rate", "10"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&bad).contains("Le format doit contenir"));
    let saved = admin
        .post_form(
            "/billing/settings",
            &[
                ("invoice_number_format", "F-{year}-{seq:6}"),
                ("credit_note_number_format", "A-{year}-{seq}"),
                ("payment_terms_days", "15"),
                ("late_penalty_rate", "12,5"),
                ("vat_exempt", "on"),
                ("accounts.sales", "706100"),
                ("accounts.vat", "445710"),
                ("accounts.customers", "411000"),
                ("accounts.bank", "512000"),
                ("accounts.cash", "530000"),
            ],
        )
        .await;
    assert!(html(&follow(&app, &saved).await).contains("Réglages de facturation enregistrés"));
    let settings = admin.get("/api/v1/billing/settings").await.json();
    assert_eq!(settings["late_penalty_rate"], "12.5");
    assert_eq!(settings["vat_exempt"], true);
    assert_eq!(settings["accounts"]["sales"], "706100");
}

async fn an_issued_invoice_is_emailed_with_its_factur_x_pdf(app: TestApp) {
    let admin = app.as_admin();
    let without = client(&app, json!({ "name": "Sans mail" })).await;
    let lone = issue(&app, &draft(&app, without).await["id"]).await;
    admin
        .post(&format!("/api/v1/invoices/{}/email", lone["id"]), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "buyer_without_email");
    let client = company(&app).await;
    let created = draft(&app, client).await;
    let id = &created["id"];
    admin
        .post(&format!("/api/v1/invoices/{id}/email"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "invoice_not_issued");
    let issued = issue(&app, id).await;
    let response = admin.post(&format!("/api/v1/invoices/{id}/email"), &json!({})).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text());
    assert!(response.json()["invoice"]["sent_at"].is_string());
    let email_id = response.json()["email_id"].as_i64().expect("email id");
    let queued = volant::notify::outbox::get(&app.db, app.org, email_id).await.expect("read").expect("queued");
    assert_eq!(queued.to_address, "compta@durand.example");
    let number = issued["number"].as_str().expect("number");
    assert!(queued.subject.contains(number), "{}", queued.subject);
    assert!(queued.body_text.contains("139,03\u{a0}€") && queued.body_text.contains("\n\n"), "{}", queued.body_text);
    let pdf = queued.attachment.expect("attachment");
    if let Some(read) = facturx_check(&pdf) {
        assert!(read.contains(&format!("<ram:ID>{number}</ram:ID>")), "{read}");
    }
    // From its page, without a mail server: the page says the e-mail will not leave.
    let sent = admin.post_form(&format!("/invoices/{id}/email"), &[]).await;
    let page = html(&follow(&app, &sent).await);
    assert!(page.contains("aucun serveur d'envoi n'est configuré") || page.contains("envoyée par e-mail"), "{page}");
}

async fn unpaid_invoices_are_reminded_once_per_step_until_paid(app: TestApp) {
    use volant::billing::invoices::reminders::remind_unpaid;
    let admin = app.as_admin();
    let settings = admin
        .put("/api/v1/billing/settings", &json!({ "payment_terms_days": 0, "reminder_days": [30, 0, 7, 7] }))
        .await;
    assert_eq!(settings.json()["reminder_days"], json!([0, 7, 30]), "{}", settings.text());
    let client = company(&app).await;
    let paid_later = issue(&app, &draft(&app, client).await["id"]).await;
    let settled = issue(&app, &draft(&app, client).await["id"]).await;
    admin
        .post(&format!("/api/v1/invoices/{}/payments", settled["id"]), &json!({ "method": "card", "amount": "139.03" }))
        .await
        .assert_success();
    let now = chrono::Utc::now();
    // Due today: the first step, once, however many workers run it at the same time.
    let (a, b, c) = tokio::join!(
        remind_unpaid(&app.db, now, "http://volant.test"),
        remind_unpaid(&app.db, now, "http://volant.test"),
        remind_unpaid(&app.db, now, "http://volant.test")
    );
    let counts = [a.expect("a"), b.expect("b"), c.expect("c")];
    assert_eq!(counts.iter().sum::<u64>(), 1, "{counts:?}");
    assert_eq!(reminders(&app).await, 1, "the settled invoice is not reminded");
    assert_eq!(remind_unpaid(&app.db, now, "http://volant.test").await.expect("again"), 0);
    // A week later, the second step; then it is paid and the third never comes.
    assert_eq!(remind_unpaid(&app.db, now + chrono::Duration::days(8), "http://volant.test").await.expect("+7"), 1);
    admin
        .post(
            &format!("/api/v1/invoices/{}/payments", paid_later["id"]),
            &json!({ "method": "transfer", "amount": "139.03" }),
        )
        .await
        .assert_success();
    assert_eq!(remind_unpaid(&app.db, now + chrono::Duration::days(40), "http://volant.test").await.expect("+30"), 0);
    assert_eq!(reminders(&app).await, 2);
    let last = crate::helpers::queued_emails(&app, 1).await.remove(0);
    assert_eq!(last.to, "compta@durand.example");
    assert!(last.subject.contains(paid_later["number"].as_str().expect("number")), "{}", last.subject);
    assert_eq!(
        admin.put("/api/v1/billing/settings", &json!({ "reminder_days": [400] })).await.error_fields(),
        ["reminder_days"]
    );
}

async fn a_customer_is_reminded_by_hand_once_a_day(app: TestApp) {
    use volant::billing::invoices::reminders::remind_unpaid;
    let admin = app.as_admin();
    admin
        .put("/api/v1/billing/settings", &json!({ "payment_terms_days": 0, "reminder_days": [0, 7] }))
        .await
        .assert_success();
    let client = company(&app).await;
    let invoice = issue(&app, &draft(&app, client).await["id"]).await;
    let id = &invoice["id"];
    let path = format!("/api/v1/invoices/{id}/remind");
    // Twice at once: one reminder.
    let requests = [
        admin.authorize(json_request(Method::POST, &path, &json!({}))).await,
        admin.authorize(json_request(Method::POST, &path, &json!({}))).await,
    ];
    let [a, b] = requests.map(|r| tokio::spawn(send(app.router.clone(), r)));
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::CONFLICT], "{} / {}", a.text(), b.text());
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "already_reminded_today");
    assert_eq!(reminders(&app).await, 1);
    let sent = crate::helpers::queued_emails(&app, 1).await.remove(0);
    assert_eq!(sent.to, "compta@durand.example");
    assert!(sent.subject.starts_with("Rappel") && sent.subject.contains(invoice["number"].as_str().expect("number")));
    // The day's automatic reminder is not sent again; a week later's is.
    let now = chrono::Utc::now();
    assert_eq!(remind_unpaid(&app.db, now, "http://volant.test").await.expect("today"), 0);
    assert_eq!(remind_unpaid(&app.db, now + chrono::Duration::days(8), "http://volant.test").await.expect("+7"), 1);
    // The invoice's page lists them and offers to remind again.
    let page = html(&admin.get(&format!("/invoices/{id}")).await);
    assert!(page.contains("le jour de l'échéance") && page.contains("Relancer le client"), "{page}");
    // Paid, there is nothing to remind; a draft or a credit note is never reminded.
    admin
        .post(&format!("/api/v1/invoices/{id}/payments"), &json!({ "method": "cash", "amount": "139.03" }))
        .await
        .assert_success();
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "nothing_due");
    let other = draft(&app, client).await;
    admin
        .post(&format!("/api/v1/invoices/{}/remind", other["id"]), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "invoice_not_issued");
    // Staff at the counter may not remind.
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    staff.post(&path, &json!({})).await.assert_status(StatusCode::FORBIDDEN);
}

async fn a_manager_types_an_invoice_by_hand_and_changes_its_draft(app: TestApp) {
    let admin = app.as_admin();
    profile(&app).await;
    let client = company(&app).await;
    // The client first, found by name.
    let chooser = html(&admin.get("/invoices/new?client_q=durand").await);
    assert!(chooser.contains(&format!("href=\"/invoices/new?client_id={client}\"")), "{chooser}");
    let form = html(&admin.get(&format!("/invoices/new?client_id={client}")).await);
    assert!(form.contains("Transports Durand & Fils") && form.contains("name=\"unit_price\""), "{form}");
    // A counter sale typed by hand; a price that is not a number is refused beside its line.
    let line = |price: &'static str| {
        vec![
            ("client_id", client.to_string()),
            ("service_date", String::new()),
            ("notes", "Vente comptoir\nà emporter ✓".to_owned()),
            ("kind", "part".to_owned()),
            ("description", "Balais d'essuie-glace 🚗".to_owned()),
            ("quantity", "2".to_owned()),
            ("unit", String::new()),
            ("unit_price", price.to_owned()),
            ("vat_rate", "20".to_owned()),
            ("discount", "0".to_owned()),
        ]
    };
    let fields = |pairs: &Vec<(&'static str, String)>| pairs.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let refused = fields(&line("douze"));
    let refused: Vec<(&str, &str)> = refused.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = admin.post_form("/invoices", &refused).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&page).contains("Balais d'essuie-glace"), "the form keeps what was typed");
    let typed = fields(&line("12,50"));
    let typed: Vec<(&str, &str)> = typed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let made = admin.post_form("/invoices", &typed).await;
    let id = made.header("location").expect("location").trim_start_matches("/invoices/").to_owned();
    let draft = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["totals"]["incl_tax"], "30.00");
    assert_eq!(draft["notes"], "Vente comptoir\nà emporter ✓");
    // Changed: the form shows the draft's lines; saved, the draft has the new ones.
    let edit = html(&admin.get(&format!("/invoices/{id}/edit")).await);
    assert!(edit.contains("value=\"12,5\"") || edit.contains("value=\"12,50\""), "{edit}");
    let mut changed = typed.clone();
    changed.retain(|(k, _)| *k != "quantity");
    changed.push(("quantity", "3"));
    let saved = admin.post_form(&format!("/invoices/{id}/edit"), &changed).await;
    assert_eq!(saved.header("location"), Some(format!("/invoices/{id}").as_str()));
    let draft = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(draft["totals"]["incl_tax"], "45.00");
    // Issued, it never changes: the form is refused and says why.
    issue(&app, &draft["id"]).await;
    let refused = admin.get(&format!("/invoices/{id}/edit")).await;
    assert_eq!(refused.header("location"), Some(format!("/invoices/{id}").as_str()));
    let posted = admin.post_form(&format!("/invoices/{id}/edit"), &changed).await;
    assert_eq!(posted.header("location"), Some(format!("/invoices/{id}").as_str()));
    assert_eq!(admin.get(&format!("/api/v1/invoices/{id}")).await.json()["totals"]["incl_tax"], "45.00");
    // Staff at the counter record payments but type no invoice.
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    assert_eq!(staff.get("/invoices/new").await.status, StatusCode::FORBIDDEN);
}

async fn the_customer_reads_the_invoice_by_the_link_every_email_carries(app: TestApp) {
    let admin = app.as_admin();
    let client = company(&app).await;
    let created = draft(&app, client).await;
    let id = created["id"].as_i64().expect("id");
    // A draft has no link.
    assert!(!html(&admin.get(&format!("/invoices/{id}")).await).contains("data-testid=\"customer-link\""));
    let invoice = issue(&app, &created["id"]).await;
    let number = invoice["number"].as_str().expect("number");
    let emailed = admin.post(&format!("/api/v1/invoices/{id}/email"), &json!({})).await;
    assert_eq!(emailed.status, StatusCode::ACCEPTED, "{}", emailed.text());
    let email_id = emailed.json()["email_id"].as_i64().expect("email id");
    let queued = volant::notify::outbox::get(&app.db, app.org, email_id).await.expect("read").expect("queued");
    let link = queued
        .body_text
        .lines()
        .find(|l| l.starts_with("http://localhost/f/"))
        .unwrap_or_else(|| panic!("no link in {}", queued.body_text))
        .to_owned();
    let path = link.trim_start_matches("http://localhost");
    // The staff page shows the same link; a reminder carries it too.
    assert!(html(&admin.get(&format!("/invoices/{id}")).await).contains(&link));
    let reminded = admin.post(&format!("/api/v1/invoices/{id}/remind"), &json!({})).await;
    let reminder_id = reminded.json()["email_id"].as_i64().expect("reminder id");
    let reminder = volant::notify::outbox::get(&app.db, app.org, reminder_id).await.expect("read").expect("queued");
    assert!(reminder.body_text.contains(&link), "{}", reminder.body_text);
    // Not yet due, it is not called overdue.
    assert!(
        reminder.body_text.contains("arrive à échéance le") && !reminder.body_text.contains("échue"),
        "{}",
        reminder.body_text
    );
    // Opened by the customer, without an account: the invoice, what is left, its PDF.
    let visitor = app.anonymous();
    let page = html(&visitor.get(path).await);
    for expected in [number, "Garage du Centre", "Plaquettes de frein avant", "139,03", "Reste à payer", "Non payée"]
    {
        assert!(page.contains(expected), "{expected:?} missing from {page}");
    }
    let pdf = visitor.get(&format!("{path}/pdf")).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    // Paid, the page says so.
    admin
        .post(&format!("/api/v1/invoices/{id}/payments"), &json!({ "method": "card", "amount": "139.03" }))
        .await
        .assert_success();
    assert!(html(&visitor.get(path).await).contains("Payée"));
    // A token changed by one character, or another invoice's id with this one's signature, opens nothing.
    let (id_part, signature) = path.trim_start_matches("/f/").split_once('-').expect("token");
    let mut forged = signature.to_owned();
    let last = if forged.ends_with('0') { "1" } else { "0" };
    forged.replace_range(forged.len() - 1.., last);
    visitor.get(&format!("/f/{id_part}-{forged}")).await.assert_status(StatusCode::NOT_FOUND);
    let other = issue(&app, &draft(&app, client).await["id"]).await;
    visitor.get(&format!("/f/{}-{signature}", other["id"])).await.assert_status(StatusCode::NOT_FOUND);
    visitor.get("/f/nonsense").await.assert_status(StatusCode::NOT_FOUND);
}

async fn each_garage_has_its_cash_report_and_exports(app: TestApp) {
    let admin = app.as_admin();
    profile(&app).await;
    let client = company(&app).await;
    let (north, south) = (app.garage("Atelier Nord").await, app.garage("Atelier Sud").await);
    let (car, van) = (app.vehicle(north, "AA-111-AA").await, app.vehicle(south, "BB-222-BB").await);
    // An invoice of each garage's vehicle, and a counter sale of none; each paid.
    let mut paid = Vec::new();
    for (vehicle, price, method) in [(Some(car), "100", "cash"), (Some(van), "50", "card"), (None, "10", "cash")] {
        let body = json!({ "client_id": client, "vehicle_id": vehicle,
            "lines": [{ "description": "Révision", "unit_price": price, "vat_rate": 0 }] });
        let created = admin.post("/api/v1/invoices", &body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let invoice = issue(&app, &created.json()["id"]).await;
        assert_eq!(invoice["garage_id"], json!(vehicle.map(|_| if vehicle == Some(car) { north } else { south })));
        admin
            .post(
                &format!("/api/v1/invoices/{}/payments", invoice["id"]),
                &json!({ "method": method, "amount": price }),
            )
            .await
            .assert_success();
        paid.push(invoice);
    }
    // The vehicle moving to the other garage later leaves the day's cash where it was.
    admin.patch(&format!("/api/v1/vehicles/{car}"), &json!({ "garage_id": south })).await.assert_success();
    let all = admin.get("/api/v1/payments/daily").await.json();
    assert_eq!(all["net"], "160.00");
    let garages: Vec<(Value, &str)> = all["garages"]
        .as_array()
        .expect("garages")
        .iter()
        .map(|g| (g["garage"].clone(), g["net"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(garages, [(json!("Atelier Nord"), "100.00"), (json!("Atelier Sud"), "50.00"), (Value::Null, "10.00")]);
    let north_only = admin.get(&format!("/api/v1/payments/daily?garage_id={north}")).await.json();
    assert_eq!(north_only["net"], "100.00");
    assert_eq!(north_only["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(north_only["methods"][0]["method"], "cash");
    let elsewhere = app.other_org().await;
    let theirs = elsewhere.post("/api/v1/garages", &json!({ "name": "Ailleurs", "address": "1 rue" })).await.json();
    admin.get(&format!("/api/v1/payments/daily?garage_id={}", theirs["id"])).await.assert_status(StatusCode::NOT_FOUND);
    // The day's payments of one garage as the accountant's file.
    let today = all["day"].as_str().expect("day");
    let csv =
        admin.get(&format!("/api/v1/billing/exports/payments.csv?from={today}&to={today}&garage_id={south}")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    assert!(text.lines().next().is_some_and(|h| h.contains("Garage")), "{text}");
    assert_eq!(text.lines().count(), 2, "a header and the south's one payment: {text}");
    assert!(text.contains("Atelier Sud") && text.contains(paid[1]["number"].as_str().expect("number")), "{text}");
    // The page: by garage, one garage chosen, and the exports for that day and garage.
    let page = html(&admin.get("/payments/daily").await);
    assert_eq!(page.matches("data-testid=\"garage-cash\"").count(), 3, "{page}");
    // The total row counts the operations and sums what was received and refunded.
    let total = page.split("<tfoot>").nth(1).and_then(|t| t.split("</tfoot>").next()).expect("total row");
    assert!(total.contains(">3</td>") && total.matches("160,00").count() == 2 && total.contains("0,00"), "{total}");
    let one = html(&admin.get(&format!("/payments/daily?garage_id={north}")).await);
    assert!(
        one.contains(&format!("payments.csv?from={today}&amp;to={today}&amp;garage_id={north}"))
            || one.contains(&format!("payments.csv?from={today}&to={today}&garage_id={north}")),
        "{one}"
    );
    assert!(one.contains("100,00"), "{one}");
}

/// How many invoice reminders were queued.
async fn reminders(app: &TestApp) -> usize {
    crate::helpers::queued_emails(app, 50).await.into_iter().filter(|e| e.subject.starts_with("Rappel")).count()
}

async fn issuing_needs_the_sellers_identity(app: TestApp) {
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "Jeanne Martin" })).await;
    let created = admin.post("/api/v1/invoices", &json!({ "client_id": client, "lines": lines() })).await.json();
    let id = &created["id"];
    let refused = admin.post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await;
    let problem = refused.problem(StatusCode::CONFLICT, "seller_incomplete");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("adresse") && detail.contains("SIRET") && detail.contains("TVA"), "{detail}");
    assert_eq!(admin.get(&format!("/api/v1/invoices/{id}")).await.json()["number"], Value::Null, "no number taken");
    profile(&app).await;
    // The VAT regime changed since the draft: issuing it would print a wrong VAT.
    admin.put("/api/v1/billing/settings", &json!({ "vat_exempt": true })).await.assert_success();
    admin
        .post(&format!("/api/v1/invoices/{id}/issue"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "vat_settings_changed");
    admin.put("/api/v1/billing/settings", &json!({ "vat_exempt": false })).await.assert_success();
    assert_eq!(issue(&app, id).await["number"], format!("FAC-{}-00001", year()), "the refusals took no number");
}

async fn the_accountant_gets_a_balanced_fec_and_the_journals(app: TestApp) {
    let admin = app.as_admin();
    let client = company(&app).await;
    let first = issue(&app, &draft(&app, client).await["id"]).await;
    let second = issue(&app, &draft(&app, client).await["id"]).await;
    let pay = |id: &Value, body: Value| {
        let admin = app.as_admin();
        let path = format!("/api/v1/invoices/{id}/payments");
        async move { admin.post(&path, &body).await.assert_success().json() }
    };
    pay(&first["id"], json!({ "method": "cash", "amount": "139.03" })).await;
    pay(&second["id"], json!({ "method": "card", "reference": "CB-1", "amount": "100" })).await;
    pay(&second["id"], json!({ "method": "card", "kind": "refund", "reference": "CB-2", "amount": "10" })).await;
    admin.post(&format!("/api/v1/invoices/{}/credit", second["id"]), &json!({})).await.assert_success();
    let response = admin.get("/api/v1/billing/fec").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let disposition = response.header("content-disposition").expect("attachment").to_owned();
    assert!(disposition.contains("732829320FEC"), "named after the SIREN: {disposition}");
    let text = response.text();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let header: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(header.len(), 18);
    assert_eq!(header[0], "JournalCode");
    assert_eq!(header[17], "Idevise");
    let amount = |s: &str| s.replace(',', ".").parse::<rust_decimal::Decimal>().expect("amount");
    let mut entries: std::collections::BTreeMap<String, (rust_decimal::Decimal, rust_decimal::Decimal)> =
        std::collections::BTreeMap::new();
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(cells.len(), 18, "{line}");
        let entry = entries.entry(cells[2].to_owned()).or_default();
        entry.0 += amount(cells[11]);
        entry.1 += amount(cells[12]);
    }
    // Three sales entries (two invoices, one credit note) and four payments.
    assert_eq!(entries.keys().filter(|k| k.starts_with("VT")).count(), 3, "{text}");
    assert_eq!(entries.keys().filter(|k| k.starts_with("BQ") || k.starts_with("CA")).count(), 3, "{text}");
    for (number, (debit, credit)) in &entries {
        assert_eq!(debit, credit, "entry {number} is balanced:\n{text}");
    }
    // A sale: the customer debited, sales and VAT credited.
    let sale = lines
        .iter()
        .find(|l| l.starts_with("VT\t") && l.contains(first["number"].as_str().expect("n")) && l.contains("411000"))
        .expect("sale");
    assert!(sale.contains("\t139,03\t0,00\t"), "{sale}");
    assert!(lines.iter().any(|l| l.contains("445710") && l.contains("\t0,00\t23,17\t")), "{text}");
    assert!(
        lines.iter().any(|l| l.starts_with("CA\t") && l.contains("530000")),
        "cash goes to the cash journal: {text}"
    );
    // The journals, as spreadsheets.
    let sales = admin.get("/api/v1/billing/exports/sales.csv").await;
    assert_eq!(sales.status, StatusCode::OK);
    let sales = sales.text();
    assert!(sales.contains("-139,03"), "the credit note counts negative: {sales}");
    let payments = admin.get("/api/v1/billing/exports/payments.xlsx").await;
    assert_eq!(payments.status, StatusCode::OK);
    assert!(payments.body.starts_with(b"PK"), "an XLSX file");
    for bad in ["?from=2026-13-01", "?from=2026-12-01&to=2026-11-01", "?from=2020-01-01&to=2026-01-01"] {
        admin
            .get(&format!("/api/v1/billing/fec{bad}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    // The figures heading the invoices page: a third invoice is still to collect.
    issue(&app, &draft(&app, client).await["id"]).await;
    let figures = admin.get("/api/v1/billing/summary").await.json();
    assert_eq!(figures["invoiced_this_month"], "278.06", "three invoices less one credit note: {figures}");
    assert_eq!(figures["collected_this_month"], "229.03", "{figures}");
    assert_eq!(figures["outstanding"], "139.03", "{figures}");
    assert_eq!(figures["overdue"], "0.00", "{figures}");
    assert_eq!(figures["average_days_to_pay"], 0, "paid the day they were issued: {figures}");
    assert!(html(&admin.get("/invoices").await).contains("139,03"));
    let dashboard = html(&admin.get("/dashboard").await);
    assert!(dashboard.contains("Délai moyen de paiement") && dashboard.contains("229,03"), "{dashboard}");
    // From the invoices page, with the form's blank dates.
    let page = admin.get("/billing/fec?from=&to=").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
}
