//! Tenant isolation generated from the OpenAPI document and the page table: every
//! operation and every page whose path names a row, called by another
//! organization's administrator with the id of one of our rows, is a 404 and
//! leaves our row as it was. A path naming a row the sweep does not know how to
//! make, or with a parameter it does not know how to fill, fails the sweep: a new
//! route cannot slip by untested. The hand-written tenant tests of each domain
//! check the rest (references in bodies, lists, dashboards, exports).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use volant::identity::auth::web_pages::Access;

use crate::backend_tests;
use crate::fixtures::fleet::vehicle_json;
use crate::fixtures::school::{at, candidate, instructor, training_car};
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, TestClient, TestResponse};

/// The kinds of rows of ours a path can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Garage,
    Vehicle,
    Client,
    Intervention,
    Alert,
    Quote,
    Invoice,
    Job,
    Token,
    Notification,
    User,
    Candidate,
    Instructor,
    TrainingCar,
    Lesson,
    Thread,
    ExamSession,
    ExamResult,
    Report,
    CatalogueItem,
    Pack,
    PackSale,
    Document,
    Webhook,
    WebhookDelivery,
    Import,
    PushDevice,
    MeetingPoint,
    Contract,
    Amendment,
}

/// Which row a path's `{id}` names, by the beginning of the path (API paths
/// without `/api/v1`); the longest beginning that matches wins.
const ROWS_BY_PATH: &[(&str, Row)] = &[
    ("/garages/", Row::Garage),
    ("/vehicles/", Row::Vehicle),
    ("/clients/", Row::Client),
    ("/interventions/", Row::Intervention),
    ("/alerts/", Row::Alert),
    ("/quotes/", Row::Quote),
    ("/invoices/", Row::Invoice),
    ("/portal/invoices/", Row::Invoice),
    ("/school/packs/", Row::Pack),
    ("/admin/jobs/", Row::Job),
    ("/auth/tokens/", Row::Token),
    ("/profile/tokens/", Row::Token),
    ("/notifications/", Row::Notification),
    ("/users/", Row::User),
    ("/admin/users/", Row::User),
    ("/school/candidates/", Row::Candidate),
    ("/school/instructors/", Row::Instructor),
    ("/school/vehicles/", Row::TrainingCar),
    ("/school/lessons/", Row::Lesson),
    ("/school/threads/", Row::Thread),
    ("/messages/", Row::Thread),
    ("/school/exam-sessions/", Row::ExamSession),
    ("/school/exams/sessions/", Row::ExamSession),
    ("/school/exam-results/", Row::ExamResult),
    ("/school/exams/results/", Row::ExamResult),
    ("/school/results/", Row::ExamResult),
    ("/school/reports/files/", Row::Report),
    ("/school/reports/", Row::Report),
    ("/catalogue/", Row::CatalogueItem),
    ("/workshop/catalogue/", Row::CatalogueItem),
    ("/documents/", Row::Document),
    ("/webhooks/", Row::Webhook),
    ("/admin/webhooks/", Row::Webhook),
    ("/imports/", Row::Import),
    ("/push/devices/", Row::PushDevice),
    ("/notifications/push/", Row::PushDevice),
    ("/school/meeting-points/", Row::MeetingPoint),
    ("/school/contracts/", Row::Contract),
    ("/portal/contracts/", Row::Contract),
    ("/school/amendments/", Row::Amendment),
];

/// Path parameters that name no row: the value the sweep gives them.
const NOT_ROWS: &[(&str, &str)] = &[
    // A maintenance rule's kind: a setting, the same for every organization.
    ("kind", "oil_service"),
    // A share link's, a calendar's or an unsubscribe link's secret (public pages).
    ("token", "0000"),
    ("file", "0000.ics"),
    // A password link's secret (a public page).
    ("secret", "0000"),
    // A single sign-on provider's callback address (a public page).
    ("key", "0000"),
];

/// A report kind, for `/school/report-data/{kind}`.
const REPORT_KIND: &str = "pass_rates";

fn row_of(path: &str) -> Option<Row> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    ROWS_BY_PATH
        .iter()
        .filter(|(start, _)| path.starts_with(start))
        .max_by_key(|(start, _)| start.len())
        .map(|&(_, row)| row)
}

/// The parameters of a path, in order.
fn parameters(path: &str) -> Vec<&str> {
    path.split('{').skip(1).map(|rest| rest.split('}').next().expect("a closed parameter")).collect()
}

