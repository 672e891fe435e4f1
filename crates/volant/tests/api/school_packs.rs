//! A driving school's packs: sold to a candidate, invoiced at once and paid in
//! instalments; the candidate's hours follow the packs sold; a sale cancelled by
//! a credit note; instalments fallen due reminded once; what a candidate
//! bought, paid and owes in their file and on their portal.

use axum::http::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{candidate, instructor, training_car};
use crate::fixtures::{facturx_check, follow, html, pdf_text};
use crate::helpers::TestApp;

async fn school_profile(app: &TestApp) {
    let response = app
        .as_admin()
        .patch(
            "/api/v1/organization",
            &json!({
                "name": "Auto-école du Port", "address": "8 quai des Belges\n13001 Marseille",
                "registration_number": "732 829 320 00074", "vat_number": "FR44732829320"
            }),
        )
        .await;
    assert!(response.status.is_success(), "{}", response.text());
}

/// "Forfait B 20 h + code": 991.67 excl. tax, 1 190.00 incl. 20 % VAT.
async fn pack(app: &TestApp) -> Value {
    let response = app
        .as_admin()
        .post(
            "/api/v1/school/packs",
            &json!({
                "name": "Forfait B 20 h + code", "description": "20 h de conduite\ncode en ligne illimité ✓",
                "driving_minutes": 1200, "unit_price": "991.67", "vat_rate": 20
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn lea(app: &TestApp) -> i64 {
    candidate(
        app,
        json!({
            "first_name": "Léa", "last_name": "Écuyer", "email": "lea.ecuyer@example.fr",
            "address": "14 rue Paradis\n13006 Marseille"
        }),
    )
    .await["id"]
        .as_i64()
        .expect("id")
}

async fn sell(app: &TestApp, candidate: i64, body: Value) -> Value {
    let response = app.as_admin().post(&format!("/api/v1/school/candidates/{candidate}/sales"), &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn bought_minutes(app: &TestApp, candidate: i64) -> i64 {
    let file = app.as_admin().get(&format!("/api/v1/school/candidates/{candidate}")).await.json();
    file["hours"]["bought_minutes"].as_i64().expect("bought minutes")
}

async fn account(app: &TestApp, candidate: i64) -> Value {
    let response = app.as_admin().get(&format!("/api/v1/school/candidates/{candidate}/account")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive()
}

backend_tests!(
    a_pack_sold_in_three_instalments_is_invoiced_scheduled_and_adds_its_hours,
    cancelling_a_sale_credits_its_invoice_and_takes_its_hours_back_once,
    instalments_fallen_due_are_reminded_once_until_paid,
    the_candidate_sees_what_she_bought_paid_and_owes_and_only_her_invoices,
    packs_and_sales_refuse_bad_input_and_an_incomplete_seller_creates_nothing,
    a_school_manager_sells_a_pack_from_the_candidates_file,
    a_sale_sent_twice_with_its_key_is_made_once,
    the_time_taken_beyond_the_pack_is_invoiced_lesson_by_lesson
);

async fn a_sale_sent_twice_with_its_key_is_made_once(app: TestApp) {
    school_profile(&app).await;
    let pack = pack(&app).await;
    let lea = lea(&app).await;
    let admin = app.as_admin();
    let path = format!("/api/v1/school/candidates/{lea}/sales");
    let body = json!({ "pack_id": pack["id"], "instalments": 3, "idempotency_key": "vente-lea-1" });
    // Twice at once (a double click, a retried call): one sale, one invoice, the hours once.
    let (a, b) = tokio::join!(admin.post(&path, &body), admin.post(&path, &body));
    let (a, b) = (a.assert_success().json(), b.assert_success().json());
    assert_eq!(a["sale"]["id"], b["sale"]["id"]);
    assert_eq!(a["invoice"]["number"], b["invoice"]["number"]);
    assert_eq!(bought_minutes(&app, lea).await, 1200);
    assert_eq!(account(&app, lea).await["sales"].as_array().map(Vec::len), Some(1));
    // Once more later: the same answer.
    let again = admin.post(&path, &body).await.assert_success().json();
    assert_eq!(again["sale"]["id"], a["sale"]["id"]);
    // The key names that sale: another candidate cannot reuse it.
    let other = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    let reused = admin.post(&format!("/api/v1/school/candidates/{other}/sales"), &body).await;
    reused.problem(StatusCode::CONFLICT, "key_used");
    // The page's form carries a key of its own: posted twice, it sells once.
    let manager = app.as_role(Role::Manager).await;
    let file = html(&manager.get(&format!("/school/candidates/{lea}")).await);
    let key = file.split("name=\"idempotency_key\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("a key");
    let fields = [("idempotency_key", key), ("pack_id", &pack["id"].to_string()), ("instalments", "1")];
    let form = format!("/school/candidates/{lea}/sales");
    manager.post_form(&form, &fields).await;
    manager.post_form(&form, &fields).await;
    assert_eq!(account(&app, lea).await["sales"].as_array().map(Vec::len), Some(2));
    assert_eq!(bought_minutes(&app, lea).await, 2400);
}

async fn a_pack_sold_in_three_instalments_is_invoiced_scheduled_and_adds_its_hours(app: TestApp) {
    school_profile(&app).await;
    let admin = app.as_admin();
    let pack = pack(&app).await;
    assert_eq!(pack["price_incl_tax"], "1190.00");
    let lea = lea(&app).await;
    let sold = sell(&app, lea, json!({ "pack_id": pack["id"], "instalments": 3 })).await;
    let invoice = &sold["invoice"];
    assert_eq!(invoice["status"], "issued");
    assert_eq!(invoice["buyer"]["kind"], "candidate");
    assert_eq!(invoice["buyer"]["name"], "Léa Écuyer");
    assert_eq!(invoice["source_kind"], "pack_sale");
    assert_eq!(invoice["totals"]["incl_tax"], "1190.00");
    assert_eq!(invoice["totals"]["vat_total"], "198.33");
    // 1 190.00 in three: the odd cent on the first, a month apart; due in full with the last.
    let schedule = invoice["instalments"].as_array().expect("schedule");
    let amounts: Vec<&str> = schedule.iter().map(|i| i["amount"].as_str().expect("amount")).collect();
    assert_eq!(amounts, ["396.68", "396.66", "396.66"]);
    let first = today();
    let dates: Vec<String> = schedule.iter().map(|i| i["due_on"].as_str().expect("date").to_owned()).collect();
    let expected: Vec<String> =
        (0..3).map(|m| first.checked_add_months(chrono::Months::new(m)).expect("date").to_string()).collect();
    assert_eq!(dates, expected);
    assert_eq!(invoice["due_date"], expected[2].as_str());
    assert_eq!(schedule[0]["state"], "due");
    assert_eq!(schedule[1]["state"], "upcoming");
    // The hours follow the pack; they are not typed over.
    assert_eq!(bought_minutes(&app, lea).await, 1200);
    let file = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json();
    let mut edited = json!({
        "first_name": "Léa", "last_name": "Écuyer", "category": "B", "email": "lea.ecuyer@example.fr",
        "bought_minutes": 3000
    });
    let refused = admin.put(&format!("/api/v1/school/candidates/{lea}"), &edited).await;
    assert_eq!(refused.error_fields(), ["bought_minutes"]);
    edited["bought_minutes"] = file["hours"]["bought_minutes"].clone();
    admin.put(&format!("/api/v1/school/candidates/{lea}"), &edited).await.assert_success();
    assert_eq!(bought_minutes(&app, lea).await, 1200, "an update keeps the hours bought");
    // What she owes: the first instalment today, the next in a month.
    let before = account(&app, lea).await;
    assert_eq!(before["bought"], "1190.00");
    assert_eq!(before["due_now"], "396.68");
    assert_eq!(before["balance"], "1190.00");
    assert_eq!(before["next_instalment"]["amount"], "396.66");
    assert_eq!(before["next_instalment"]["due_on"], expected[1].as_str());
    let id = invoice["id"].as_i64().expect("id");
    let paid = admin
        .post(&format!("/api/v1/invoices/{id}/payments"), &json!({ "method": "card", "amount": "396.68" }))
        .await
        .assert_success()
        .json();
    assert_eq!(paid["instalments"][0]["state"], "paid");
    assert_eq!(paid["payment_state"], "partly_paid");
    let after = account(&app, lea).await;
    assert_eq!((after["paid"].as_str(), after["due_now"].as_str()), (Some("396.68"), Some("0.00")));
    assert_eq!(after["balance"], "793.32");
    // The PDF prints the schedule; its Factur-X data passes the validator.
    let pdf = admin.get(&format!("/invoices/{id}/pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    if let Some(text) = pdf_text(&pdf.body) {
        assert!(text.contains("Échéancier"), "{text}");
        for amount in ["396,68", "396,66"] {
            assert!(text.contains(amount), "{amount}: {text}");
        }
        assert!(text.contains("Léa Écuyer") && text.contains("Forfait B 20 h + code"), "{text}");
    }
    facturx_check(&pdf.body);
    // A pack's invoice is not credited from billing: the sale is cancelled from the file.
    admin
        .post(&format!("/api/v1/invoices/{id}/credit"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "cancel_the_sale");
    // The database keeps an issued invoice's schedule as it is.
    let changed = app
        .db
        .execute_unprepared(&format!("UPDATE invoice_instalments SET amount_minor = 1 WHERE invoice_id = {id}"))
        .await;
    assert!(changed.is_err(), "an issued schedule was changed");
    // The accountant's FEC gives the candidate an auxiliary account of her own.
    let fec = admin.get("/billing/fec").await;
    assert_eq!(fec.status, StatusCode::OK, "{}", fec.text());
    assert!(fec.text().contains(&format!("E{lea:06}")), "{}", fec.text());
}

async fn cancelling_a_sale_credits_its_invoice_and_takes_its_hours_back_once(app: TestApp) {
    school_profile(&app).await;
    let pack = pack(&app).await;
    let lea = lea(&app).await;
    let sold = sell(&app, lea, json!({ "pack_id": pack["id"], "instalments": 4, "quantity": "1" })).await;
    let sale = sold["sale"]["id"].as_i64().expect("sale");
    let invoice = sold["invoice"]["id"].as_i64().expect("invoice");
    let path = format!("/api/v1/school/candidates/{lea}/sales/{sale}/cancel");
    let admin = app.as_admin();
    let body = json!({ "reason": "Déménagement\nà Lyon 📦" });
    let (a, b) = tokio::join!(admin.post(&path, &body), admin.post(&path, &body));
    let statuses = [a.status, b.status];
    assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(bought_minutes(&app, lea).await, 0, "the hours are taken back once");
    let credited = admin.get(&format!("/api/v1/invoices/{invoice}")).await.json();
    assert_eq!(credited["payment_state"], "credited");
    assert_eq!(credited["credit_note_ids"].as_array().map(Vec::len), Some(1));
    let account = account(&app, lea).await;
    assert_eq!(account["bought"], "0.00");
    assert_eq!(account["balance"], "0.00");
    assert_eq!(account["due_now"], "0.00", "a credited schedule is no longer due");
    assert!(account["sales"][0]["cancelled_at"].is_string());
    let credit_note = account["invoices"][0].clone();
    assert_eq!(credit_note["kind"], "credit_note");
    assert!(credit_note["mentions"].as_str().expect("mentions").contains("Déménagement"), "{credit_note}");
    // Another candidate's path does not reach the sale.
    let other = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/school/candidates/{other}/sales/{sale}/cancel"), &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn instalments_fallen_due_are_reminded_once_until_paid(app: TestApp) {
    use volant::billing::invoices::instalments::remind_due;
    school_profile(&app).await;
    let pack = pack(&app).await;
    let lea = lea(&app).await;
    let sold = sell(&app, lea, json!({ "pack_id": pack["id"], "instalments": 3 })).await;
    let id = sold["invoice"]["id"].as_i64().expect("id");
    let now = chrono::Utc::now();
    // The first instalment is due today: one e-mail, however many workers run at once.
    let (a, b, c) = tokio::join!(remind_due(&app.db, now), remind_due(&app.db, now), remind_due(&app.db, now));
    assert_eq!([a.expect("a"), b.expect("b"), c.expect("c")].iter().sum::<u64>(), 1);
    assert_eq!(remind_due(&app.db, now).await.expect("again"), 0);
    let sent = reminders(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "lea.ecuyer@example.fr");
    // She pays the first two at once; the second's date passes with nothing to remind.
    app.as_admin()
        .post(&format!("/api/v1/invoices/{id}/payments"), &json!({ "method": "cash", "amount": "793.34" }))
        .await
        .assert_success();
    let in_a_month = now + chrono::Duration::days(32);
    assert_eq!(remind_due(&app.db, in_a_month).await.expect("+1 month"), 0);
    // The third is the last: the invoice falls due with it, and the invoice's own reminder tells it, once.
    let in_two_months = now + chrono::Duration::days(63);
    assert_eq!(remind_due(&app.db, in_two_months).await.expect("+2 months"), 0);
    let unpaid = volant::billing::invoices::reminders::remind_unpaid(&app.db, in_two_months, "http://volant.test")
        .await
        .expect("invoice");
    assert_eq!(unpaid, 1);
    assert_eq!(reminders(&app).await.len(), 1);
    // A sale dated back two months: its two instalments fallen due make one e-mail, not two.
    let earlier = today() - chrono::Duration::days(59);
    sell(&app, lea, json!({ "pack_id": pack["id"], "instalments": 4, "first_due_on": earlier })).await;
    assert_eq!(remind_due(&app.db, now).await.expect("late sale"), 1);
    let sent = reminders(&app).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    // Reminders turned off in the settings: none for instalments either.
    app.as_admin().put("/api/v1/billing/settings", &json!({ "reminder_days": [] })).await.assert_success();
    sell(&app, lea, json!({ "pack_id": pack["id"], "instalments": 2 })).await;
    assert_eq!(remind_due(&app.db, now).await.expect("off"), 0);
}

/// The instalment reminders queued.
async fn reminders(app: &TestApp) -> Vec<crate::helpers::QueuedEmail> {
    crate::helpers::queued_emails(app, 50)
        .await
        .into_iter()
        .filter(|e| e.subject.starts_with("Échéance de paiement"))
        .collect()
}

async fn the_candidate_sees_what_she_bought_paid_and_owes_and_only_her_invoices(app: TestApp) {
    school_profile(&app).await;
    let pack = pack(&app).await;
    let user = app.user("lea.portal@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({ "first_name": "Léa", "last_name": "Écuyer", "email": "lea.portal@example.fr", "user_id": user.id }),
    )
    .await["id"]
        .as_i64()
        .expect("id");
    let other =
        candidate(&app, json!({ "first_name": "Noé", "last_name": "Martin" })).await["id"].as_i64().expect("id");
    let hers = sell(&app, lea, json!({ "pack_id": pack["id"], "instalments": 3 })).await["invoice"]["id"].clone();
    let not_hers = sell(&app, other, json!({ "pack_id": pack["id"] })).await["invoice"]["id"].clone();
    let me = app.as_user(&user).await;
    let portal = html(&me.get("/portal").await);
    assert!(portal.contains("Achats et paiements"), "{portal}");
    assert!(portal.contains("190,00"), "what she bought: {portal}");
    assert!(portal.contains("396,68") && portal.contains("396,66"), "her schedule: {portal}");
    assert!(portal.contains(&format!("/portal/invoices/{hers}/pdf")), "{portal}");
    let pdf = me.get(&format!("/portal/invoices/{hers}/pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with(b"%PDF"));
    assert_eq!(me.get(&format!("/portal/invoices/{not_hers}/pdf")).await.status, StatusCode::NOT_FOUND);
    // Nor the billing pages, nor another's account through the API.
    assert_eq!(me.get(&format!("/invoices/{hers}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(me.get(&format!("/api/v1/school/candidates/{lea}/account")).await.status, StatusCode::FORBIDDEN);
    // An instructor sees the file, not the money.
    let instructor = app.as_role(Role::Instructor).await;
    let file = instructor.get(&format!("/school/candidates/{lea}")).await;
    assert!(!html(&file).contains("Achats et paiements"));
}

async fn packs_and_sales_refuse_bad_input_and_an_incomplete_seller_creates_nothing(app: TestApp) {
    let admin = app.as_admin();
    let bad = admin
        .post(
            "/api/v1/school/packs",
            &json!({ "name": " ", "driving_minutes": -5, "unit_price": "-1", "vat_rate": "120" }),
        )
        .await;
    assert_eq!(bad.error_fields(), ["name", "driving_minutes", "unit_price", "vat_rate"]);
    let pack = pack(&app).await;
    admin
        .post(
            "/api/v1/school/packs",
            &json!({ "name": "Forfait B 20 h + code", "driving_minutes": 60, "unit_price": 1 }),
        )
        .await
        .problem(StatusCode::CONFLICT, "duplicate_pack_name");
    let lea = lea(&app).await;
    // The organization has no address, SIRET or VAT number yet: nothing is sold.
    admin
        .post(&format!("/api/v1/school/candidates/{lea}/sales"), &json!({ "pack_id": pack["id"] }))
        .await
        .problem(StatusCode::CONFLICT, "seller_incomplete");
    assert_eq!(bought_minutes(&app, lea).await, 0);
    assert_eq!(account(&app, lea).await["sales"], json!([]));
    school_profile(&app).await;
    let path = format!("/api/v1/school/candidates/{lea}/sales");
    let refused = admin
        .post(&path, &json!({ "pack_id": 999_999, "quantity": "0", "instalments": 13, "first_due_on": "2001-01-01" }))
        .await;
    assert_eq!(refused.error_fields(), ["pack_id", "quantity", "instalments", "first_due_on"]);
    let mut retired = pack.clone();
    retired["active"] = json!(false);
    // What the pack's representation adds to its input is not sent back.
    retired.as_object_mut().expect("object").remove("currency");
    admin.put(&format!("/api/v1/school/packs/{}", pack["id"]), &retired).await.assert_success();
    assert_eq!(admin.post(&path, &json!({ "pack_id": pack["id"] })).await.error_fields(), ["pack_id"]);
    // Another organization sees neither the pack nor the candidate.
    let other = app.other_org().await;
    assert_eq!(other.get(&format!("/api/v1/school/packs/{}", pack["id"])).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.post(&path, &json!({ "pack_id": pack["id"] })).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bought_minutes(&app, lea).await, 0);
}

async fn a_school_manager_sells_a_pack_from_the_candidates_file(app: TestApp) {
    school_profile(&app).await;
    let manager = app.as_role(Role::Manager).await;
    // The catalogue, in the form's own words (a comma for decimals).
    let saved = manager
        .post_form(
            "/school/packs",
            &[("name", "Heure de conduite"), ("hours", "1"), ("price", "55"), ("vat_rate", "20"), ("active", "on")],
        )
        .await;
    let catalogue = html(&follow(&app, &saved).await);
    assert!(catalogue.contains("Heure de conduite") && catalogue.contains("55,00"), "{catalogue}");
    let pack = manager.get("/api/v1/school/packs").await.json()[0]["id"].clone();
    let lea = lea(&app).await;
    let file = html(&manager.get(&format!("/school/candidates/{lea}")).await);
    assert!(file.contains("Vendre une formule") && file.contains("En 3 fois"), "{file}");
    // An hour and a half sold singly, in two instalments.
    let sold = manager
        .post_form(
            &format!("/school/candidates/{lea}/sales"),
            &[
                ("pack_id", &pack.to_string()),
                ("quantity", "1,5"),
                ("instalments", "2"),
                ("first_due_on", &today().to_string()),
            ],
        )
        .await;
    let page = html(&follow(&app, &sold).await);
    assert!(page.contains("facture FAC-"), "flash: {page}");
    assert!(page.contains("82,50"), "1.5 × 55.00: {page}");
    assert!(page.contains("41,25"), "two instalments: {page}");
    assert!(
        page.contains("<td data-label=\"Règlement\">En 2 fois (mensuel)</td>")
            || page.contains("En 2 fois (mensuel)</td>"),
        "the sale says how it is paid: {page}"
    );
    assert_eq!(bought_minutes(&app, lea).await, 90);
    // A refusal is told on the file.
    let refused = manager
        .post_form(&format!("/school/candidates/{lea}/sales"), &[("pack_id", &pack.to_string()), ("quantity", "abc")])
        .await;
    assert!(html(&follow(&app, &refused).await).contains("Quantité invalide"));
    // Two hours driven yesterday against the 1 h 30 bought: the hourly pack is proposed for the half hour over.
    let teacher = instructor(&app, &["B"]).await;
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "24:00" })).collect();
    let admin = app.as_admin();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let car = training_car(&app, "B").await;
    let yesterday = today().pred_opt().expect("yesterday");
    let at = |hour: u32| {
        use chrono::TimeZone;
        chrono_tz::Europe::Paris
            .from_local_datetime(&yesterday.and_hms_opt(hour, 0, 0).expect("time"))
            .single()
            .expect("local time")
            .to_rfc3339()
    };
    let booking = json!({ "candidate_id": lea, "instructor_id": teacher, "vehicle_id": car, "starts_at": at(10), "ends_at": at(12) });
    let lesson = admin.post("/api/v1/school/lessons", &booking).await.assert_success().json()["id"].clone();
    admin
        .post(&format!("/api/v1/school/lessons/{lesson}/outcome"), &json!({ "status": "done" }))
        .await
        .assert_success();
    let file = html(&manager.get(&format!("/school/candidates/{lea}")).await);
    assert!(file.contains("0 h 30 de conduite faites au-delà des heures achetées"), "{file}");
    assert!(file.contains("value=\"0,5\""), "the half hour over, proposed: {file}");
    // The edit form shows the hours bought, and does not take them.
    let edit = html(&manager.get(&format!("/school/candidates/{lea}/edit")).await);
    assert!(!edit.contains("name=\"bought_hours\""), "{edit}");
    // Priced at 55,00 including tax, three hours are 165,00, not 164,99.
    let three = sell(&app, lea, json!({ "pack_id": pack, "quantity": 3 })).await;
    assert_eq!(three["invoice"]["totals"]["incl_tax"], "165.00", "{three}");
}

async fn the_time_taken_beyond_the_pack_is_invoiced_lesson_by_lesson(app: TestApp) {
    use crate::helpers::{json_request, send};
    use axum::http::Method;
    school_profile(&app).await;
    let admin = app.as_admin();
    let lea = lea(&app).await;
    let path = format!("/api/v1/school/candidates/{lea}/statement");
    // Without a one-hour pack there is no price for an hour.
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "no_hourly_pack");
    let hourly = admin
        .post(
            "/api/v1/school/packs",
            &json!({ "name": "Heure de conduite", "driving_minutes": 60, "unit_price": "50", "vat_rate": 20 }),
        )
        .await
        .json();
    sell(&app, lea, json!({ "pack_id": hourly["id"], "quantity": "1.5" })).await;
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "nothing_beyond");
    // Yesterday: a lesson done, one done across the 1 h 30 bought, one missed; a
    // lesson cancelled in time and one to come count for nothing.
    let teacher = instructor(&app, &["B"]).await;
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "24:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let car = training_car(&app, "B").await;
    let at = |day: chrono::NaiveDate, hour: u32| {
        use chrono::TimeZone;
        chrono_tz::Europe::Paris
            .from_local_datetime(&day.and_hms_opt(hour, 0, 0).expect("time"))
            .single()
            .expect("local time")
            .to_rfc3339()
    };
    let yesterday = today().pred_opt().expect("yesterday");
    let tomorrow = today().succ_opt().expect("tomorrow");
    let mut lessons = Vec::new();
    let before = yesterday.pred_opt().expect("the day before");
    // Two lessons a day at most (the school's daily limit).
    for (day, hour) in [(before, 8), (before, 10), (yesterday, 8), (yesterday, 10), (tomorrow, 10)] {
        let booking = json!({ "candidate_id": lea, "instructor_id": teacher, "vehicle_id": car,
            "starts_at": at(day, hour), "ends_at": at(day, hour + 1) });
        let booked = admin.post("/api/v1/school/lessons", &booking).await;
        assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text());
        lessons.push(booked.json()["id"].clone());
    }
    for (lesson, status) in [(&lessons[0], "done"), (&lessons[1], "done"), (&lessons[2], "no_show")] {
        admin
            .post(&format!("/api/v1/school/lessons/{lesson}/outcome"), &json!({ "status": status }))
            .await
            .assert_success();
    }
    let made = admin.post(&path, &json!({})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let made = made.json();
    let lines = made["invoice"]["lines"].as_array().expect("lines");
    let day = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    assert_eq!(lines.len(), 2, "{made}");
    assert_eq!(
        lines[0]["description"],
        format!("Leçon de conduite du {} (part au-delà du forfait : 0 h 30)", day(before))
    );
    assert_eq!(lines[0]["quantity"], "0.5");
    assert_eq!(lines[1]["description"], format!("Absence à la leçon du {}", day(yesterday)));
    assert_eq!(lines[1]["quantity"], "1");
    assert_eq!(made["invoice"]["totals"]["excl_tax"], "75.00");
    assert_eq!(made["invoice"]["totals"]["incl_tax"], "90.00");
    assert_eq!(made["sale"]["minutes"], 90);
    assert_eq!(made["sale"]["label"], "Relevé : 1 h 30 au-delà du forfait");
    assert_eq!(bought_minutes(&app, lea).await, 180);
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "nothing_beyond");
    let pdf = admin.get(&format!("/api/v1/invoices/{}/pdf", made["invoice"]["id"])).await.body.clone();
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Absence à la leçon du") && text.contains("90,00"), "{text}");
    }
    if let Some(read) = facturx_check(&pdf) {
        assert!(read.contains("<ram:GrandTotalAmount>90.00</ram:GrandTotalAmount>"), "{read}");
    }
    // One more hour done; two statements asked at once make one invoice.
    admin
        .post(&format!("/api/v1/school/lessons/{}/outcome", lessons[3]), &json!({ "status": "done" }))
        .await
        .assert_success();
    let requests = [
        admin.authorize(json_request(Method::POST, &path, &json!({}))).await,
        admin.authorize(json_request(Method::POST, &path, &json!({}))).await,
    ];
    let [a, b] = requests.map(|r| tokio::spawn(send(app.router.clone(), r)));
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "{} / {}", a.text(), b.text());
    assert_eq!(bought_minutes(&app, lea).await, 240);
    // A statement is cancelled like a sale: credited, its time taken back.
    let sale = &made["sale"]["id"];
    admin.post(&format!("/api/v1/school/candidates/{lea}/sales/{sale}/cancel"), &json!({})).await.assert_success();
    assert_eq!(bought_minutes(&app, lea).await, 150);
    // The file offers it; another school's candidate is not found.
    let file = html(&admin.get(&format!("/school/candidates/{lea}")).await);
    assert!(file.contains("Facturer ces heures, leçon par leçon"), "{file}");
    app.other_org().await.post(&path, &json!({})).await.assert_status(StatusCode::NOT_FOUND);
}
