//! JSON API for invoices, credit notes, payments and the billing settings, under `/api/v1`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::payments::{self, CashReport};
use super::provider::{self, CallbackOutcome, PaymentRequest};
use super::service::{
    self, BillingSettings, BillingSettingsInput, CreditInput, DepositInput, Due, Invoice, InvoiceFilter, InvoiceInput,
    InvoiceKind, InvoiceStatus, InvoiceSummary, PaymentInput,
};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::{Paged, created, pdf_response};
use crate::platform::proxy::ClientContext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices, create_invoice))
        .routes(routes!(get_invoice, replace_invoice, delete_invoice))
        .routes(routes!(invoice_from_quote))
        .routes(routes!(list_deposits, ask_deposit))
        .routes(routes!(invoice_from_intervention))
        .routes(routes!(issue_invoice))
        .routes(routes!(credit_invoice))
        .routes(routes!(invoice_pdf))
        .routes(routes!(email_invoice))
        .routes(routes!(remind_invoice))
        .routes(routes!(record_payment))
        .routes(routes!(payment_link))
        .routes(routes!(payment_callback))
        .routes(routes!(cash_report))
        .routes(routes!(get_billing_settings, update_billing_settings))
        .routes(routes!(fec_export))
        .routes(routes!(billing_summary))
        .routes(routes!(sales_csv))
        .routes(routes!(sales_xlsx))
        .routes(routes!(payments_csv))
        .routes(routes!(payments_xlsx))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoicesQuery {
    /// `invoice` or `credit_note`.
    pub kind: Option<String>,
    /// `draft` or `issued`.
    pub status: Option<String>,
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub client_id: Option<String>,
    /// `unpaid` (something is still due) or `overdue` (and its due date has passed).
    pub due: Option<String>,
    /// A number or part of it, or the buyer's name.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

fn parse<T>(name: &str, raw: Option<&str>, read: impl Fn(&str) -> Option<T>) -> AppResult<Option<T>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => {
            read(raw).map(Some).ok_or_else(|| AppError::invalid_parameter(name, format!("unknown {name} `{raw}`")))
        }
    }
}

impl InvoicesQuery {
    pub fn filter(&self) -> AppResult<InvoiceFilter> {
        Ok(InvoiceFilter {
            kind: parse("kind", self.kind.as_deref(), InvoiceKind::parse)?,
            status: parse("status", self.status.as_deref(), InvoiceStatus::parse)?,
            client_id: parse("client_id", self.client_id.as_deref(), |s| s.parse().ok())?,
            due: parse("due", self.due.as_deref(), |s| match s {
                "unpaid" => Some(Due::Unpaid),
                "overdue" => Some(Due::Overdue),
                _ => None,
            })?,
            q: self.q.clone(),
        })
    }
}

/// Invoices and credit notes, newest first (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/invoices", security(("bearer" = ["billing.read"])), tag = "invoices", params(InvoicesQuery),
    responses((status = 200, body = [InvoiceSummary]), (status = 400, body = Problem)))]
async fn list_invoices(caller: Caller, ApiQuery(query): ApiQuery<InvoicesQuery>, paged: Paged) -> AppResult<Response> {
    let page = service::list(&caller.replica, caller.org, &query.filter()?, &paged.request).await?;
    Ok(paged.respond(page))
}

/// Create a draft invoice typed by hand (no number until issued).
#[utoipa::path(post, path = "/invoices", security(("bearer" = ["billing.write"])), tag = "invoices", request_body = InvoiceInput,
    responses((status = 201, body = Invoice, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn create_invoice(caller: Caller, ApiJson(input): ApiJson<InvoiceInput>) -> AppResult<Response> {
    let invoice = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), invoice))
}

#[utoipa::path(get, path = "/invoices/{id}", security(("bearer" = ["billing.read"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem)))]
async fn get_invoice(caller: Caller, Id(id): Id) -> AppResult<Json<Invoice>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Replace a draft's content (409 `invoice_issued` once issued: an issued invoice never changes).
#[utoipa::path(put, path = "/invoices/{id}", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)), request_body = InvoiceInput,
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_invoice(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<InvoiceInput>,
) -> AppResult<Json<Invoice>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

/// Delete a draft (409 `invoice_issued`: an issued invoice is never deleted; correct it with a credit note).
#[utoipa::path(delete, path = "/invoices/{id}", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_invoice(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    service::delete(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Draft the invoice of an accepted quote (its accepted lines); 409 `already_invoiced` the second time.
#[utoipa::path(post, path = "/quotes/{id}/invoice", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 201, body = Invoice, headers(("Location" = String))), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn invoice_from_quote(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let invoice = service::from_quote(&caller.db, &caller.actor, id).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), invoice))
}