fn names_a_row(parameter: &str) -> bool {
    parameter == "id" || parameter.ends_with("_id")
}

/// The path with every parameter filled with one of our rows (`None` when it
/// names no row); panics on a path the sweep does not know.
fn concrete(path: &str, ours: &BTreeMap<Row, i64>) -> Option<(String, Row)> {
    let params = parameters(path);
    if !params.iter().any(|p| names_a_row(p)) {
        for param in params {
            let known =
                NOT_ROWS.iter().any(|(name, _)| *name == param) || (param == "kind" && path.contains("/report-data/"));
            assert!(known, "{path}: the tenant sweep does not know the parameter {{{param}}}");
        }
        return None;
    }
    let row =
        row_of(path).unwrap_or_else(|| panic!("{path}: the tenant sweep does not know which row this path names"));
    let mut filled = path.to_owned();
    for param in params {
        let value = match param {
            "id" => ours[&row].to_string(),
            "vehicle_id" => ours[&Row::Vehicle].to_string(),
            "sale_id" => ours[&Row::PackSale].to_string(),
            "delivery_id" => ours[&Row::WebhookDelivery].to_string(),
            "kind" if path.contains("/report-data/") => REPORT_KIND.to_owned(),
            other => match NOT_ROWS.iter().find(|(name, _)| *name == other) {
                Some((_, value)) => (*value).to_owned(),
                None => panic!("{path}: the tenant sweep does not know the parameter {{{other}}}"),
            },
        };
        filled = filled.replace(&format!("{{{param}}}"), &value);
    }
    Some((filled, row))
}

