//! A French school's administration: a minor enrolled from the first visit to
//! the signed contract with its funding (the file and its checklist, the
//! guardian, the initial evaluation, the contract frozen at signature and its
//! funders' instalments, amendments, the transfer); incomplete files at a
//! glance; the monthly hours and the results by category.

use axum::http::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{at, candidate, instructor, school_day, training_car};
use crate::fixtures::{follow, html, pdf_text};
use crate::helpers::{TestApp, queued_emails};

backend_tests!(
    a_minor_is_enrolled_from_the_first_visit_to_a_signed_contract_with_its_funding,
    a_signed_contract_never_changes_and_two_signatures_at_once_sell_once,
    amendments_and_a_transfer_follow_the_signed_contract,
    incomplete_files_are_listed_at_a_glance_and_on_the_candidates_portal,
    the_file_and_the_contract_refuse_bad_input,
    the_school_produces_its_monthly_hours_and_results_by_category,
    a_manager_enrols_through_the_pages_and_the_candidate_signs_in_her_space
);

/// The school's identity and approval number, and "Forfait B 20 h" at 1 190.00.
async fn school(app: &TestApp) -> i64 {
    let admin = app.as_admin();
    let profile = json!({
        "name": "Auto-école du Port", "address": "8 quai des Belges\n13001 Marseille",
        "registration_number": "732 829 320 00074", "vat_number": "FR44732829320"
    });
    admin.patch("/api/v1/organization", &profile).await.assert_success();
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["approval_number"] = json!("E 21 013 0042 0");
    settings["hour_price"] = json!("55");
    settings["daily_limit_minutes"] = json!(600);
    admin.put("/api/v1/school/settings", &settings).await.assert_success();
    let pack = json!({ "name": "Forfait B 20 h", "driving_minutes": 1200, "price_incl_tax": "1190", "vat_rate": 20 });
    admin.post("/api/v1/school/packs", &pack).await.assert_success().json()["id"].as_i64().expect("pack")
}

/// Zoé Écuyer, 16, with her mother's e-mail on file later.
async fn minor(app: &TestApp) -> i64 {
    let born = school_day(0) - chrono::Duration::days(16 * 365 + 30);
    let body = json!({
        "first_name": "Zoé", "last_name": "Écuyer", "email": "zoe@example.fr", "birth_date": born,
        "address": "14 rue Paradis\n13006 Marseille"
    });
    candidate(app, body).await["id"].as_i64().expect("id")
}

async fn upload(app: &TestApp, candidate: i64, kind: &str) -> i64 {
    let photo = include_bytes!("files/logo.png");
    let admin = app.as_admin();
    let path = format!("/api/v1/school/candidates/{candidate}/documents");
    let response = crate::documents::upload(&admin, &path, &[("kind", kind)], &[("piece.png", photo)]).await;
    response.assert_success().json()[0]["id"].as_i64().expect("document")
}

/// The body that writes a candidate's file back as the API gave it.
fn input_of(file: &Value) -> Value {
    let mut input = json!({});
    for field in [
        "user_id",
        "number",
        "first_name",
        "last_name",
        "email",
        "phone",
        "category",
        "registered_on",
        "theory_status",
        "instructor_id",
        "id_document_number",
        "birth_date",
        "address",
    ] {
        input[field] = file[field].clone();
    }
    input["forecast_minutes"] = file["hours"]["forecast_minutes"].clone();
    input["bought_minutes"] = file["hours"]["bought_minutes"].clone();
    input
}

fn missing(file: &Value) -> Vec<&str> {
    file["missing"].as_array().expect("missing").iter().map(|p| p.as_str().expect("piece")).collect()
}

/// The file of the first visit: NEPH, e-photo, the guardian who consents, the application filed.
fn first_visit() -> Value {
    json!({
        "neph": "1207 7501 2345", "ephoto_code": "ab12-cd34-ef56", "categories_held": ["am"],
        "road_safety": "assr2", "guardian_name": "Claire Écuyer", "guardian_email": "claire.ecuyer@example.fr",
        "guardian_phone": "+33 6 12 34 56 78", "guardian_consent_on": school_day(0),
        "file_submitted_on": school_day(0)
    })
}

async fn evaluate(app: &TestApp, candidate: i64, minutes: i64) {
    let evaluation = json!({ "result": "Bonne coordination,\nappréhension en ville 😅", "forecast_minutes": minutes });
    let path = format!("/api/v1/school/candidates/{candidate}/evaluations");
    app.as_admin().post(&path, &evaluation).await.assert_status(StatusCode::CREATED);
}

