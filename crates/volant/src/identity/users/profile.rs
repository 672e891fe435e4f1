//! One's own profile: who am I, and changing my password.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::identity::Caller;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::tokens::{self, NewToken, TokenInfo};
use crate::identity::auth::web_pages::Routes;
use crate::identity::users::service;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{FormErrors, PageCtx, WebResult, form_flow, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![
        ("/profile", get(show).post(change_password)),
        ("/profile/tokens", axum::routing::post(create_token)),
        ("/profile/tokens/{id}/revoke", axum::routing::post(revoke_token)),
    ]
}

/// A token as the profile lists it.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

impl From<TokenInfo> for TokenRow {
    fn from(t: TokenInfo) -> Self {
        let day = crate::platform::i18n::local_date;
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created: day(t.created_at),
            expires: t.expires_at.map_or_else(|| "—".to_owned(), day),
            last_used: t.last_used_at.map_or_else(|| "—".to_owned(), day),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/profile.html")]
struct ProfilePage {
    page: PageCtx,
    display_name: String,
    email: String,
    roles: String,
    errors: FormErrors,
    tokens: Vec<TokenRow>,
    /// A token just created: shown this once.
    new_token: Option<String>,
}

async fn profile_page(
    state: &AppState,
    page: PageCtx,
    current: &CurrentUser,
    errors: FormErrors,
    new_token: Option<String>,
) -> Result<ProfilePage, AppError> {
    let roles = current.user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let tokens = tokens::list(&state.db, current.user.id).await?.into_iter().map(TokenRow::from).collect();
    Ok(ProfilePage {
        page,
        display_name: current.user.display_name.clone(),
        email: current.user.email.clone(),
        roles,
        errors,
        tokens,
        new_token,
    })
}

async fn show(caller: Caller, page: PageCtx) -> WebResult<ProfilePage> {
    Ok(profile_page(&caller.state, page, &caller.current, FormErrors::default(), None).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    name: String,
    expires_in_days: String,
}

async fn create_token(caller: Caller, page: PageCtx, FormBody(form): FormBody<TokenForm>) -> WebResult<Response> {
    let days = form.expires_in_days.trim();
    let expires_in_days = if days.is_empty() { None } else { Some(days.parse::<i64>().unwrap_or(0)) };
    let new = NewToken { name: Some(form.name), expires_in_days };
    // Shown in this answer only: never in a redirect, a cookie or a URL.
    let new_token = match tokens::create(&caller.db, &caller.actor, &caller.current.session_id, &new).await {
        Ok(created) => Some(created.token),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            return Ok(unprocessable(profile_page(&caller.state, page, &caller.current, errors, None).await?));
        }
    };
    Ok(profile_page(&caller.state, page, &caller.current, FormErrors::default(), new_token).await?.into_response())
}

async fn revoke_token(caller: Caller, Id(id): Id) -> WebResult<Response> {
    tokens::revoke(&caller.db, &caller.actor, id).await?;
    Ok(redirect_with_flash("/profile", "success", i18n::current().text("token.revoked")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(caller: Caller, page: PageCtx, FormBody(form): FormBody<PasswordForm>) -> WebResult<Response> {
    if form.new_password != form.confirm_password {
        let mut errors = FormErrors::default();
        errors.add("confirm_password", Msg::new("user.password_mismatch").render(i18n::current()));
        return Ok(unprocessable(profile_page(&caller.state, page, &caller.current, errors, None).await?));
    }
    let result = service::change_password(
        &caller.db,
        &caller.actor,
        &caller.current.session_id,
        &form.current_password,
        &form.new_password,
    )
    .await;
    let done = |()| redirect_with_flash("/profile", "success", i18n::current().text("user.password_changed"));
    form_flow(result, done, async |errors| profile_page(&caller.state, page, &caller.current, errors, None).await).await
}
