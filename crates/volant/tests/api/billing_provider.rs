//! Online payment through a provider's HTTP API, against a stub provider on
//! loopback: the link asked and e-mailed, the signed callback marking the
//! invoice paid, a replayed callback changing nothing, a forged one refused;
//! without a provider, the page and the API say so.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::html;
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, json_request};

const SECRET: &str = "secret partagé du prestataire";

/// An order as the provider received it: headers, body read, raw bytes.
type Order = (axum::http::HeaderMap, Value, Vec<u8>);
type Orders = Arc<Mutex<Vec<Order>>>;

/// A payment provider: makes a page for each order and keeps what it was sent.
struct StubProvider {
    url: String,
    orders: Orders,
}

impl StubProvider {
    async fn start() -> Self {
        use axum::extract::State;
        let orders: Orders = Arc::new(Mutex::new(Vec::new()));
        async fn order(
            State(orders): State<Orders>,
            headers: axum::http::HeaderMap,
            body: axum::body::Bytes,
        ) -> axum::Json<Value> {
            let order: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let n = {
                let mut orders = orders.lock().expect("orders");
                orders.push((headers, order, body.to_vec()));
                orders.len()
            };
            axum::Json(json!({ "id": format!("pay_{n}"), "url": format!("https://pay.example.test/p/{n}") }))
        }
        let app = axum::Router::new().route("/orders", axum::routing::post(order)).with_state(orders.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/orders"), orders }
    }

    fn orders(&self) -> Vec<Order> {
        self.orders.lock().expect("orders").clone()
    }
}

async fn issued_invoice(app: &TestApp) -> Value {
    let admin = app.as_admin();
    admin
        .patch(
            "/api/v1/organization",
            &json!({ "address": "3 rue Victor Hugo\n75011 Paris", "registration_number": "732 829 320 00074", "vat_number": "FR44732829320" }),
        )
        .await
        .assert_success();
    let buyer = client(app, json!({ "name": "Jeanne Martin", "email": "jeanne.martin@example.fr" })).await;
    let lines = json!([{ "description": "Vidange\nfiltre à huile ✓", "unit_price": "100", "vat_rate": 20 }]);
    let draft = admin.post("/api/v1/invoices", &json!({ "client_id": buyer, "lines": lines })).await.json();
    admin.post(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.assert_success().json()
}

/// A callback as the provider sends it, signed with `secret`.
async fn callback(app: &TestApp, body: &Value, secret: &str) -> crate::helpers::TestResponse {
    let bytes = serde_json::to_vec(body).expect("json");
    let signature = volant::billing::invoices::provider::sign(secret, &bytes);
    let mut request = json_request(axum::http::Method::POST, "/api/v1/billing/payment-callback", body);
    request.headers_mut().insert("x-volant-signature", signature.parse().expect("header"));
    app.anonymous().send(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_link_is_paid_once_on_sqlite() {
    let stub = StubProvider::start().await;
    let app = TestApp::sqlite_with(|c| {
        c.payments.url = Some(stub.url.clone());
        c.payments.secret = Some(SECRET.to_owned());
    })
    .await;
    a_payment_link_is_paid_once(app, &stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_link_is_paid_once_on_postgres() {
    let stub = StubProvider::start().await;
    let configure = |c: &mut volant::platform::config::Config| {
        c.payments.url = Some(stub.url.clone());
        c.payments.secret = Some(SECRET.to_owned());
    };
    if let Some(app) = TestApp::postgres_with(configure).await {
        a_payment_link_is_paid_once(app, &stub).await;
    }
}

async fn a_payment_link_is_paid_once(app: TestApp, stub: &StubProvider) {
    let admin = app.as_admin();
    let invoice = issued_invoice(&app).await;
    let id = invoice["id"].as_i64().expect("id");
    // The page offers the link; asked, the provider gets a signed order for what is due.
    let page = html(&admin.get(&format!("/invoices/{id}")).await);
    assert!(page.contains("Envoyer un lien de paiement par e-mail"), "{page}");
    let asked = admin.post(&format!("/api/v1/invoices/{id}/payment-link"), &json!({})).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let request = asked.json();
    assert_eq!(request["amount"], "120.00");
    assert_eq!(request["url"], "https://pay.example.test/p/1");
    let orders = stub.orders();
    assert_eq!(orders.len(), 1);
    let (headers, order, raw) = &orders[0];
    assert_eq!(order["amount"], "120.00");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["reference"], request["reference"]);
    assert!(order["callback_url"].as_str().expect("callback").ends_with("/api/v1/billing/payment-callback"));
    let signed = volant::billing::invoices::provider::sign(SECRET, raw);
    assert_eq!(headers["x-volant-signature"], signed.as_str(), "Volant signs its orders too");
    // The link went to the buyer by e-mail.
    let mail = crate::helpers::queued_emails(&app, 5).await;
    assert!(
        mail.iter().any(|m| m.to == "jeanne.martin@example.fr" && m.subject.starts_with("Payer en ligne")),
        "{mail:?}"
    );

    let paid = json!({
        "reference": request["reference"], "status": "paid", "amount": "120.00",
        "transaction_id": "TX-778-Wave", "method": "mobile_money", "operator": "Wave"
    });
    // A forged callback (another secret, or none) changes nothing.
    callback(&app, &paid, "pas le bon secret").await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let unsigned =
        app.anonymous().send(json_request(axum::http::Method::POST, "/api/v1/billing/payment-callback", &paid)).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert_eq!(admin.get(&format!("/api/v1/invoices/{id}")).await.json()["payment_state"], "unpaid");
    // A wrong amount, even signed, is not a payment of this request.
    let mut wrong = paid.clone();
    wrong["amount"] = json!("12.00");
    assert_eq!(callback(&app, &wrong, SECRET).await.error_fields(), ["amount"]);
    // The real one: the invoice is paid, by mobile money, with the provider's reference.
    let done = callback(&app, &paid, SECRET).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(done.json(), json!("recorded"));
    let after = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(after["payment_state"], "paid");
    assert_eq!(after["payments"][0]["reference"], "TX-778-Wave");
    assert_eq!(after["payments"][0]["provider"], "Wave");
    // Replayed, twice at once: nothing more is recorded.
    let (a, b) = tokio::join!(callback(&app, &paid, SECRET), callback(&app, &paid, SECRET));
    assert_eq!((a.json(), b.json()), (json!("already_recorded"), json!("already_recorded")));
    let after = admin.get(&format!("/api/v1/invoices/{id}")).await.json();
    assert_eq!(after["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(after["balance_due"], "0.00");
    // Nothing is due any more: no second link.
    admin
        .post(&format!("/api/v1/invoices/{id}/payment-link"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "nothing_due");
    // An unknown reference is not found.
    let mut unknown = paid.clone();
    unknown["reference"] = json!("VOL-0-0-000000");
    assert_eq!(callback(&app, &unknown, SECRET).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_provider_the_page_and_the_api_say_so() {
    let app = TestApp::sqlite().await;
    let invoice = issued_invoice(&app).await;
    let id = invoice["id"].as_i64().expect("id");
    let admin = app.as_admin();
    let page = html(&admin.get(&format!("/invoices/{id}")).await);
    assert!(page.contains("aucun prestataire de paiement n'est configuré"), "{page}");
    assert!(!page.contains("Envoyer un lien de paiement"), "{page}");
    admin
        .post(&format!("/api/v1/invoices/{id}/payment-link"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "payments_not_configured");
    let body = json!({ "reference": "x", "status": "paid", "amount": "1", "transaction_id": "t" });
    assert_eq!(callback(&app, &body, SECRET).await.status, StatusCode::NOT_FOUND);
}