/// A contract of the pack: 400 from the CPF, 600 lent by a bank, the rest the candidate's.
fn funded(pack: i64) -> Value {
    json!({
        "pack_id": pack, "instalments": 1, "fundings": [
            { "source": "cpf", "amount": "400", "reference": "CPF-2026-778" },
            { "source": "loan_one_euro", "amount": "600.00", "lender": "Banque Populaire", "expected_on": school_day(30) }
        ]
    })
}

async fn a_minor_is_enrolled_from_the_first_visit_to_a_signed_contract_with_its_funding(app: TestApp) {
    let pack = school(&app).await;
    let zoe = minor(&app).await;
    let admin = app.as_admin();
    let file_path = format!("/api/v1/school/candidates/{zoe}/file");
    let file = admin.get(&file_path).await.assert_success().json();
    assert_eq!(file["minor"], true);
    assert_eq!(file["age"], 16);
    // 16: no JDC yet (17 to 25); the ASSR (born after 1988) and a guardian are asked.
    assert_eq!(missing(&file), ["identity_document", "proof_of_address", "photo", "road_safety", "guardian"]);

    let file = admin.put(&file_path, &first_visit()).await.assert_success().json();
    assert_eq!(file["neph"], "120775012345");
    assert_eq!(file["ephoto_code"], "AB12CD34EF56");
    assert_eq!(file["categories_held"], json!(["AM"]));
    assert_eq!(file["guardian"]["name"], "Claire Écuyer");
    assert_eq!(missing(&file), ["identity_document", "proof_of_address", "road_safety"]);
    for kind in ["identity_document", "proof_of_address", "assr"] {
        upload(&app, zoe, kind).await;
    }
    let file = admin.get(&file_path).await.json();
    assert_eq!((file["complete"].clone(), missing(&file).len()), (json!(true), 0), "{file}");

    // No contract before the initial evaluation.
    let contracts = format!("/api/v1/school/candidates/{zoe}/contracts");
    admin.post(&contracts, &funded(pack)).await.problem(StatusCode::CONFLICT, "evaluation_required");
    evaluate(&app, zoe, 1500).await;
    let candidate = admin.get(&format!("/api/v1/school/candidates/{zoe}")).await.json();
    assert_eq!(candidate["hours"]["forecast_minutes"], 1500);
    // From then on the forecast follows evaluations, not the candidate's form.
    let mut edited = input_of(&candidate);
    edited["forecast_minutes"] = json!(900);
    let refused = admin.put(&format!("/api/v1/school/candidates/{zoe}"), &edited).await;
    assert_eq!(refused.error_fields(), ["forecast_minutes"]);

    let drafted = admin.post(&contracts, &funded(pack)).await;
    drafted.assert_status(StatusCode::CREATED);
    let contract = drafted.json();
    let id = contract["id"].as_i64().expect("id");
    assert_eq!(contract["status"], "draft");
    let terms = &contract["terms"];
    assert_eq!(terms["approval_number"], "E 21 013 0042 0");
    assert_eq!(terms["forecast_minutes"], 1500);
    assert_eq!(terms["minor"], true);
    assert_eq!(terms["guardian_name"], "Claire Écuyer");
    assert_eq!(terms["pack_price"], "1190.00");
    assert_eq!(terms["own_part"], "190.00");
    assert_eq!(terms["cancellation_notice_hours"], 48);
    // One contract under way at a time.
    admin.post(&contracts, &funded(pack)).await.problem(StatusCode::CONFLICT, "contract_open");

    // A minor does not sign alone from her phone: at the school, with her guardian.
    let sign = format!("/api/v1/school/contracts/{id}/sign");
    let user = app.user("zoe@example.fr", &[Role::Candidate]).await;
    let mut linked = input_of(&admin.get(&format!("/api/v1/school/candidates/{zoe}")).await.json());
    linked["user_id"] = json!(user.id);
    admin.put(&format!("/api/v1/school/candidates/{zoe}"), &linked).await.assert_success();
    let alone = json!({ "method": "screen", "candidate_signer": "Zoé Écuyer", "guardian_signer": "Claire Écuyer", "accepted": true });
    app.as_user(&user).await.post(&sign, &alone).await.problem(StatusCode::CONFLICT, "guardian_signs_at_school");
    // A minor's contract is signed by the guardian too, under the names on file.
    let alone = json!({ "method": "screen", "candidate_signer": "Zoé Écuyer", "accepted": true });
    assert_eq!(admin.post(&sign, &alone).await.error_fields(), ["guardian_signer"]);
    let wrong = json!({ "method": "screen", "candidate_signer": "Zoé Martin", "guardian_signer": "Claire Écuyer", "accepted": true });
    assert_eq!(admin.post(&sign, &wrong).await.error_fields(), ["candidate_signer"]);
    let unaccepted =
        json!({ "method": "screen", "candidate_signer": "ecuyer zoe", "guardian_signer": "Claire Ecuyer" });
    assert_eq!(admin.post(&sign, &unaccepted).await.error_fields(), ["accepted"]);
    let signed = admin
        .post(&sign, &json!({ "method": "screen", "candidate_signer": "ecuyer zoe", "guardian_signer": "Claire Ecuyer", "accepted": true }))
        .await;
    let signed = signed.assert_success().json();
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["signature"]["method"], "screen");
    assert_eq!(signed["signature"]["candidate_signer"], "ecuyer zoe");
    assert_eq!(signed["signature"]["guardian_signer"], "Claire Ecuyer");
    assert!(signed["signature"]["signed_at"].is_string());

    // The pack is sold: the funders' parts first in the invoice's schedule, the rest the candidate's.
    let account = admin.get(&format!("/api/v1/school/candidates/{zoe}/account")).await.json();
    assert_eq!(account["sales"][0]["id"], signed["sale_id"]);
    let schedule = account["invoices"][0]["instalments"].as_array().expect("schedule").clone();
    let parts: Vec<(String, Option<String>)> = schedule
        .iter()
        .map(|i| (i["amount"].as_str().unwrap().to_owned(), i["payer"].as_str().map(str::to_owned)))
        .collect();
    // Her part first (what she pays settles it), then each funder's, named.
    assert_eq!(
        parts,
        [
            ("190.00".to_owned(), None),
            ("400.00".to_owned(), Some("CPF CPF-2026-778".to_owned())),
            ("600.00".to_owned(), Some("Permis à 1 € par jour — Banque Populaire".to_owned())),
        ]
    );
    // She owes her part only, and once she paid it, nothing: the funders' parts are theirs.
    assert_eq!(account["due_now"], "190.00");
    let invoice_id = account["invoices"][0]["id"].as_i64().expect("invoice");
    let payment = json!({ "method": "card", "amount": "190" });
    admin.post(&format!("/api/v1/invoices/{invoice_id}/payments"), &payment).await.assert_success();
    let account = admin.get(&format!("/api/v1/school/candidates/{zoe}/account")).await.json();
    assert_eq!(account["due_now"], "0.00");
    assert_eq!(account["invoices"][0]["instalments"][0]["state"], "paid");
    assert_eq!(account["invoices"][0]["instalments"][1]["state"], "due");
    // Who pays a part is frozen with the issued invoice.
    let tamper = app
        .db
        .execute_unprepared(&format!("UPDATE invoice_instalments SET payer = 'Zoé' WHERE invoice_id = {invoice_id}"))
        .await;
    assert!(tamper.is_err(), "the payer of an issued invoice's instalment changed");
    let candidate = admin.get(&format!("/api/v1/school/candidates/{zoe}")).await.json();
    assert_eq!(candidate["hours"]["bought_minutes"], 1200);

    // The PDF states the legal clauses, as an independent reader extracts them.
    let pdf = admin.get(&format!("/api/v1/school/contracts/{id}/pdf")).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    if let Some(text) = pdf_text(&pdf.body) {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "L213-2",
            "E 21 013 0042 0",
            "Zoé Écuyer",
            "Claire Écuyer",
            "25 h",
            "1 190,00",
            "190,00",
            "Banque Populaire",
            "CPF-2026-778",
            "48 heures",
            "appréhension en ville",
            "Signé par ecuyer zoe",
        ] {
            assert!(flat.contains(expected), "{expected} missing from:\n{flat}");
        }
    }

    // The guardian receives a copy of the candidate's notices.
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let booking = json!({ "candidate_id": zoe, "instructor_id": teacher, "vehicle_id": car, "starts_at": at(3, 10, 0), "ends_at": at(3, 11, 0) });
    admin.post("/api/v1/school/lessons", &booking).await.assert_status(StatusCode::CREATED);
    let mails = queued_emails(&app, 10).await;
    let to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert!(to.contains(&"claire.ecuyer@example.fr") && to.contains(&"zoe@example.fr"), "{to:?}");
    let copies: Vec<_> = mails.iter().filter(|m| m.to == "claire.ecuyer@example.fr").collect();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].subject, mails.iter().find(|m| m.to == "zoe@example.fr").expect("hers").subject);

    // The audit trail records the signature, never the guardian's contact.
    let audit = admin.get("/api/v1/audit?entity_type=candidate_file").await.text();
    assert!(audit.contains("120775012345"), "{audit}");
    assert!(!audit.contains("claire.ecuyer@example.fr"), "{audit}");
}

