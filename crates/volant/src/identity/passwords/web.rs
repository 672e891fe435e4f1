//! "Mot de passe oublié ?": asking for a link, choosing the password it opens;
//! and the administrator's "send a reset link" on a user's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, Purpose};
use crate::identity::Caller;
use crate::identity::audit::Actor;
use crate::identity::auth::web_pages::Routes;
use crate::notify::mail_settings;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::proxy::ClientContext;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, refusal_to_flash, unprocessable};

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
    ApiQuery(query): ApiQuery<EmailQuery>,
) -> WebResult<ForgotPage> {
    let email = query.email.unwrap_or_default();
    let delivers = mail_settings::any_delivers_email(&state.db, &state.config.notify).await?;
    Ok(ForgotPage { page, email, asked: false, delivers, errors: FormErrors::default(), error: None })
}

async fn ask(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    FormBody(form): FormBody<AskForm>,
) -> WebResult<Response> {
    let actor = Actor::from_request(state.default_org, None, &headers, &extensions);
    let delivers = mail_settings::any_delivers_email(&state.db, &state.config.notify).await?;
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
    /// The link is an invitation: the account's first password.
    invitation: bool,
    secret: String,
    errors: FormErrors,
}

/// A used or expired link: said in words, with the way to ask for another.
fn gone(page: PageCtx, err: AppError) -> WebResult<Response> {
    let status = err.status();
    let page = ResetPage { page, email: None, invitation: false, secret: String::new(), errors: FormErrors::default() };
    match err {
        AppError::Gone { .. } => Ok((status, page).into_response()),
        other => Err(other.into()),
    }
}

async fn reset_form(State(state): State<AppState>, page: PageCtx, Path(secret): Path<String>) -> WebResult<Response> {
    match service::open(&state.db, &secret).await {
        Ok(opened) => {
            let (email, invitation) = (Some(opened.account.email), opened.purpose == Purpose::Invitation);
            Ok(ResetPage { page, email, invitation, secret, errors: FormErrors::default() }.into_response())
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
    let opened = match service::open(&state.db, &secret).await {
        Ok(opened) => opened,
        Err(err) => return gone(page, err),
    };
    let (email, invitation) = (Some(opened.account.email.clone()), opened.purpose == Purpose::Invitation);
    if form.new_password != form.confirm_password {
        let mut errors = FormErrors::default();
        errors.add("confirm_password", Msg::new("user.password_mismatch").render(i18n::current()));
        return Ok(unprocessable(ResetPage { page, email, invitation, secret, errors }));
    }
    let actor = Actor::from_request(state.default_org, None, &headers, &extensions);
    match service::reset(&state.db, &actor, &secret, &form.new_password).await {
        Ok(()) => {
            tracing::info!(user_id = opened.account.id, "password chosen through a link");
            let done = if invitation { "invitation.done" } else { "password.reset_done" };
            Ok(redirect_with_flash("/login", "success", i18n::current().text(done)))
        }
        Err(err @ AppError::Gone { .. }) => gone(page, err),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(ResetPage { page, email, invitation, secret, errors }))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/password_link_sent.html")]
struct LinkSentPage {
    page: PageCtx,
    invitation: bool,
    display_name: String,
    email: String,
    /// The link to hand over yourself.
    url: String,
    expires: String,
    /// Where the page leads back to.
    back: String,
}

/// A link just made, told to the person who made it: with an SMTP server, a flash
/// on `back` says it left; without one, the e-mail is only saved, so this page
/// says so and shows the link to hand over (never kept by a cache: it is a credential).
pub async fn link_made(
    page: PageCtx,
    (caller, client): (&Caller, &ClientContext),
    link: service::NewLink,
    purpose: Purpose,
    back: &str,
) -> Result<Response, AppError> {
    let expires = i18n::local_date_time(link.expires_at);
    let invitation = purpose == Purpose::Invitation;
    let config = &caller.config;
    if mail_settings::delivers_email(&caller.db, &config.notify, caller.org).await? {
        let key = if invitation { "invitation.sent" } else { "password.link_emailed" };
        let message = Msg::new(key).arg("email", &link.email).arg("expires", &expires);
        return Ok(redirect_with_flash(back, "success", &message.render(i18n::current())));
    }
    let url = format!("{}{}", client.public_url(config), service::path(&link.secret));
    let (display_name, email, back) = (link.display_name, link.email, back.to_owned());
    let page = LinkSentPage { page, invitation, display_name, email, url, expires, back };
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

async fn send_link(caller: Caller, page: PageCtx, client: ClientContext, Id(id): Id) -> WebResult<Response> {
    let back = format!("/admin/users/{id}");
    match service::send_to_user(&caller.db, &caller.actor, id).await {
        Ok(link) => Ok(link_made(page, (&caller, &client), link, Purpose::Reset, &back).await?),
        Err(err) => refusal_to_flash(&back, err),
    }
}
