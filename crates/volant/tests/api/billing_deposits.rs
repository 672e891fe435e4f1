//! Deposits (acomptes): a deposit invoice asked on an accepted quote (one line per
//! VAT rate, issued at once, Factur-X type 386), deducted once by the quote's
//! final invoice (lines of quantity −1, so its VAT is the remainder's), never
//! past the quote's total, even asked twice at once.

use axum::http::{Method, StatusCode};
use chrono::Datelike;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::fixtures::{facturx_check, follow, html, pdf_text};
use crate::helpers::{TestApp, json_request, send};

async fn profile(app: &TestApp) {
    app.as_admin()
        .patch(
            "/api/v1/organization",
            &json!({
                "name": "Garage du Centre", "address": "3 rue Victor Hugo\n75011 Paris",
                "registration_number": "732 829 320 00074", "vat_number": "FR44732829320"
            }),
        )
        .await
        .assert_success();
}

fn year() -> i32 {
    chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).year()
}

/// An accepted quote of 200 € of parts at 20 % and 100 € of labour at 10 %: 350 € including tax.
async fn accepted_quote(app: &TestApp) -> Value {
    profile(app).await;
    let admin = app.as_admin();
    let client = client(
        app,
        json!({ "kind": "company", "name": "Paul Durand", "company_name": "Transports Durand", "tax_id": "FR40303265045",
            "address": "12 avenue de la Gare\n69003 Lyon" }),
    )
    .await;
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({ "client_id": client, "lines": [
                { "kind": "part", "description": "Embrayage complet", "unit_price": "200", "vat_rate": 20 },
                { "kind": "labour", "description": "Pose embrayage", "quantity": 2, "unit": "h", "unit_price": "50", "vat_rate": 10 }
            ]}),
        )
        .await
        .json();
    let id = &quote["id"];
    admin
        .post(&format!("/api/v1/quotes/{id}/deposits"), &json!({ "percent": 30 }))
        .await
        .problem(StatusCode::CONFLICT, "quote_not_accepted");
    admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.assert_success();
    admin.post(&format!("/api/v1/quotes/{id}/decision"), &json!({ "decision": "accept" })).await.assert_success();
    quote
}

backend_tests!(
    a_deposit_is_invoiced_then_deducted_once_by_the_final_invoice,
    deposits_never_pass_the_quote_nor_the_final_invoice,
    two_deposits_asked_at_once_never_pass_the_quote_total,
    the_quote_page_asks_a_deposit_and_lists_it,
    deposits_reaching_the_whole_quote_invoice_it_to_the_cent,
    the_deposits_migration_keeps_existing_invoices
);