async fn a_signed_contract_never_changes_and_two_signatures_at_once_sell_once(app: TestApp) {
    let pack = school(&app).await;
    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Martin", "birth_date": "1990-04-02" })).await
        ["id"]
        .as_i64()
        .expect("id");
    evaluate(&app, lea, 1200).await;
    let admin = app.as_admin();
    let contracts = format!("/api/v1/school/candidates/{lea}/contracts");
    // Two drafts at once: one contract under way.
    let body = json!({ "pack_id": pack });
    let (a, b) = tokio::join!(admin.post(&contracts, &body), admin.post(&contracts, &body));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let id =
        [a, b].into_iter().find(|r| r.status == StatusCode::CREATED).expect("one").json()["id"].as_i64().expect("id");

    // What is signed is what was read: terms changed since give 409.
    let sign = format!("/api/v1/school/contracts/{id}/sign");
    let read = admin.get(&format!("/api/v1/school/contracts/{id}")).await.json()["terms_digest"].clone();
    admin
        .put(&format!("/api/v1/school/contracts/{id}"), &json!({ "pack_id": pack, "instalments": 2 }))
        .await
        .assert_success();
    let stale = json!({ "method": "screen", "candidate_signer": "Léa Martin", "accepted": true, "terms_digest": read });
    admin.post(&sign, &stale).await.problem(StatusCode::CONFLICT, "contract_changed");
    // Two signatures at once: one signs and sells, the other is refused; one sale.
    let body = json!({ "method": "screen", "candidate_signer": "Léa Martin", "accepted": true });
    let (a, b) = tokio::join!(admin.post(&sign, &body), admin.post(&sign, &body));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let account = admin.get(&format!("/api/v1/school/candidates/{lea}/account")).await.json();
    assert_eq!(account["sales"].as_array().map(Vec::len), Some(1));

    // A signed contract is not edited, nor deleted: changes are amendments.
    let path = format!("/api/v1/school/contracts/{id}");
    admin
        .put(&path, &json!({ "pack_id": pack, "instalments": 3 }))
        .await
        .problem(StatusCode::CONFLICT, "contract_signed");
    admin.delete(&path).await.problem(StatusCode::CONFLICT, "contract_signed");
    // The database holds it too, whoever writes.
    let tamper =
        app.db.execute_unprepared(&format!("UPDATE school_contracts SET instalments = 3 WHERE id = {id}")).await;
    assert!(tamper.is_err(), "a signed contract was changed");
    let tamper =
        app.db.execute_unprepared(&format!("DELETE FROM school_contract_fundings WHERE contract_id = {id}")).await;
    assert!(tamper.is_ok(), "no funding row to delete is fine");
    let tamper = app
        .db
        .execute_unprepared(&format!(
            "INSERT INTO school_contract_fundings (organization_id, contract_id, source, amount_minor) VALUES ({}, {id}, 'cpf', 100)",
            app.org.get()
        ))
        .await;
    assert!(tamper.is_err(), "a funding was added to a signed contract");
    // Its terms stay as signed when the school's prices change.
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["hour_price"] = json!("70");
    admin.put("/api/v1/school/settings", &settings).await.assert_success();
    assert_eq!(admin.get(&path).await.json()["terms"]["hour_price"], "55.00");
}