/// One row of each kind in our organization (the default one), as its administrator made them.
async fn our_rows(app: &TestApp) -> BTreeMap<Row, i64> {
    let admin = app.as_admin();
    let id = |response: &TestResponse| response.assert_success().json()["id"].as_i64().expect("id");
    let garage = app.garage("Notre garage").await;
    let vehicle = app.vehicle(garage, "TS-100-AA").await;
    let owner = client(app, json!({ "name": "Client A", "email": "a@exemple.fr" })).await;
    admin.post(&format!("/api/v1/clients/{owner}/vehicles"), &json!({ "vehicle_id": vehicle })).await.assert_success();
    let lines = json!([{ "description": "Vidange", "unit_price": "10" }]);
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": owner,
                "vehicle_id": vehicle,
                "lines": lines
            }),
        )
        .await;
    let quote = id(&quote);
    admin.post(&format!("/api/v1/quotes/{quote}/send"), &json!({})).await.assert_success();
    let profile = json!({ "address": "1 rue A\n75001 Paris", "registration_number": "73282932000074", "vat_number": "FR44732829320" });
    admin.patch("/api/v1/organization", &profile).await.assert_success();
    let invoice = id(&admin.post("/api/v1/invoices", &json!({ "client_id": owner, "lines": lines })).await);
    admin.post(&format!("/api/v1/invoices/{invoice}/issue"), &json!({})).await.assert_success();
    let work = json!({ "vehicle_id": vehicle, "description": "Vidange", "mileage_km": 90_000 });
    let intervention = id(&admin.post("/api/v1/interventions", &work).await);
    let alert = admin.get("/api/v1/alerts").await.assert_success().json()[0]["id"].as_i64().expect("an alert");

    let job = {
        use volant::platform::jobs::{self, NewJob, Registry};
        let job = NewJob::new("test.ours", json!({})).for_org(app.org).max_attempts(1);
        let job = jobs::enqueue(&app.db, job).await.expect("enqueue").expect("a job");
        jobs::run_until_idle(&app.db, &Registry::default()).await.expect("run");
        job
    };
    let token = id(&admin.post("/api/v1/auth/tokens", &json!({ "name": "Comptabilité" })).await);
    let (webhook, webhook_delivery) = {
        use volant::notify::webhooks::{self, EndpointInput, WebhookEvent};
        let actor = volant::identity::audit::Actor {
            user_id: Some(app.admin().await.id),
            ..volant::identity::audit::Actor::system(app.org)
        };
        let input = EndpointInput {
            url: Some("http://127.0.0.1:9/hooks".into()),
            description: Some("ERP".into()),
            events: Some(vec![WebhookEvent::QuoteSent]),
        };
        // Private hosts allowed here: the sweep needs the row, not a receiver.
        let made = webhooks::create(&app.db, (&app.state.cipher, true), &actor, &input).await.expect("endpoint");
        let delivery = webhooks::ping(&app.db, app.org, made.endpoint.id).await.expect("ping");
        (made.endpoint.id, delivery.id)
    };
    let notification = {
        use volant::notify::model::{Event, Notice};
        let mut notice = Notice::new(Event::QuoteSent, "Devis envoyé", "Le devis est parti.");
        notice.user_id = Some(app.admin().await.id);
        volant::notify::service::send(&app.db, app.org, notice).await.expect("notify").notification_id
    };
    let user = app.user("collegue@volant.test", &[volant::identity::roles::Role::Staff]).await.id;
    let device = {
        use volant::notify::push::{SubscriptionInput, SubscriptionKeys};
        let input = SubscriptionInput {
            endpoint: Some("http://127.0.0.1:9/push/ours".into()),
            keys: Some(SubscriptionKeys {
                p256dh: Some(
                    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4".into(),
                ),
                auth: Some("BTBZMqHH6r4Tts7J_aSIgg".into()),
            }),
            device: Some("Android · Chrome".into()),
        };
        // Private hosts allowed here: the sweep needs the row, not a push service.
        volant::notify::push::subscribe(&app.db, app.org, app.admin().await.id, &input, true).await.expect("device").id
    };

    let point = json!({ "name": "Gare", "address": "Place de la Gare", "latitude": 45.76, "longitude": 4.86 });
    let meeting_point = id(&admin.post("/api/v1/school/meeting-points", &point).await);
    let teacher = instructor(app, &["B"]).await;
    let car = training_car(app, "B").await;
    let lea = candidate(app, json!({ "id_document_number": "X1" })).await["id"].as_i64().expect("candidate");
    let booking = json!({
        "candidate_id": lea,
        "instructor_id": teacher,
        "vehicle_id": car,
        "starts_at": at(2, 10, 0),
        "ends_at": at(2, 11, 0)
    });
    let lesson = id(&admin.post("/api/v1/school/lessons", &booking).await);
    let thread = json!({ "candidate_id": lea, "subject": "Dossier", "body": "Pièces à fournir" });
    let thread = id(&admin.post("/api/v1/school/threads", &thread).await);
    let session = json!({ "kind": "theory", "starts_at": at(20, 8, 0), "centre": "Centre", "seats": 5 });
    let session = id(&admin.post("/api/v1/school/exam-sessions", &session).await);
    let result = json!({ "candidate_id": lea, "exam_type": "theory", "outcome": "passed" });
    let result = id(&admin.post("/api/v1/school/exam-results", &result).await);
    let report = id(&admin.post("/api/v1/school/reports", &json!({ "kind": REPORT_KIND, "format": "csv" })).await);
    let item =
        id(&admin.post("/api/v1/catalogue", &json!({ "description": "Filtre à air", "unit_price": "18" })).await);
    let pack = json!({ "name": "Forfait 20 h", "driving_minutes": 1200, "unit_price": "900" });
    let pack = id(&admin.post("/api/v1/school/packs", &pack).await);
    let sale = admin.post(&format!("/api/v1/school/candidates/{lea}/sales"), &json!({ "pack_id": pack })).await;
    let sale = sale.assert_success().json()["sale"]["id"].as_i64().expect("sale");
    // A signed contract for Léa, and an amendment waiting for its signature.
    let mut rules = admin.get("/api/v1/school/settings").await.json();
    (rules["approval_number"], rules["hour_price"]) = (json!("E 21 013 0042 0"), json!("55"));
    admin.put("/api/v1/school/settings", &rules).await.assert_success();
    let evaluation = json!({ "result": "Bonne coordination.", "forecast_minutes": 1500 });
    admin.post(&format!("/api/v1/school/candidates/{lea}/evaluations"), &evaluation).await.assert_success();
    let contract =
        id(&admin.post(&format!("/api/v1/school/candidates/{lea}/contracts"), &json!({ "pack_id": pack })).await);
    let name = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json();
    let signer =
        format!("{} {}", name["first_name"].as_str().expect("name"), name["last_name"].as_str().expect("name"));
    let signature = json!({ "method": "screen", "candidate_signer": signer, "accepted": true });
    admin.post(&format!("/api/v1/school/contracts/{contract}/sign"), &signature).await.assert_success();
    let amendment = admin
        .post(&format!("/api/v1/school/contracts/{contract}/amendments"), &json!({ "summary": "5 heures de plus" }))
        .await;
    let amendment = amendment.assert_success().json()["amendments"][0]["id"].as_i64().expect("amendment");
    let photo = include_bytes!("files/logo.png");
    let uploaded = crate::documents::upload(
        &admin,
        &format!("/api/v1/vehicles/{vehicle}/documents"),
        &[("kind", "photo")],
        &[("photo.png", photo)],
    )
    .await;
    let document = uploaded.assert_success().json()[0]["id"].as_i64().expect("document");
    let file: &[u8] = b"Nom;E-mail\nJeanne Martin;jeanne@example.fr\n";
    let import = crate::documents::upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("c.csv", file)]).await;
    let import = import.assert_success().json()["id"].as_i64().expect("import");
    BTreeMap::from([
        (Row::Contract, contract),
        (Row::Amendment, amendment),
        (Row::Import, import),
        (Row::PushDevice, device),
        (Row::MeetingPoint, meeting_point),
        (Row::Document, document),
        (Row::Webhook, webhook),
        (Row::WebhookDelivery, webhook_delivery),
        (Row::Pack, pack),
        (Row::PackSale, sale),
        (Row::Garage, garage),
        (Row::Vehicle, vehicle),
        (Row::Client, owner),
        (Row::Intervention, intervention),
        (Row::Alert, alert),
        (Row::Quote, quote),
        (Row::Invoice, invoice),
        (Row::Job, job),
        (Row::Token, token),
        (Row::Notification, notification),
        (Row::User, user),
        (Row::Candidate, lea),
        (Row::Instructor, teacher),
        (Row::TrainingCar, car),
        (Row::Lesson, lesson),
        (Row::Thread, thread),
        (Row::ExamSession, session),
        (Row::ExamResult, result),
        (Row::Report, report),
        (Row::CatalogueItem, item),
    ])
}