async fn a_deposit_is_invoiced_then_deducted_once_by_the_final_invoice(app: TestApp) {
    let admin = app.as_admin();
    let quote = accepted_quote(&app).await;
    let quote_id = &quote["id"];
    let path = format!("/api/v1/quotes/{quote_id}/deposits");
    for bad in [json!({}), json!({ "percent": 0 }), json!({ "percent": "150" }), json!({ "percent": "12.345" })] {
        admin.post(&path, &bad).await.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
    // 30 %: each VAT rate's share, so the deposit's VAT is the quote's.
    let response = admin.post(&path, &json!({ "percent": "30" })).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let deposit = response.json();
    let deposit_id = &deposit["id"];
    let number = format!("FAC-{}-00001", year());
    assert_eq!(deposit["status"], "issued");
    assert_eq!(deposit["number"], number.as_str());
    assert_eq!(deposit["deposit"]["quote_id"], *quote_id);
    assert_eq!(deposit["deposit"]["percent"], "30");
    assert_eq!(deposit["lines"].as_array().map(Vec::len), Some(2), "{deposit}");
    assert_eq!(deposit["lines"][0]["total_excl_tax"], "60.00");
    assert_eq!(deposit["lines"][1]["total_excl_tax"], "30.00");
    assert!(deposit["lines"][0]["description"].as_str().is_some_and(|d| d.contains("Acompte de 30 % sur le devis")));
    assert_eq!(deposit["totals"]["vat_total"], "15.00");
    assert_eq!(deposit["totals"]["incl_tax"], "105.00");
    let pdf = admin.get(&format!("/api/v1/invoices/{deposit_id}/pdf")).await.body.clone();
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("FACTURE D'ACOMPTE") && text.contains("Acompte de 30 % sur le devis"), "{text}");
    }
    if let Some(read) = facturx_check(&pdf) {
        assert!(read.contains("<ram:TypeCode>386</ram:TypeCode>"), "{read}");
        assert!(read.contains("<ram:GrandTotalAmount>105.00</ram:GrandTotalAmount>"), "{read}");
    }
    admin
        .post(&format!("/api/v1/invoices/{deposit_id}/payments"), &json!({ "method": "transfer", "amount": "105" }))
        .await
        .assert_success();
    let listed = admin.get(&path).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["payment_state"], "paid");

    // The final invoice: the whole quote, less the deposit rate by rate.
    let final_path = format!("/api/v1/quotes/{quote_id}/invoice");
    let draft = admin.post(&final_path, &json!({})).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.text());
    let draft = draft.json();
    let final_id = &draft["id"];
    let deductions: Vec<&Value> =
        draft["lines"].as_array().expect("lines").iter().filter(|l| l["deposit_invoice_id"] == *deposit_id).collect();
    assert_eq!(deductions.len(), 2, "{draft}");
    assert_eq!(deductions[0]["quantity"], "-1");
    assert_eq!(deductions[0]["total_excl_tax"], "-60.00");
    assert!(deductions[0]["description"].as_str().is_some_and(|d| d.contains(&number)), "{draft}");
    assert_eq!(draft["totals"]["excl_tax"], "210.00");
    assert_eq!(draft["totals"]["vat_total"], "35.00");
    assert_eq!(draft["totals"]["incl_tax"], "245.00", "350 − 105");
    // Deducted, the deposit cannot be credited on its own.
    let deposit = admin.get(&format!("/api/v1/invoices/{deposit_id}")).await.json();
    assert_eq!(deposit["deposit"]["deducted_in_invoice_id"], *final_id);
    admin
        .post(&format!("/api/v1/invoices/{deposit_id}/credit"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "deposit_deducted");
    // The draft's lines typed again keep the deduction; deleting the draft frees the deposit.
    let replaced = admin
        .put(
            &format!("/api/v1/invoices/{final_id}"),
            &json!({ "client_id": draft["buyer"]["id"], "lines": [
                { "kind": "part", "description": "Embrayage complet", "unit_price": "200", "vat_rate": 20 },
                { "kind": "labour", "description": "Pose embrayage", "quantity": 2, "unit": "h", "unit_price": "50", "vat_rate": 10 },
                { "description": "Liquide de frein", "unit_price": "10", "vat_rate": 20 }
            ]}),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    let replaced = replaced.json();
    assert_eq!(replaced["lines"].as_array().map(Vec::len), Some(5), "{replaced}");
    assert_eq!(replaced["totals"]["incl_tax"], "257.00", "350 + 12 − 105");
    // The draft's form shows the deductions apart from the lines it lets one type.
    let form = html(&admin.get(&format!("/invoices/{final_id}/edit")).await);
    assert_eq!(form.matches("data-testid=\"deduction\"").count(), 2, "{form}");
    assert!(form.contains("Acomptes déduits") && form.contains("Liquide de frein"), "{form}");
    admin.delete(&format!("/api/v1/invoices/{final_id}")).await.assert_status(StatusCode::NO_CONTENT);
    let freed = admin.get(&format!("/api/v1/invoices/{deposit_id}")).await.json();
    assert_eq!(freed["deposit"]["deducted_in_invoice_id"], Value::Null);
    // Invoiced again, the deposit is deducted again; issued, the final invoice is valid Factur-X.
    let final_invoice = admin.post(&final_path, &json!({})).await.json();
    let final_id = &final_invoice["id"];
    assert_eq!(final_invoice["totals"]["incl_tax"], "245.00");
    let issued = admin.post(&format!("/api/v1/invoices/{final_id}/issue"), &json!({})).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text());
    assert_eq!(issued.json()["number"], format!("FAC-{}-00002", year()));
    let pdf = admin.get(&format!("/api/v1/invoices/{final_id}/pdf")).await.body.clone();
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Déduction de l'acompte") && text.contains("245,00"), "{text}");
    }
    if let Some(read) = facturx_check(&pdf) {
        assert!(read.contains("<ram:TypeCode>380</ram:TypeCode>"), "{read}");
        assert!(read.contains("<ram:BilledQuantity unitCode=\"C62\">-1</ram:BilledQuantity>"), "{read}");
        assert!(read.contains("<ram:GrandTotalAmount>245.00</ram:GrandTotalAmount>"), "{read}");
    }
    // Once the quote is invoiced, no more deposits.
    admin.post(&path, &json!({ "percent": 10 })).await.problem(StatusCode::CONFLICT, "already_invoiced");
    // The final invoice credited (its deductions with it), the deposit may be credited too.
    let credit = admin.post(&format!("/api/v1/invoices/{final_id}/credit"), &json!({})).await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.text());
    assert_eq!(credit.json()["totals"]["incl_tax"], "245.00");
    let credited = admin.post(&format!("/api/v1/invoices/{deposit_id}/credit"), &json!({})).await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.text());
    // Another organization sees none of it.
    app.other_org().await.get(&path).await.assert_status(StatusCode::NOT_FOUND);
}

