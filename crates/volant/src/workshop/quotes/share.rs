//! The client's side of a sent quote: a private link (its unguessable token is the
//! credential) where the client reads the quote, downloads the PDF, and accepts
//! or declines it, line by line when the garage allows it. Pages speak the
//! organization's language.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Extensions;
use axum::response::Response;
use axum::routing::{get, post};

use super::service::{self, Decision, DecisionInput, QuoteStatus};
use super::web::QuoteView;
use crate::identity::auth::web_pages::Routes;
use crate::identity::organizations::service as organizations;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n::{self, Locale, Tr};
use crate::platform::ratelimit::client_ip;
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};

pub fn routes() -> Routes {
    vec![
        ("/q/{token}", get(show)),
        ("/q/{token}/pdf", get(pdf)),
        ("/q/{token}/logo", get(logo)),
        ("/q/{token}/decision", post(decide)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/share.html")]
struct SharePage {
    page: PageCtx,
    token: String,
    /// The garage, as its customers reach it.
    organization: organizations::Organization,
    client_name: String,
    view: QuoteView,
    choose_lines: bool,
    open: bool,
}

async fn locale_of(state: &AppState, org: crate::platform::tenant::OrgId) -> Result<(Locale, String), AppError> {
    let organization = organizations::get(&state.db, org).await?;
    Ok((organization.locale, organization.name))
}

async fn show(State(state): State<AppState>, mut page: PageCtx, Path(token): Path<String>) -> WebResult<SharePage> {
    let (org, quote) = service::by_share_token(&state.db, &token).await?;
    let organization = organizations::get(&state.db, org).await?;
    let (locale, zone) = (organization.locale, organization.zone()?);
    let client = crate::workshop::clients::service::get(&state.db, org, quote.client_id).await?;
    page.tr = Tr(locale);
    let today = crate::identity::organizations::service::today(&state.db, org).await?;
    let open = quote.status == QuoteStatus::Sent && quote.valid_until >= today;
    let choose_lines = open && quote.line_decisions && quote.lines.len() > 1;
    // Dates and times as the garage and its customer read them, in its zone.
    let view = i18n::scope(locale, i18n::scope_zone(zone, async move { QuoteView::new(quote) })).await;
    Ok(SharePage { page, token, organization, client_name: client.display_name().to_owned(), view, choose_lines, open })
}

async fn pdf(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let (org, quote) = service::by_share_token(&state.db, &token).await?;
    let (locale, _) = locale_of(&state, org).await?;
    let doc = service::document(&state.db, org, quote.id).await?;
    let (name, bytes) = i18n::scope(locale, service::render(doc)).await?;
    Ok(crate::platform::http::respond::pdf_response(&name, bytes, false))
}

/// The garage's logo, for the page the link opens.
async fn logo(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let (org, _) = service::by_share_token(&state.db, &token).await?;
    let logo = crate::identity::organizations::logo::get(&state.db, org).await?.ok_or(AppError::NotFound)?;
    Ok(crate::identity::organizations::api::logo_response(logo))
}

async fn decide(
    State(state): State<AppState>,
    Path(token): Path<String>,
    extensions: Extensions,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (org, quote) = service::by_share_token(&state.db, &token).await?;
    let (locale, _) = locale_of(&state, org).await?;
    let decision = match pairs.iter().find(|(k, _)| k == "decision").map(|(_, v)| v.as_str()) {
        Some("accept") => Decision::Accept,
        Some("decline") => Decision::Decline,
        _ => return Err(AppError::BadRequest("decision must be accept or decline".to_owned()).into()),
    };
    let chosen: Vec<i64> = pairs.iter().filter(|(k, _)| k == "line").filter_map(|(_, v)| v.parse().ok()).collect();
    // Line choices count only where the garage offered them.
    let accepted_line_ids =
        (decision == Decision::Accept && quote.line_decisions && pairs.iter().any(|(k, _)| k == "lines_offered"))
            .then_some(chosen);
    let input = DecisionInput { decision, accepted_line_ids };
    let back = format!("/q/{token}");
    let result = service::decide_by_token(&state.db, &token, &input, client_ip(&extensions)).await;
    let (kind, key) = match result {
        Ok(_) if decision == Decision::Accept => ("success", "share.accepted"),
        Ok(_) => ("success", "share.declined"),
        Err(AppError::Validation(_)) => ("error", "share.choose_lines"),
        Err(AppError::Conflict { .. }) => ("error", "share.closed"),
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with_flash(&back, kind, locale.text(key)))
}