/// A body every write accepts as well-formed enough to look for the row it
/// names: their own garage, client and vehicle where a body names one.
async fn their_body(them: &TestClient<'_>) -> Value {
    let id = |response: TestResponse| response.assert_success().json()["id"].clone();
    let garage = id(them.post("/api/v1/garages", &json!({ "name": "Leur garage", "address": "Rue B" })).await);
    let vehicle = id(them.post("/api/v1/vehicles", &vehicle_json(garage.as_i64().expect("id"), "TS-200-BB")).await);
    let client = id(them.post("/api/v1/clients", &json!({ "name": "Client B" })).await);
    json!({
        "name": "Intrus", "address": "Rue B", "garage_id": garage, "brand": "Renault", "model": "Clio", "year": 2019,
        "license_plate": "TS-300-BB", "client_id": client, "vehicle_id": vehicle, "decision": "accept",
        "mileage_km": 1, "kind": "oil_service", "interval_km": 1000, "active": true, "action": "resolve",
        "category": "B", "first_name": "X", "last_name": "Y", "licence_number": "Z", "categories": ["B"],
        "weekly": [], "starts_at": at(3, 10, 0), "ends_at": at(3, 11, 0), "status": "done", "body": "Intrus",
        "exam_type": "theory", "outcome": "failed", "display_name": "Intrus", "roles": ["staff"],
        "description": "Intrus"
    })
}

/// What our administrator sees of a row through every API read of its paths
/// (JSON answers only: a PDF is rendered afresh on every read).
async fn witness(app: &TestApp, doc: &Value, ours: &BTreeMap<Row, i64>, row: Row) -> Vec<(String, Value)> {
    let admin = app.as_admin();
    let mut reads: Vec<String> = match row {
        Row::Alert => vec!["/api/v1/alerts".into()],
        Row::Job => vec!["/api/v1/admin/jobs?status=dead".into()],
        Row::Token => vec!["/api/v1/auth/tokens".into()],
        Row::Notification => vec!["/api/v1/notifications".into()],
        Row::Webhook => vec!["/api/v1/webhooks".into()],
        Row::Import => vec!["/api/v1/imports".into()],
        Row::PushDevice => vec!["/api/v1/push/devices".into()],
        Row::MeetingPoint => vec!["/api/v1/school/meeting-points".into()],
        _ => Vec::new(),
    };
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if item.get("get").is_some()
            && path.contains('{')
            && row_of(path) == Some(row)
            && let Some((filled, _)) = concrete(path, ours)
        {
            reads.push(filled);
        }
    }
    let mut seen = Vec::new();
    for path in reads {
        let response = admin.get(&path).await;
        let is_json = response.header("content-type").is_some_and(|c| c.contains("json"));
        let body = if is_json { response.json() } else { Value::Null };
        seen.push((path, json!({ "status": response.status.as_u16(), "body": body })));
    }
    seen
}