async fn deposits_never_pass_the_quote_nor_the_final_invoice(app: TestApp) {
    let admin = app.as_admin();
    let quote = accepted_quote(&app).await;
    let quote_id = &quote["id"];
    let path = format!("/api/v1/quotes/{quote_id}/deposits");
    admin.post(&path, &json!({ "percent": "60" })).await.assert_status(StatusCode::CREATED);
    let refused =
        admin.post(&path, &json!({ "percent": "40.01" })).await.problem(StatusCode::CONFLICT, "deposits_exceed_quote");
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("40 %")), "{refused}");
    let rest = admin.post(&path, &json!({ "percent": "40" })).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text());
    // Everything paid in advance: the final invoice asks for nothing more.
    let draft = admin.post(&format!("/api/v1/quotes/{quote_id}/invoice"), &json!({})).await.json();
    assert_eq!(draft["totals"]["incl_tax"], "0.00", "{draft}");
    assert_eq!(draft["lines"].as_array().map(Vec::len), Some(6));
    // Cheaper lines than the deposits would make the invoice negative: refused, nothing changed.
    admin
        .put(
            &format!("/api/v1/invoices/{}", draft["id"]),
            &json!({ "client_id": draft["buyer"]["id"], "lines": [{ "description": "Embrayage", "unit_price": "100" }] }),
        )
        .await
        .problem(StatusCode::CONFLICT, "deposits_exceed_invoice");
    let kept = admin.get(&format!("/api/v1/invoices/{}", draft["id"])).await.json();
    assert_eq!(kept["lines"].as_array().map(Vec::len), Some(6));
    let issued = admin.post(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.json();
    assert_eq!(issued["balance_due"], "0.00");
    assert_eq!(issued["payment_state"], "paid");
}

async fn two_deposits_asked_at_once_never_pass_the_quote_total(app: TestApp) {
    let admin = app.as_admin();
    let quote = accepted_quote(&app).await;
    let path = format!("/api/v1/quotes/{}/deposits", quote["id"]);
    let requests = [
        admin.authorize(json_request(Method::POST, &path, &json!({ "percent": 60 }))).await,
        admin.authorize(json_request(Method::POST, &path, &json!({ "percent": 60 }))).await,
    ];
    let [a, b] = requests.map(|r| tokio::spawn(send(app.router.clone(), r)));
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "{} / {}", a.text(), b.text());
    let listed = admin.get(&path).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    // The refused one took no number: the next invoice follows without a gap.
    let next = admin.post(&path, &json!({ "percent": 10 })).await.json();
    assert_eq!(next["number"], format!("FAC-{}-00002", year()));
}

async fn the_quote_page_asks_a_deposit_and_lists_it(app: TestApp) {
    let admin = app.as_admin();
    let quote = accepted_quote(&app).await;
    let quote_id = &quote["id"];
    let page = html(&admin.get(&format!("/quotes/{quote_id}")).await);
    assert!(page.contains(&format!("hx-get=\"/quotes/{quote_id}/deposits\"")), "{page}");
    let none = html(&admin.get(&format!("/quotes/{quote_id}/deposits")).await);
    assert!(none.contains("Aucun acompte demandé"), "{none}");
    let refused = admin.post_form(&format!("/quotes/{quote_id}/deposits"), &[("percent", "cent")]).await;
    let refused = html(&follow(&app, &refused).await);
    assert!(refused.contains("pourcentage supérieur à 0"), "{refused}");
    let asked = admin.post_form(&format!("/quotes/{quote_id}/deposits"), &[("percent", "30,5")]).await;
    let shown = html(&follow(&app, &asked).await);
    let number = format!("FAC-{}-00001", year());
    assert!(shown.contains(&format!("Facture d'acompte {number} émise")), "{shown}");
    assert!(shown.contains("Acompte de 30,5 % sur le devis"), "{shown}");
    let listed = html(&admin.get(&format!("/quotes/{quote_id}/deposits")).await);
    assert!(listed.contains(&number) && listed.contains("30,5 %") && listed.contains("Pas encore déduit"), "{listed}");
    let invoices = html(&admin.get("/invoices").await);
    assert!(invoices.contains("Facture d'acompte"), "{invoices}");
    // Once invoiced, the quote names its invoice and asks for nothing more.
    let made = admin.post_form(&format!("/quotes/{quote_id}/invoice"), &[]).await;
    let invoice_id = made.header("location").expect("location").trim_start_matches("/invoices/").to_owned();
    let invoiced = html(&admin.get(&format!("/quotes/{quote_id}/deposits")).await);
    assert!(
        invoiced.contains("Ce devis est facturé") && invoiced.contains(&format!("href=\"/invoices/{invoice_id}\"")),
        "{invoiced}"
    );
    assert!(invoiced.contains(&format!("le brouillon #{invoice_id}")), "{invoiced}");
    assert!(!invoiced.contains("Facturer un acompte") && !invoiced.contains("action=\"/quotes/"), "{invoiced}");
}

