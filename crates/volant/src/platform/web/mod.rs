//! Server-rendered pages: the page context every template receives, flash
//! messages across POST/redirect/GET, and errors rendered as French pages.

mod cookies;
mod csrf;
mod ctx;
mod flash;
mod form;
mod list;
mod menu;
mod options;
mod welcome;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub use cookies::{cookie_header, is_https, read_cookie};
pub use csrf::{CSRF_FIELD, CsrfToken, csrf_protection, csrf_token};
pub use ctx::{Channels, OrgContext, PageCtx, SignedIn};
pub use flash::{
    Flash, clear_consumed_flash, redirect_with_flash, refusal_to_flash, safe_redirect, safe_redirect_target, see_other,
};
pub use form::{FormErrors, FormTarget, Submitted, form_flow, respond, submit, unprocessable};
pub use list::{Listing, SortHeader, Sorting, fragment_or_page};
pub use menu::{Module, NavLink};
pub use options::{SelectOption, id_options, options};
pub use welcome::{WelcomeStep, WelcomeSteps};

use crate::platform::error::AppError;
use crate::platform::i18n;

tokio::task_local! {
    static HTML_REQUEST: bool;
}

/// Runs `fut` knowing whether the request is for a web page (errors become
/// HTML pages) or for the API (errors stay problem+json).
pub async fn scope<F: Future>(html: bool, fut: F) -> F::Output {
    HTML_REQUEST.scope(html, fut).await
}

/// Whether the request being served is for a web page.
pub fn is_html_request() -> bool {
    HTML_REQUEST.try_with(|html| *html).unwrap_or(false)
}

/// An error on a web page: the same [`AppError`], rendered as a French page.
#[derive(Debug)]
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

pub type WebResult<T> = Result<T, WebError>;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageCtx,
    status: u16,
    title: String,
    detail: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.0.log();
        let locale = i18n::current();
        let status = self.0.status();
        let title_key = match status {
            StatusCode::NOT_FOUND => "error.page_not_found",
            StatusCode::CONFLICT => "error.page_conflict",
            StatusCode::FORBIDDEN => "error.page_forbidden",
            s if s.is_server_error() => "error.page_server",
            _ => "error.page_invalid",
        };
        let page = ErrorPage {
            page: PageCtx::new(&HeaderMap::new(), ""),
            status: status.as_u16(),
            title: locale.text(title_key).to_owned(),
            detail: self.0.detail(locale),
        };
        (status, page).into_response()
    }
}