async fn amendments_and_a_transfer_follow_the_signed_contract(app: TestApp) {
    let pack = school(&app).await;
    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Martin", "birth_date": "1990-04-02" })).await
        ["id"]
        .as_i64()
        .expect("id");
    evaluate(&app, lea, 1200).await;
    let admin = app.as_admin();
    let id = admin
        .post(&format!("/api/v1/school/candidates/{lea}/contracts"), &json!({ "pack_id": pack }))
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let path = format!("/api/v1/school/contracts/{id}");
    // Amending a draft is refused: a draft is simply changed.
    let amend = format!("{path}/amendments");
    let more = json!({ "summary": "10 heures de plus,\nsuite au bilan 🚗", "forecast_minutes": 1800, "pack_id": pack });
    admin.post(&amend, &more).await.problem(StatusCode::CONFLICT, "contract_not_signed");
    let signature = json!({ "method": "screen", "candidate_signer": "Léa Martin", "accepted": true });
    admin.post(&format!("{path}/sign"), &signature).await.assert_success();

    let amended = admin.post(&amend, &more).await;
    amended.assert_status(StatusCode::CREATED);
    let amendment = &amended.json()["amendments"][0];
    assert_eq!((amendment["position"].clone(), amendment["status"].clone()), (json!(1), json!("draft")));
    admin.post(&amend, &more).await.problem(StatusCode::CONFLICT, "amendment_open");
    // A draft amendment made by mistake is deleted, and made again.
    let mistaken = amendment["id"].as_i64().expect("id");
    admin.delete(&format!("/api/v1/school/amendments/{mistaken}")).await.assert_status(StatusCode::NO_CONTENT);
    let amended = admin.post(&amend, &more).await;
    amended.assert_status(StatusCode::CREATED);
    let amendment = &amended.json()["amendments"][0];
    assert_eq!(amendment["position"], 1);
    let amendment_id = amendment["id"].as_i64().expect("id");
    let sign = format!("/api/v1/school/amendments/{amendment_id}/sign");
    // On paper: the scan must be one of the candidate's signed contracts.
    let photo = upload(&app, lea, "photo").await;
    let paper = json!({ "method": "paper", "candidate_signer": "Léa Martin", "document_id": photo });
    assert_eq!(admin.post(&sign, &paper).await.error_fields(), ["document_id"]);
    let scan = upload(&app, lea, "training_contract").await;
    let paper = json!({ "method": "paper", "candidate_signer": "Léa Martin", "document_id": scan });
    let contract = admin.post(&sign, &paper).await.assert_success().json();
    assert_eq!(contract["amendments"][0]["signature"]["scan_document_id"], scan);
    admin.post(&sign, &paper).await.problem(StatusCode::CONFLICT, "amendment_signed");
    admin
        .delete(&format!("/api/v1/school/amendments/{amendment_id}"))
        .await
        .problem(StatusCode::CONFLICT, "amendment_signed");
    // The signed paper is kept as long as the amendment that names it.
    admin.delete(&format!("/api/v1/documents/{scan}")).await.problem(StatusCode::CONFLICT, "attachment_kept");
    let file = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json();
    assert_eq!(file["hours"]["forecast_minutes"], 1800);
    assert_eq!(file["hours"]["bought_minutes"], 2400);
    // The contract's own terms are untouched by the amendment.
    assert_eq!(contract["terms"]["forecast_minutes"], 1200);

    // The candidate leaves: the transfer names the next school, then her record goes with her.
    let end = format!("{path}/end");
    assert_eq!(admin.post(&end, &json!({ "reason": "transfer" })).await.error_fields(), ["note"]);
    let ended = admin.post(&end, &json!({ "reason": "transfer", "note": "Auto-école des Alpes, Gap" })).await;
    let ended = ended.assert_success().json();
    assert_eq!((ended["status"].clone(), ended["end_reason"].clone()), (json!("ended"), json!("transfer")));
    admin.post(&end, &json!({ "reason": "completed" })).await.problem(StatusCode::CONFLICT, "contract_not_signed");
    let record = admin.get(&format!("/api/v1/school/candidates/{lea}/learning-record")).await.assert_success().json();
    assert_eq!(record["format"], "volant.learning-record/1");
    assert_eq!(record["candidate_name"], "Léa Martin");
    assert_eq!(record["approval_number"], "E 21 013 0042 0");
    assert_eq!(record["evaluations"][0]["forecast_minutes"], 1200);
    assert_eq!(record["grid"].as_array().map(Vec::len), Some(4));
    let manager = app.as_role(Role::Manager).await;
    let pdf = manager.get(&format!("/school/candidates/{lea}/learning-record.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    if let Some(text) = pdf_text(&pdf.body) {
        assert!(text.contains("Léa Martin") && text.contains("C1"), "{text}");
    }
    // With the contract ended, a new one may be drafted.
    admin
        .post(&format!("/api/v1/school/candidates/{lea}/contracts"), &json!({ "pack_id": pack }))
        .await
        .assert_status(StatusCode::CREATED);
}

async fn incomplete_files_are_listed_at_a_glance_and_on_the_candidates_portal(app: TestApp) {
    let admin = app.as_admin();
    // An adult of 45 for B: identity, proof of address and photo only.
    let done = candidate(&app, json!({ "first_name": "Paul", "last_name": "Complet", "birth_date": "1981-05-05" }))
        .await["id"]
        .as_i64()
        .expect("id");
    for kind in ["identity_document", "proof_of_address", "photo"] {
        upload(&app, done, kind).await;
    }
    // 20 for C: the medical certificate, the JDC and the ASSR too.
    let born = school_day(0) - chrono::Duration::days(20 * 365 + 10);
    let body = json!({ "first_name": "Inès", "last_name": "Lourd", "birth_date": born, "category": "C", "email": "ines@example.fr" });
    let heavy = candidate(&app, body).await["id"].as_i64().expect("id");
    upload(&app, heavy, "identity_document").await;
    // An expired proof of address does not count.
    let photo = include_bytes!("files/logo.png");
    let path = format!("/api/v1/school/candidates/{heavy}/documents");
    let fields = [("kind", "proof_of_address"), ("expires_on", "2020-01-01")];
    crate::documents::upload(&admin, &path, &fields, &[("old.png", photo)]).await.assert_success();

    let list = admin.get("/api/v1/school/incomplete-files").await.assert_success().json();
    let rows = list.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["candidate_id"], heavy);
    assert_eq!(missing(&rows[0]), ["proof_of_address", "photo", "road_safety", "medical_certificate", "jdc"]);

    let manager = app.as_role(Role::Manager).await;
    let page = html(&manager.get("/school/files").await);
    assert!(page.contains("Inès Lourd") && !page.contains("Paul Complet"), "{page}");
    assert!(page.contains("Certificat médical") && page.contains("Certificat JDC"), "{page}");
    let file_page = html(&manager.get(&format!("/school/candidates/{heavy}")).await);
    assert!(file_page.contains("Dossier incomplet : 5 pièce(s) manquante(s)."), "{file_page}");

    // Her own space says what to bring.
    let user = app.user("ines@example.fr", &[Role::Candidate]).await;
    let mut file = input_of(&admin.get(&format!("/api/v1/school/candidates/{heavy}")).await.json());
    file["user_id"] = json!(user.id);
    admin.put(&format!("/api/v1/school/candidates/{heavy}"), &file).await.assert_success();
    let portal = html(&app.as_user(&user).await.get("/portal").await);
    assert!(portal.contains("Il manque des pièces") && portal.contains("Certificat JDC"), "{portal}");
}

