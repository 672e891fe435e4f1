//! JSON API for quotes and the workshop's settings, under `/api/v1`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{
    self, DecisionInput, Quote, QuoteFilter, QuoteInput, QuoteSort, QuoteStatus, QuoteSummary, ShareLink,
    WorkshopSettings,
};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id, id_filter};
use crate::platform::http::respond::{Paged, created, pdf_response};
use crate::platform::proxy::ClientContext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_quotes, create_quote))
        .routes(routes!(get_quote, replace_quote))
        .routes(routes!(quote_pdf))
        .routes(routes!(send_quote))
        .routes(routes!(email_quote))
        .routes(routes!(record_decision))
        .routes(routes!(duplicate_quote))
        .routes(routes!(get_settings, update_settings))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuotesQuery {
    /// `draft`, `sent`, `accepted`, `rejected` or `expired`.
    pub status: Option<String>,
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub client_id: Option<String>,
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub vehicle_id: Option<String>,
    /// Search: a quote number or part of it, a client's name, e-mail or phone,
    /// or the beginning of a plate.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Order: `number`, `issue_date`, `valid_until` or `total`, with `-` before it
    /// for the highest or latest first (default `-number`, the newest first).
    pub sort: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

impl QuotesQuery {
    pub fn filter(&self) -> AppResult<QuoteFilter> {
        let status = match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => Some(
                QuoteStatus::parse(raw)
                    .ok_or_else(|| AppError::invalid_parameter("status", format!("unknown status `{raw}`")))?,
            ),
        };
        let sort = match self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => QuoteSort::default(),
            Some(raw) => QuoteSort::parse(raw).ok_or_else(|| {
                AppError::invalid_parameter(
                    "sort",
                    format!("unknown sort `{raw}` (number, issue_date, valid_until, total; - for descending)"),
                )
            })?,
        };
        Ok(QuoteFilter {
            sort,
            status,
            client_id: id_filter("client_id", self.client_id.as_deref())?,
            vehicle_id: id_filter("vehicle_id", self.vehicle_id.as_deref())?,
            q: self.q.clone(),
        })
    }
}

/// Quotes, newest first (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/quotes", security(("bearer" = ["workshop.read"])), tag = "quotes", params(QuotesQuery),
    responses((status = 200, body = [QuoteSummary]), (status = 400, body = Problem)))]
async fn list_quotes(caller: Caller, ApiQuery(query): ApiQuery<QuotesQuery>, paged: Paged) -> AppResult<Response> {
    let page = service::list(&caller.db, caller.org, &query.filter()?, paged.request.clone()).await?;
    Ok(paged.respond(page))
}

/// Create a draft; it takes the next number of its issue year.
#[utoipa::path(post, path = "/quotes", security(("bearer" = ["workshop.write"])), tag = "quotes", request_body = QuoteInput,
    responses((status = 201, body = Quote, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn create_quote(caller: Caller, ApiJson(input): ApiJson<QuoteInput>) -> AppResult<Response> {
    let quote = service::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/quotes/{}", quote.id), quote))
}

#[utoipa::path(get, path = "/quotes/{id}", security(("bearer" = ["workshop.read"])), tag = "quotes", params(("id" = i64, Path)),
    responses((status = 200, body = Quote), (status = 404, body = Problem)))]
async fn get_quote(caller: Caller, Id(id): Id) -> AppResult<Json<Quote>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Replace a draft's content (409 once sent).
#[utoipa::path(put, path = "/quotes/{id}", security(("bearer" = ["workshop.write"])), tag = "quotes", params(("id" = i64, Path)), request_body = QuoteInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_quote(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<QuoteInput>) -> AppResult<Json<Quote>> {
    Ok(Json(service::replace(&caller.db, &caller.actor, id, &input).await?))
}

/// The quote as a PDF.
#[utoipa::path(get, path = "/quotes/{id}/pdf", security(("bearer" = ["workshop.read"])), tag = "quotes", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
async fn quote_pdf(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let (name, bytes) = service::pdf(&caller.db, caller.org, id).await?;
    Ok(pdf_response(&name, bytes, false))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SentQuote {
    pub quote: Quote,
    /// The client's link, shown this once (only its hash is kept).
    pub share_link: ShareLink,
    /// The same, as a full address.
    pub share_url: String,
}

/// Mark a draft as sent and create the client's share link (a sent quote gets a new link; the old one stops working).
#[utoipa::path(post, path = "/quotes/{id}/send", security(("bearer" = ["workshop.write"])), tag = "quotes", params(("id" = i64, Path)),
    responses((status = 200, body = SentQuote), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn send_quote(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Json<SentQuote>> {
    let (quote, share_link) = service::send(&caller.db, &caller.actor, id).await?;
    let share_url = service::share_url(&client.public_url(&caller.config), &share_link);
    Ok(Json(SentQuote { quote, share_link, share_url }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailedQuote {
    pub quote: Quote,
    /// The queued e-mail.
    pub email_id: i64,
}

/// Send the quote to the client by e-mail with its PDF and a share link (queued; a draft becomes sent).
#[utoipa::path(post, path = "/quotes/{id}/email", security(("bearer" = ["workshop.write"])), tag = "quotes", params(("id" = i64, Path)),
    responses((status = 202, body = EmailedQuote), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn email_quote(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Response> {
    let (quote, email_id) = service::email(&caller.db, &caller.actor, id, &client.public_url(&caller.config)).await?;
    Ok((StatusCode::ACCEPTED, Json(EmailedQuote { quote, email_id })).into_response())
}

/// Record the client's decision on a sent quote (given by phone or in person).
#[utoipa::path(post, path = "/quotes/{id}/decision", security(("bearer" = ["workshop.write"])), tag = "quotes", params(("id" = i64, Path)), request_body = DecisionInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_decision(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<DecisionInput>) -> AppResult<Json<Quote>> {
    Ok(Json(service::decide(&caller.db, &caller.actor, id, &input).await?))
}

/// Copy any quote into a new draft dated today.
#[utoipa::path(post, path = "/quotes/{id}/duplicate", security(("bearer" = ["workshop.write"])), tag = "quotes", params(("id" = i64, Path)),
    responses((status = 201, body = Quote, headers(("Location" = String))), (status = 404, body = Problem)))]
async fn duplicate_quote(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let quote = service::duplicate(&caller.db, &caller.actor, id).await?;
    Ok(created(&format!("/api/v1/quotes/{}", quote.id), quote))
}

#[utoipa::path(get, operation_id = "get_workshop_settings", path = "/workshop/settings", security(("bearer" = ["workshop.read"])), tag = "quotes",
    responses((status = 200, body = WorkshopSettings)))]
async fn get_settings(caller: Caller) -> AppResult<Json<WorkshopSettings>> {
    Ok(Json(service::settings(&caller.db, caller.org).await?))
}

/// Quote numbering format, validity, line-by-line decisions, default terms and legal mentions.
#[utoipa::path(put, operation_id = "update_workshop_settings", path = "/workshop/settings", security(("bearer" = ["workshop.write"])), tag = "quotes", request_body = WorkshopSettings,
    responses((status = 200, body = WorkshopSettings), (status = 422, body = Problem)))]
async fn update_settings(
    caller: Caller,
    ApiJson(input): ApiJson<WorkshopSettings>,
) -> AppResult<Json<WorkshopSettings>> {
    Ok(Json(service::update_settings(&caller.db, &caller.actor, &input).await?))
}