/// The deposit invoices asked on a quote, oldest first, each saying which invoice deducts it.
#[utoipa::path(get, path = "/quotes/{id}/deposits", security(("bearer" = ["billing.read"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Invoice>), (status = 404, body = Problem)))]
async fn list_deposits(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Invoice>>> {
    crate::workshop::quotes::service::get(&caller.db, caller.org, id).await?;
    Ok(Json(service::deposits_of_quote(&caller.db, caller.org, id).await?))
}

/// Invoice a deposit (facture d'acompte) of a percentage of an accepted quote, issued at once; the
/// quote's final invoice deducts it. 409 `already_invoiced` once the quote has its invoice,
/// `deposits_exceed_quote` past 100 %, `seller_incomplete` while the organization cannot invoice.
#[utoipa::path(post, path = "/quotes/{id}/deposits", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)), request_body = DepositInput,
    responses((status = 201, body = Invoice, headers(("Location" = String))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn ask_deposit(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<DepositInput>) -> AppResult<Response> {
    let invoice = service::deposit(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), invoice))
}

/// Draft the invoice of completed work (its lines, the vehicle's owner then); 409 `already_invoiced` the second time.
#[utoipa::path(post, path = "/interventions/{id}/invoice", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 201, body = Invoice, headers(("Location" = String))), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn invoice_from_intervention(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let invoice = service::from_intervention(&caller.db, &caller.actor, id).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), invoice))
}

/// Issue a draft: it takes the next number of the organization's sequence, is dated today and never changes again.
#[utoipa::path(post, path = "/invoices/{id}/issue", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn issue_invoice(caller: Caller, Id(id): Id) -> AppResult<Json<Invoice>> {
    Ok(Json(service::issue(&caller.db, &caller.actor, id).await?))
}

/// Correct an issued invoice with a credit note of its whole amount (issued at once, in its own sequence).
#[utoipa::path(post, path = "/invoices/{id}/credit", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)), request_body = CreditInput,
    responses((status = 201, body = Invoice, headers(("Location" = String))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn credit_invoice(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<CreditInput>) -> AppResult<Response> {
    let credit_note = service::credit(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/invoices/{}", credit_note.id), credit_note))
}

/// The invoice as a PDF: PDF/A-3 with its Factur-X (EN 16931) XML once issued.
#[utoipa::path(get, path = "/invoices/{id}/pdf", security(("bearer" = ["billing.read"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
async fn invoice_pdf(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let (name, bytes) = super::pdf::pdf(&caller.db, caller.org, id).await?;
    Ok(pdf_response(&name, bytes, false))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EmailedInvoice {
    pub invoice: Invoice,
    /// The queued e-mail.
    pub email_id: i64,
}

/// Send the issued invoice or credit note to its customer by e-mail, its PDF attached (queued).
#[utoipa::path(post, path = "/invoices/{id}/email", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 202, body = EmailedInvoice), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn email_invoice(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Response> {
    use axum::response::IntoResponse;
    let public_url = client.public_url(&caller.config);
    let (invoice, email_id) = super::sending::email(&caller.db, &caller.actor, id, &public_url).await?;
    Ok((StatusCode::ACCEPTED, Json(EmailedInvoice { invoice, email_id })).into_response())
}

/// The queued reminder.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Reminded {
    pub email_id: i64,
}

/// Remind the buyer of an unpaid invoice now, by the automatic reminder's e-mail (its PDF attached);
/// at most once a day (409 `already_reminded_today`); 409 `nothing_due`, `buyer_without_email`.
#[utoipa::path(post, path = "/invoices/{id}/remind", security(("bearer" = ["billing.write"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 202, body = Reminded), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn remind_invoice(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Response> {
    use axum::response::IntoResponse;
    let public_url = client.public_url(&caller.config);
    let email_id = super::reminders::remind_now(&caller.db, &caller.actor, id, &public_url).await?;
    Ok((StatusCode::ACCEPTED, Json(Reminded { email_id })).into_response())
}

/// Record a payment or a refund on an issued invoice; answers the invoice as it now stands.
#[utoipa::path(post, path = "/invoices/{id}/payments", security(("bearer" = ["payments.record"])), tag = "invoices", params(("id" = i64, Path)), request_body = PaymentInput,
    responses((status = 201, body = Invoice), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_payment(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<PaymentInput>) -> AppResult<Response> {
    let invoice = payments::record(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), invoice))
}

