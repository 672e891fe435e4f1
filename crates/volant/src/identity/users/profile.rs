//! One's own profile: who am I, and changing my password.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::users::service;
use crate::platform::AppState;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn router() -> Router<AppState> {
    Router::new().route("/profile", get(show).post(change_password))
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/profile.html")]
struct ProfilePage {
    page: PageCtx,
    display_name: String,
    email: String,
    roles: String,
    errors: FormErrors,
}

fn profile_page(page: PageCtx, current: &CurrentUser, errors: FormErrors) -> ProfilePage {
    let roles = current.user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    ProfilePage {
        page,
        display_name: current.user.display_name.clone(),
        email: current.user.email.clone(),
        roles,
        errors,
    }
}

async fn show(current: CurrentUser, page: PageCtx) -> ProfilePage {
    profile_page(page, &current, FormErrors::default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<PasswordForm>,
) -> WebResult<Response> {
    if form.new_password != form.confirm_password {
        let mut errors = FormErrors::default();
        errors.add("confirm_password", Msg::new("user.password_mismatch").render(i18n::current()));
        return Ok(unprocessable(profile_page(page, &current, errors)));
    }
    match service::change_password(&state.db, &actor, &current.session_id, &form.current_password, &form.new_password)
        .await
    {
        Ok(()) => Ok(redirect_with_flash("/profile", "success", i18n::current().text("user.password_changed"))),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(profile_page(page, &current, errors)))
        }
    }
}