backend_tests!(every_api_route_hides_another_organizations_rows, every_page_hides_another_organizations_rows);

async fn every_api_route_hides_another_organizations_rows(app: TestApp) {
    let ours = our_rows(&app).await;
    let doc = app.as_admin().get("/api/openapi.json").await.assert_status(StatusCode::OK).json();
    let them = app.other_org().await;
    let missing: BTreeMap<Row, i64> = ours.keys().map(|&row| (row, 999_999_999)).collect();
    let body = their_body(&them).await;
    let mut before = BTreeMap::new();
    for &row in ours.keys() {
        before.insert(row, witness(&app, &doc, &ours, row).await);
    }
    let mut swept = BTreeMap::<Row, usize>::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some((filled, row)) = concrete(path, &ours) else { continue };
        for method in item.as_object().expect("item").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            let request = |uri: &str| {
                let request = Request::builder().method(method.clone()).uri(uri);
                if matches!(method, Method::GET | Method::DELETE) {
                    request.body(Body::empty())
                } else {
                    request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string()))
                }
                .expect("request")
            };
            let response = them.send(request(&filled)).await;
            // Their view of our row is the view of a row that does not exist: a 404,
            // or the same refusal of their input that a missing row gets.
            let (nowhere, _) = concrete(path, &missing).expect("a missing row's path");
            let control = them.send(request(&nowhere)).await;
            assert!(
                matches!(response.status, StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY),
                "{method} {filled}: {}",
                response.text()
            );
            assert_eq!(
                (response.status, response.text()),
                (control.status, control.text().replace(&nowhere, &filled)),
                "{method} {filled} answers unlike a missing row"
            );
            assert_eq!(witness(&app, &doc, &ours, row).await, before[&row], "{method} {filled} changed our {row:?}");
            *swept.entry(row).or_default() += 1;
            if path.contains("{sale_id}") {
                // A sale is named under its candidate's path.
                *swept.entry(Row::PackSale).or_default() += 1;
            }
            if path.contains("{delivery_id}") {
                // A delivery is named under its endpoint's path.
                *swept.entry(Row::WebhookDelivery).or_default() += 1;
            }
        }
    }
    let unswept: Vec<&Row> = ours.keys().filter(|row| !swept.contains_key(row)).collect();
    assert!(unswept.is_empty(), "rows made for nothing: {unswept:?} ({swept:?})");
    assert!(swept.values().sum::<usize>() >= 60, "{swept:?}");
}

async fn every_page_hides_another_organizations_rows(app: TestApp) {
    let ours = our_rows(&app).await;
    let doc = app.as_admin().get("/api/openapi.json").await.assert_status(StatusCode::OK).json();
    let them = app.other_org().await;
    let mut before = BTreeMap::new();
    for &row in ours.keys() {
        before.insert(row, witness(&app, &doc, &ours, row).await);
    }
    let missing: BTreeMap<Row, i64> = ours.keys().map(|&row| (row, 999_999_999)).collect();
    let mut swept = BTreeMap::<Row, usize>::new();
    // Deleting forms last, so that a wrong answer shows on the other pages first.
    let mut pages = volant::page_table();
    pages.sort_by_key(|p| p.path.ends_with("/delete"));
    for page in pages {
        let Some((path, row)) = concrete(page.path, &ours) else { continue };
        assert_ne!(page.access, Access::Public, "{}: a public page names a row", page.path);
        for method in [Method::GET, Method::POST] {
            let (nowhere, _) = concrete(page.path, &missing).expect("a missing row's path");
            let (response, control) = if method == Method::GET {
                (them.get(&path).await, them.get(&nowhere).await)
            } else {
                (them.post_form(&path, &[]).await, them.post_form(&nowhere, &[]).await)
            };
            if response.status == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            // A page is a 404; a form is refused as it is for a missing row (a 404, its
            // empty fields, or a redirect with the refusal in a flash), never carried out.
            if method == Method::GET {
                assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {path}: {}", response.text());
            }
            assert!(
                !response.status.is_success() || response.status == StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path}: {}",
                response.text()
            );
            assert_eq!(response.status, control.status, "{method} {path} answers unlike a missing row");
            assert_eq!(witness(&app, &doc, &ours, row).await, before[&row], "{method} {path} changed our {row:?}");
            *swept.entry(row).or_default() += 1;
        }
    }
    assert!(swept.values().sum::<usize>() >= 40, "{swept:?}");
}