/// Ask the payment provider for a page to pay what is due now (the instalments
/// fallen due, or the balance) and e-mail its link to the buyer. 409
/// `payments_not_configured` when the instance has no payment provider.
#[utoipa::path(post, path = "/invoices/{id}/payment-link", security(("bearer" = ["payments.record"])), tag = "invoices", params(("id" = i64, Path)),
    responses((status = 201, body = PaymentRequest), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn payment_link(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Response> {
    let provider = provider::provider(&caller.config.payments)?;
    let public_url = client.public_url(&caller.config);
    let provider = provider.as_ref().map(|p| p as &dyn provider::PaymentProvider);
    let request = provider::request_link(&caller.db, &caller.actor, provider, &public_url, id).await?;
    Ok(created(&format!("/api/v1/invoices/{id}"), request))
}

/// The payment provider reports a payment (no token: the body is signed with the
/// shared secret in `X-Volant-Signature: sha256=<hex HMAC-SHA256>`). A forged or
/// unsigned call is a 401; a replay changes nothing.
#[utoipa::path(post, path = "/billing/payment-callback", tag = "invoices", security(()), request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = CallbackOutcome), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn payment_callback(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<CallbackOutcome>> {
    let provider = provider::provider(&state.config.payments)?;
    let provider = provider.as_ref().map(|p| p as &dyn provider::PaymentProvider);
    let signature = headers.get(provider::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    Ok(Json(provider::callback(&state.db, provider, &body, signature).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CashQuery {
    /// The day (`YYYY-MM-DD`); today in the organization's zone when absent.
    pub day: Option<NaiveDate>,
    /// One garage's counter: the payments of its invoices (404 when not the organization's).
    pub garage_id: Option<i64>,
}

/// The day's cash report (caisse): payments and refunds received, by method and by garage.
#[utoipa::path(get, path = "/payments/daily", security(("bearer" = ["billing.read"])), tag = "invoices", params(CashQuery),
    responses((status = 200, body = CashReport), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn cash_report(caller: Caller, ApiQuery(query): ApiQuery<CashQuery>) -> AppResult<Json<CashReport>> {
    let day = match query.day {
        Some(day) => day,
        None => crate::identity::organizations::service::today(&caller.db, caller.org).await?,
    };
    if let Some(garage) = query.garage_id {
        crate::fleet::garages::service::get(&caller.db, caller.org, garage).await?;
    }
    Ok(Json(payments::cash_report(&caller.replica, caller.org, day, query.garage_id).await?))
}

/// What the business is owed and has collected: invoiced and collected this month,
/// outstanding, overdue.
#[utoipa::path(get, path = "/billing/summary", security(("bearer" = ["billing.read"])), tag = "invoices",
    responses((status = 200, body = service::BillingSummary)))]
async fn billing_summary(caller: Caller) -> AppResult<Json<service::BillingSummary>> {
    Ok(Json(service::summary_figures(&caller.replica, caller.org).await?))
}

#[utoipa::path(get, path = "/billing/settings", security(("bearer" = ["billing.read"])), tag = "invoices",
    responses((status = 200, body = BillingSettings)))]
async fn get_billing_settings(caller: Caller) -> AppResult<Json<BillingSettings>> {
    Ok(Json(service::settings(&caller.db, caller.org).await?))
}

/// Replace the billing settings (numbering formats, payment terms, penalty rate, VAT franchise, mentions).
#[utoipa::path(put, path = "/billing/settings", security(("bearer" = ["billing.write"])), tag = "invoices", request_body = BillingSettingsInput,
    responses((status = 200, body = BillingSettings), (status = 422, body = Problem)))]
async fn update_billing_settings(
    caller: Caller,
    ApiJson(input): ApiJson<BillingSettingsInput>,
) -> AppResult<Json<BillingSettings>> {
    Ok(Json(service::update_settings(&caller.db, &caller.actor, &input).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (`YYYY-MM-DD`); the first of January of this year when absent.
    #[param(value_type = Option<String>, pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub from: Option<String>,
    /// Last day; today (in the organization's zone) when absent. At most 400 days after `from`.
    #[param(value_type = Option<String>, pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub to: Option<String>,
}

/// A date parameter: empty (a form's blank field) is absent.
fn date_param(name: &str, raw: Option<&str>) -> AppResult<Option<NaiveDate>> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid_parameter(name, format!("{name} must be a date (YYYY-MM-DD)"))),
    }
}

