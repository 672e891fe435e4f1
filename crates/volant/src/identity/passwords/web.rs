//! "Mot de passe oublié ?": asking for a link, choosing the password it opens;
//! and the administrator's "send a reset link" on a user's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::service;
use crate::identity::Caller;
use crate::identity::audit::Actor;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::proxy::ClientContext;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

/// Asking for a link: open to anyone.
pub fn routes() -> Routes {
    vec![("/password/forgot", get(forgot_form).post(ask))]
}

/// The page a link opens: its secret is the credential.
pub fn link_routes() -> Routes {
    vec![("/password/reset/{secret}", get(reset_form).post(reset))]
}

/// An administrator sends a user a link.
pub fn admin_routes() -> Routes {
    vec![("/admin/users/{id}/password-link", post(send_link))]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AskForm {
    email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/password_forgot.html")]
struct ForgotPage {
    page: PageCtx,
    email: String,
    /// The request was taken: the same answer whether the address has an account.
    asked: bool,
    /// E-mails leave this instance (an SMTP server is configured).
    delivers: bool,
    errors: FormErrors,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct EmailQuery {
    email: Option<String>,
}

async fn forgot_form(
    State(state): State<AppState>,
    page: PageCtx,
    axum::extract::Query(query): axum::extract::Query<EmailQuery>,
) -> ForgotPage {
    let email = query.email.unwrap_or_default();
    let delivers = state.config.notify.delivers_email();
    ForgotPage { page, email, asked: false, delivers, errors: FormErrors::default(), error: None }
}

async fn ask(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    FormBody(form): FormBody<AskForm>,
) -> WebResult<Response> {
    let actor = Actor::from_request(state.default_org, None, &headers, &extensions);
    let delivers = state.config.notify.delivers_email();
    let answer = |asked, errors, error| ForgotPage { page, email: form.email.clone(), asked, delivers, errors, error };
    match service::ask(&state.db, &state.limits, &actor, &form.email).await {
        Ok(()) => Ok(answer(true, FormErrors::default(), None).into_response()),
        Err(err @ AppError::TooManyRequests { retry_after_secs }) => {
            let error = Some(err.detail(i18n::current()));
            let page = answer(false, FormErrors::default(), error);
            Ok((err.status(), [(header::RETRY_AFTER, retry_after_secs.to_string())], page).into_response())
        }
        Err(err) => Ok(unprocessable(answer(false, FormErrors::from_app_error(err)?, None))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResetForm {
    new_password: String,
    confirm_password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/password_reset.html")]
struct ResetPage {
    page: PageCtx,
    /// Whose password this is (`None`: the link no longer works).
    email: Option<String>,
    secret: String,
    errors: FormErrors,
}

/// A used or expired link: said in words, with the way to ask for another.
fn gone(page: PageCtx, err: AppError) -> WebResult<Response> {
    let status = err.status();
    let page = ResetPage { page, email: None, secret: String::new(), errors: FormErrors::default() };
    match err {
        AppError::Gone { .. } => Ok((status, page).into_response()),
        other => Err(other.into()),
    }
}

async fn reset_form(State(state): State<AppState>, page: PageCtx, Path(secret): Path<String>) -> WebResult<Response> {
    match service::open(&state.db, &secret).await {
        Ok(account) => {
            let errors = FormErrors::default();
            Ok(ResetPage { page, email: Some(account.email), secret, errors }.into_response())
        }
        Err(err) => gone(page, err),
    }
}

async fn reset(
    State(state): State<AppState>,
    page: PageCtx,
    Path(secret): Path<String>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    FormBody(form): FormBody<ResetForm>,
) -> WebResult<Response> {
    let account = match service::open(&state.db, &secret).await {
        Ok(account) => account,
        Err(err) => return gone(page, err),
    };
    let email = Some(account.email.clone());
    if form.new_password != form.confirm_password {
        let mut errors = FormErrors::default();
        errors.add("confirm_password", Msg::new("user.password_mismatch").render(i18n::current()));
        return Ok(unprocessable(ResetPage { page, email, secret, errors }));
    }
    let actor = Actor::from_request(state.default_org, None, &headers, &extensions);
    match service::reset(&state.db, &actor, &secret, &form.new_password).await {
        Ok(()) => {
            tracing::info!(user_id = account.id, "password chosen through a link");
            Ok(redirect_with_flash("/login", "success", i18n::current().text("password.reset_done")))
        }
        Err(err @ AppError::Gone { .. }) => gone(page, err),
        Err(err) => Ok(unprocessable(ResetPage { page, email, secret, errors: FormErrors::from_app_error(err)? })),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/password_link_sent.html")]
struct LinkSentPage {
    page: PageCtx,
    user_id: i64,
    display_name: String,
    email: String,
    /// The link to hand over yourself.
    url: String,
    expires: String,
}

/// With an SMTP server: sent, said by a flash. Without one: the e-mail is only
/// saved, so the page says so and shows the link to hand over.
async fn send_link(caller: Caller, page: PageCtx, client: ClientContext, Id(id): Id) -> WebResult<Response> {
    let link = service::send_to_user(&caller.db, &caller.actor, id).await;
    let link = match link {
        Ok(link) => link,
        Err(err @ AppError::Conflict { .. }) => {
            let message = err.detail(i18n::current());
            return Ok(redirect_with_flash(&format!("/admin/users/{id}"), "error", &message));
        }
        Err(err) => return Err(err.into()),
    };
    let expires = i18n::local_date_time(link.expires_at);
    if caller.config.notify.delivers_email() {
        let message = Msg::new("password.link_emailed").arg("email", &link.email).arg("expires", &expires);
        return Ok(redirect_with_flash(&format!("/admin/users/{id}"), "success", &message.render(i18n::current())));
    }
    let url = format!("{}{}", client.public_url(&caller.config), service::path(&link.secret));
    let page =
        LinkSentPage { page, user_id: link.user_id, display_name: link.display_name, email: link.email, url, expires };
    // The link is a credential: this answer only, never kept by a cache.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}