async fn deposits_reaching_the_whole_quote_invoice_it_to_the_cent(app: TestApp) {
    profile(&app).await;
    let admin = app.as_admin();
    let other = client(&app, json!({ "name": "Paul Martin" })).await;
    let client = client(&app, json!({ "name": "Awa Diop" })).await;
    // 100.01 excl. tax: half of it rounds up, so two halves rounded alone would make 100.02.
    let quote = admin
        .post("/api/v1/quotes", &json!({ "client_id": client, "lines": [{ "description": "Carrosserie", "unit_price": "100.01", "vat_rate": 20 }] }))
        .await
        .json();
    let id = &quote["id"];
    admin.post(&format!("/api/v1/quotes/{id}/send"), &json!({})).await.assert_success();
    admin.post(&format!("/api/v1/quotes/{id}/decision"), &json!({ "decision": "accept" })).await.assert_success();
    let path = format!("/api/v1/quotes/{id}/deposits");
    let first = admin.post(&path, &json!({ "percent": 50 })).await.json();
    assert_eq!(first["totals"]["excl_tax"], "50.01");
    let second = admin.post(&path, &json!({ "percent": 50 })).await.json();
    assert_eq!(second["totals"]["excl_tax"], "50.00", "the second takes what is left: {second}");
    let draft = admin.post(&format!("/api/v1/quotes/{id}/invoice"), &json!({})).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.text());
    let draft = draft.json();
    assert_eq!(draft["totals"]["incl_tax"], "0.00");
    // Its deductions are its client's: the draft cannot be given to another one.
    admin
        .put(&format!("/api/v1/invoices/{}", draft["id"]), &json!({ "client_id": other, "lines": [] }))
        .await
        .problem(StatusCode::CONFLICT, "deposits_of_another_client");
    let issued = admin.post(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.json();
    assert_eq!(issued["payment_state"], "paid");
    // Paid in advance in full, the job may still be cancelled: the final invoice, then the deposits.
    let page = html(&admin.get(&format!("/invoices/{}", draft["id"])).await);
    assert!(page.contains("Corriger par un avoir"), "a zero invoice may be credited: {page}");
    admin
        .post(&format!("/api/v1/invoices/{}/credit", draft["id"]), &json!({}))
        .await
        .assert_status(StatusCode::CREATED);
    for deposit in [&first, &second] {
        admin
            .post(&format!("/api/v1/invoices/{}/credit", deposit["id"]), &json!({}))
            .await
            .assert_status(StatusCode::CREATED);
    }
}

async fn the_deposits_migration_keeps_existing_invoices(app: TestApp) {
    use migration::MigratorTrait;
    profile(&app).await;
    let admin = app.as_admin();
    let client = client(&app, json!({ "name": "Awa Diop" })).await;
    let garage = app.garage("Atelier Nord").await;
    let vehicle = app.vehicle(garage, "CC-333-CC").await;
    let made = admin
        .post("/api/v1/invoices", &json!({ "client_id": client, "vehicle_id": vehicle,
            "lines": [{ "description": "Vidange", "unit_price": "80" }, { "description": "Filtre", "unit_price": "12.5" }] }))
        .await
        .json();
    let id = &made["id"];
    admin.post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.assert_success();
    // Back to before deposits with an issued invoice in the tables, then up again.
    migration::Migrator::down(&app.db, Some(1)).await.expect("down");
    migration::Migrator::up(&app.db, None).await.expect("up");
    let after = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(after["lines"].as_array().map(Vec::len), Some(2), "{after}");
    assert_eq!(after["totals"]["incl_tax"], "111.00");
    assert_eq!(after["garage_id"], garage, "filled from the vehicle");
    assert_eq!(after["deposit"], Value::Null);
    // Still frozen: the triggers came back with the tables.
    let frozen =
        app.db.execute_unprepared(&format!("UPDATE invoice_lines SET description = 'x' WHERE invoice_id = {id}")).await;
    assert!(frozen.is_err(), "issued lines are frozen");
}