impl PeriodQuery {
    /// The period asked, checked.
    pub async fn period(&self, caller: &Caller) -> AppResult<(NaiveDate, NaiveDate)> {
        use chrono::Datelike;
        let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
        let to = date_param("to", self.to.as_deref())?.unwrap_or(today);
        let from = date_param("from", self.from.as_deref())?
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
        super::accounting::period(from, to)
    }
}

/// The FEC (Fichier des Écritures Comptables) of the period: sales, credit notes,
/// payments and refunds, 18 tab-separated columns, every entry balanced.
#[utoipa::path(get, path = "/billing/fec", security(("bearer" = ["billing.read"])), tag = "invoices", params(PeriodQuery),
    responses((status = 200, content_type = "text/plain", body = String), (status = 400, body = Problem)))]
pub async fn fec_export(caller: Caller, ApiQuery(query): ApiQuery<PeriodQuery>) -> AppResult<Response> {
    let period = query.period(&caller).await?;
    let organization = crate::identity::organizations::service::get(&caller.db, caller.org).await?;
    let (name, bytes) =
        super::accounting::fec(&caller.replica, caller.org, period, organization.registration_number.as_deref())
            .await?;
    Ok(crate::platform::http::respond::download(&name, "text/plain; charset=utf-8", bytes))
}

/// A journal's period, and optionally one garage.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// First day (`YYYY-MM-DD`); the first of January of this year when absent.
    #[param(value_type = Option<String>, pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub from: Option<String>,
    /// Last day; today (in the organization's zone) when absent. At most 400 days after `from`.
    #[param(value_type = Option<String>, pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub to: Option<String>,
    /// One garage's invoices, and the payments of them (404 when not the organization's).
    pub garage_id: Option<i64>,
}

/// A journal of the period as a CSV or XLSX file.
async fn journal(caller: &Caller, query: &JournalQuery, payments: bool, xlsx: bool) -> AppResult<Response> {
    use crate::platform::tabular;
    let period = PeriodQuery { from: query.from.clone(), to: query.to.clone() }.period(caller).await?;
    if let Some(garage) = query.garage_id {
        crate::fleet::garages::service::get(&caller.db, caller.org, garage).await?;
    }
    let period = (period, query.garage_id);
    let tr = crate::platform::i18n::current();
    let (headers, rows) = if payments {
        super::accounting::payment_rows(&caller.replica, caller.org, period, tr).await?
    } else {
        super::accounting::sales_rows(&caller.replica, caller.org, period, tr).await?
    };
    let base = format!("{}-{}-{}", if payments { "paiements" } else { "ventes" }, period.0.0, period.0.1);
    let sheet = tr.text(if payments { "accounting.payments" } else { "accounting.sales" });
    let (name, content_type, bytes) = if xlsx {
        let bytes = tabular::xlsx_bytes(sheet, &headers, rows).map_err(AppError::Internal)?;
        (format!("{base}.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes)
    } else {
        let bytes =
            tabular::csv_bytes(&headers, &rows, tabular::CsvDialect::for_locale(tr)).map_err(AppError::Internal)?;
        (format!("{base}.csv"), "text/csv; charset=utf-8", bytes)
    };
    Ok(crate::platform::http::respond::download(&name, content_type, bytes))
}

/// The sales journal of the period (invoices and credit notes issued), CSV.
#[utoipa::path(get, path = "/billing/exports/sales.csv", security(("bearer" = ["billing.read"])), tag = "invoices", params(JournalQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn sales_csv(caller: Caller, ApiQuery(query): ApiQuery<JournalQuery>) -> AppResult<Response> {
    journal(&caller, &query, false, false).await
}

/// The sales journal of the period, XLSX.
#[utoipa::path(get, path = "/billing/exports/sales.xlsx", security(("bearer" = ["billing.read"])), tag = "invoices", params(JournalQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn sales_xlsx(caller: Caller, ApiQuery(query): ApiQuery<JournalQuery>) -> AppResult<Response> {
    journal(&caller, &query, false, true).await
}

/// The payments and refunds of the period, CSV.
#[utoipa::path(get, path = "/billing/exports/payments.csv", security(("bearer" = ["billing.read"])), tag = "invoices", params(JournalQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn payments_csv(caller: Caller, ApiQuery(query): ApiQuery<JournalQuery>) -> AppResult<Response> {
    journal(&caller, &query, true, false).await
}

/// The payments and refunds of the period, XLSX.
#[utoipa::path(get, path = "/billing/exports/payments.xlsx", security(("bearer" = ["billing.read"])), tag = "invoices", params(JournalQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn payments_xlsx(caller: Caller, ApiQuery(query): ApiQuery<JournalQuery>) -> AppResult<Response> {
    journal(&caller, &query, true, true).await
}