async fn the_file_and_the_contract_refuse_bad_input(app: TestApp) {
    let pack = school(&app).await;
    let admin = app.as_admin();
    let lea = candidate(&app, json!({ "birth_date": "1990-04-02" })).await["id"].as_i64().expect("id");
    let other = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    let file = format!("/api/v1/school/candidates/{lea}/file");
    let bad = json!({
        "neph": "12345", "ephoto_code": "x", "categories_held": ["Z"], "guardian_email": "pas-un-mail",
        "file_submitted_on": school_day(2), "theory_booked_on": school_day(-1), "theory_passed_on": school_day(-3)
    });
    let mut fields = admin.put(&file, &bad).await.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "categories_held",
            "ephoto_code",
            "file_submitted_on",
            "guardian_email",
            "guardian_name",
            "neph",
            "theory_passed_on"
        ]
    );
    // A NEPH names one person.
    admin.put(&file, &json!({ "neph": "120775012345" })).await.assert_success();
    admin
        .put(&format!("/api/v1/school/candidates/{other}/file"), &json!({ "neph": "120775012345" }))
        .await
        .problem(StatusCode::CONFLICT, "neph_taken");
    // Evaluations: a result, a forecast in range, a past day.
    let evaluations = format!("/api/v1/school/candidates/{lea}/evaluations");
    let bad = json!({ "forecast_minutes": 30, "evaluated_on": school_day(3), "instructor_id": 999_999 });
    let mut fields = admin.post(&evaluations, &bad).await.error_fields();
    fields.sort();
    assert_eq!(fields, ["evaluated_on", "forecast_minutes", "instructor_id", "result"]);
    evaluate(&app, lea, 1200).await;
    // Contracts: the funding checked row by row, never beyond the price.
    let contracts = format!("/api/v1/school/candidates/{lea}/contracts");
    let bad = json!({ "pack_id": pack, "instalments": 13, "fundings": [
        { "source": "cpf", "amount": "100" },
        { "source": "loan_one_euro", "amount": "-5" },
        { "amount": "10" }
    ] });
    let mut fields = admin.post(&contracts, &bad).await.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["fundings[0].reference", "fundings[1].amount", "fundings[1].lender", "fundings[2].source", "instalments"]
    );
    let beyond = json!({ "pack_id": pack, "fundings": [{ "source": "local_grant", "amount": "1190.01", "reference": "Région Sud" }] });
    assert_eq!(admin.post(&contracts, &beyond).await.error_fields(), ["fundings"]);
    // Someone else's contract is not theirs to read or sign.
    let id = admin.post(&contracts, &json!({ "pack_id": pack })).await.json()["id"].as_i64().expect("id");
    // Without the school's approval number, a contract lacks a mandatory clause: not signed.
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["approval_number"] = Value::Null;
    admin.put("/api/v1/school/settings", &settings).await.assert_success();
    let complete = json!({ "method": "screen", "candidate_signer": admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json()["first_name"], "accepted": true });
    admin
        .post(&format!("/api/v1/school/contracts/{id}/sign"), &complete)
        .await
        .problem(StatusCode::CONFLICT, "school_terms_missing");
    let them = app.other_org().await;
    them.get(&format!("/api/v1/school/contracts/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
    let user = app.user("autre@example.fr", &[Role::Candidate]).await;
    let stranger = app.as_user(&user).await;
    stranger.get(&format!("/api/v1/school/contracts/{id}")).await.problem(StatusCode::NOT_FOUND, "not_found");
    let body = json!({ "method": "screen", "candidate_signer": "Léa X", "accepted": true });
    stranger
        .post(&format!("/api/v1/school/contracts/{id}/sign"), &body)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    // An instructor does not sign contracts.
    let teacher = app.as_role(Role::Instructor).await;
    teacher
        .post(&format!("/api/v1/school/contracts/{id}/sign"), &body)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn the_school_produces_its_monthly_hours_and_results_by_category(app: TestApp) {
    let admin = app.as_admin();
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["daily_limit_minutes"] = json!(600);
    admin.put("/api/v1/school/settings", &settings).await.assert_success();
    let teacher = instructor(&app, &["B", "A"]).await;
    let car = training_car(&app, "B").await;
    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Heures" })).await["id"].as_i64().expect("id");
    let tom = candidate(&app, json!({ "first_name": "Tom", "last_name": "Heures" })).await["id"].as_i64().expect("id");
    let mut done = 0;
    for (who, hour) in [(lea, 9), (lea, 13), (tom, 16)] {
        let booking = json!({ "candidate_id": who, "instructor_id": teacher, "vehicle_id": car, "starts_at": at(-1, hour, 0), "ends_at": at(-1, hour + 1, 30) });
        let lesson = admin.post("/api/v1/school/lessons", &booking).await;
        let lesson = lesson.assert_success().json()["id"].as_i64().expect("id");
        admin
            .post(&format!("/api/v1/school/lessons/{lesson}/outcome"), &json!({ "status": "done" }))
            .await
            .assert_success();
        done += 90;
    }
    assert_eq!(done, 270);
    let month = school_day(-1).format("%Y-%m").to_string();
    let (from, to) = (school_day(-40), school_day(0));
    let report = admin.get(&format!("/api/v1/school/report-data/monthly_hours?from={from}&to={to}")).await;
    let rows = report.assert_success().json()["rows"].clone();
    let rows: Vec<Vec<&str>> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], month);
    assert_eq!((rows[0][1], rows[0][3], rows[0][4]), ("Moniteur", "4.50", "3"));
    assert_eq!((rows[1][2], rows[1][3], rows[1][4]), ("Léa Heures", "3.00", "2"));
    assert_eq!((rows[2][2], rows[2][3]), ("Tom Heures", "1.50"));

    // Two B theory results validated (one failed), one A pending: counted by category.
    let second = app.user("second@volant.test", &[Role::Manager]).await;
    let validator = app.as_user(&second).await;
    for (who, outcome) in [(lea, "passed"), (tom, "failed")] {
        let result =
            json!({ "candidate_id": who, "exam_type": "theory", "outcome": outcome, "taken_on": school_day(-1) });
        let id =
            admin.post("/api/v1/school/exam-results", &result).await.assert_success().json()["id"].as_i64().unwrap();
        validator.post(&format!("/api/v1/school/exam-results/{id}/validate"), &json!({})).await.assert_success();
    }
    let report = admin.get(&format!("/api/v1/school/report-data/exam_categories?from={from}&to={to}")).await;
    let rows = report.assert_success().json()["rows"].clone();
    assert_eq!(rows, json!([["B", "Code", "2", "1", "1", "50.0"]]));
    // The files are produced like every report's: CSV here.
    let asked = admin
        .post("/api/v1/school/reports", &json!({ "kind": "monthly_hours", "format": "csv", "from": from, "to": to }))
        .await;
    let id = asked.assert_status(StatusCode::ACCEPTED).json()["id"].as_i64().expect("id");
    app.run_jobs().await;
    let csv = admin.get(&format!("/api/v1/school/reports/{id}/file")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert!(csv.text().contains("Léa Heures"), "{}", csv.text());
}

async fn a_manager_enrols_through_the_pages_and_the_candidate_signs_in_her_space(app: TestApp) {
    let pack = school(&app).await;
    let manager = app.as_role(Role::Manager).await;
    let lea = candidate(
        &app,
        json!({ "first_name": "Léa", "last_name": "D'Aubigné", "birth_date": "1999-03-01", "email": "lea@example.fr" }),
    )
    .await["id"]
        .as_i64()
        .expect("id");
    let teacher = instructor(&app, &["B"]).await;
    // The file's form: dates and a NEPH typed with spaces; errors beside their fields.
    let form = format!("/school/candidates/{lea}/file");
    let refused = manager.post_form(&form, &[("neph", "123"), ("file_submitted_on", "demain")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let saved = manager
        .post_form(
            &form,
            &[("neph", "1207 7501 2345"), ("categories_held", "AM"), ("file_submitted_on", &school_day(0).to_string())],
        )
        .await;
    let page = html(&follow(&app, &saved).await);
    assert!(page.contains("120775012345") && page.contains("Dossier administratif enregistré."), "{page}");
    // The evaluation in French hours.
    let evaluation = format!("/school/candidates/{lea}/evaluation");
    let fields = [
        ("evaluated_on", school_day(0).to_string()),
        ("instructor_id", teacher.to_string()),
        ("result", "Bon départ,\nà l'aise 👍".to_owned()),
        ("forecast_hours", "25,5".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    follow(&app, &manager.post_form(&evaluation, &fields).await).await;
    let file = app.as_admin().get(&format!("/api/v1/school/candidates/{lea}")).await.json();
    assert_eq!(file["hours"]["forecast_minutes"], 1530);
    // The contract's form: a CPF row, the rest in 3 instalments.
    let pack = pack.to_string();
    let due = school_day(0).to_string();
    let fields = [
        ("pack_id", pack.as_str()),
        ("instalments", "3"),
        ("first_due_on", due.as_str()),
        ("source", "cpf"),
        ("amount", "500,00"),
        ("reference", "CPF-1"),
        ("lender", ""),
        ("expected_on", ""),
        ("source", ""),
        ("amount", ""),
        ("reference", ""),
        ("lender", ""),
        ("expected_on", ""),
    ];
    let drafted = manager.post_form(&format!("/school/candidates/{lea}/contract"), &fields).await;
    assert_eq!(drafted.status, StatusCode::SEE_OTHER, "{}", drafted.text());
    let location = drafted.header("location").expect("location").to_owned();
    let contract_id: i64 = location.rsplit('/').next().unwrap().parse().expect("id");
    let page = html(&follow(&app, &drafted).await);
    assert!(page.contains("Projet") && page.contains("690,00"), "{page}");

    // The candidate signs from her space on her phone: typing her name.
    let user = app.user("lea@example.fr", &[Role::Candidate]).await;
    let mut file = input_of(&app.as_admin().get(&format!("/api/v1/school/candidates/{lea}")).await.json());
    file["user_id"] = json!(user.id);
    app.as_admin().put(&format!("/api/v1/school/candidates/{lea}"), &file).await.assert_success();
    let her = app.as_user(&user).await;
    let portal = html(&her.get("/portal").await);
    assert!(portal.contains(&format!("/portal/contracts/{contract_id}")), "{portal}");
    let sign = format!("/portal/contracts/{contract_id}");
    let refused = her.post_form(&sign, &[("candidate_signer", "Léa Daubigné"), ("accepted", "on")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("Le nom doit être celui du dossier : Léa D'Aubigné."));
    let signed =
        her.post_form(&sign, &[("candidate_signer", "léa d'aubigné"), ("accepted", "on"), ("method", "paper")]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text());
    let contract = app.as_admin().get(&format!("/api/v1/school/contracts/{contract_id}")).await.json();
    assert_eq!(contract["status"], "signed");
    assert_eq!(contract["signature"]["method"], "screen");
    assert_eq!(contract["signature"]["recorded_by"], user.id);
    let pdf = her.get(&format!("/portal/contracts/{contract_id}/contract.pdf")).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    // Another candidate's contract is not hers.
    let other = app.user("autre@example.fr", &[Role::Candidate]).await;
    assert_eq!(app.as_user(&other).await.get(&sign).await.status, StatusCode::NOT_FOUND);
}
