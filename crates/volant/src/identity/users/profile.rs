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
use crate::identity::roles::Permission;
use crate::identity::scopes::{ApiArea, Grant, Level, TokenScope};
use crate::identity::users::service;
use crate::identity::users::service::AuthUser;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{
    FormErrors, PageCtx, SelectOption, WebResult, form_flow, options, redirect_with_flash, unprocessable,
};

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
    /// Its areas and levels, in words.
    pub scopes: Vec<String>,
    pub allowed_ips: String,
}

impl TokenRow {
    fn new(t: TokenInfo, tr: i18n::Locale) -> Self {
        let day = crate::platform::i18n::local_date;
        let scopes = Grant::from_scopes(t.scopes.iter().copied());
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created: day(t.created_at),
            expires: t.expires_at.map_or_else(|| "—".to_owned(), day),
            last_used: t.last_used_at.map_or_else(|| tr.text("token.never").to_owned(), day),
            scopes: scopes
                .scopes()
                .into_iter()
                .map(|s| format!("{} : {}", tr.text(s.area.label_key()), tr.text(level_key(Some(s.level)))))
                .collect(),
            allowed_ips: if t.allowed_ips.is_empty() {
                tr.text("token.anywhere").to_owned()
            } else {
                t.allowed_ips.join(", ")
            },
        }
    }
}

fn level_key(level: Option<Level>) -> &'static str {
    match level {
        None => "token.level.none",
        Some(Level::Read) => "token.level.read",
        Some(Level::Write) => "token.level.write",
    }
}

/// One area of the new-token form: a choice of no access, reading or writing.
pub struct ScopeChoice {
    pub field: String,
    pub label: String,
    pub options: Vec<SelectOption>,
}

/// The new-token form as filled (empty at first: no area chosen).
#[derive(Debug, Default)]
struct TokenDraft {
    name: String,
    expires_in_days: String,
    allowed_ips: String,
    levels: Vec<(ApiArea, Level)>,
}

impl TokenDraft {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut draft = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => draft.name = value,
                "expires_in_days" => draft.expires_in_days = value,
                "allowed_ips" => draft.allowed_ips = value,
                _ => {
                    let area = key.strip_prefix("scope_").and_then(ApiArea::parse);
                    let level = match value.as_str() {
                        "read" => Some(Level::Read),
                        "write" => Some(Level::Write),
                        _ => None,
                    };
                    if let (Some(area), Some(level)) = (area, level) {
                        draft.levels.push((area, level));
                    }
                }
            }
        }
        draft
    }

    fn to_new_token(&self) -> NewToken {
        let days = self.expires_in_days.trim();
        NewToken {
            name: Some(self.name.clone()),
            expires_in_days: if days.is_empty() { None } else { Some(days.parse::<i64>().unwrap_or(0)) },
            scopes: Some(self.levels.iter().map(|(area, level)| TokenScope::new(*area, *level)).collect()),
            allowed_ips: Some(self.allowed_ips.split(',').map(|r| r.trim().to_owned()).collect()),
        }
    }
}

/// The areas the user's roles reach: a token cannot reach more, so the form offers
/// no other.
fn scope_choices(user: &AuthUser, draft: &TokenDraft, tr: i18n::Locale) -> Vec<ScopeChoice> {
    ApiArea::ALL
        .into_iter()
        .filter(|area| Permission::ALL.into_iter().any(|p| p.area().0 == *area && user.roles_allow(p)))
        .map(|area| {
            let chosen = draft.levels.iter().rev().find(|(a, _)| *a == area).map(|(_, level)| *level);
            let selected = chosen.map_or("", Level::as_str);
            let levels =
                [Level::Read, Level::Write].map(|l| (l.as_str().to_owned(), tr.text(level_key(Some(l))).to_owned()));
            ScopeChoice {
                field: format!("scope_{}", area.as_str()),
                label: tr.text(area.label_key()).to_owned(),
                options: options(Some(tr.text(level_key(None))), selected, levels),
            }
        })
        .collect()
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
    token_name: String,
    token_expires_in_days: String,
    token_allowed_ips: String,
    scope_choices: Vec<ScopeChoice>,
    two_factor_on: bool,
}

async fn profile_page(
    state: &AppState,
    page: PageCtx,
    current: &CurrentUser,
    errors: FormErrors,
    draft: &TokenDraft,
    new_token: Option<String>,
) -> Result<ProfilePage, AppError> {
    let tr = i18n::current();
    let roles = current
        .user
        .roles
        .iter()
        .map(|r| tr.text(&format!("role.{}", r.as_str())).to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    let tokens = tokens::list(&state.db, current.user.id).await?.into_iter().map(|t| TokenRow::new(t, tr)).collect();
    Ok(ProfilePage {
        page,
        display_name: current.user.display_name.clone(),
        email: current.user.email.clone(),
        roles,
        errors,
        tokens,
        new_token,
        token_name: draft.name.clone(),
        token_expires_in_days: draft.expires_in_days.clone(),
        token_allowed_ips: draft.allowed_ips.clone(),
        scope_choices: scope_choices(&current.user, draft, tr),
        two_factor_on: crate::identity::two_factor::is_enabled(&state.db, current.user.id).await?,
    })
}

async fn show(caller: Caller, page: PageCtx) -> WebResult<ProfilePage> {
    Ok(profile_page(&caller.state, page, &caller.current, FormErrors::default(), &TokenDraft::default(), None).await?)
}

async fn create_token(
    caller: Caller,
    page: PageCtx,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let draft = TokenDraft::from_pairs(pairs);
    // Shown in this answer only: never in a redirect, a cookie or a URL.
    let new_token = match tokens::create(&caller.db, &caller.actor, &caller.current.session_id, &draft.to_new_token())
        .await
    {
        Ok(created) => Some(created.token),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            return Ok(unprocessable(profile_page(&caller.state, page, &caller.current, errors, &draft, None).await?));
        }
    };
    let blank = TokenDraft::default();
    Ok(profile_page(&caller.state, page, &caller.current, FormErrors::default(), &blank, new_token)
        .await?
        .into_response())
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
        return Ok(unprocessable(
            profile_page(&caller.state, page, &caller.current, errors, &TokenDraft::default(), None).await?,
        ));
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
    form_flow(result, done, async |errors| {
        profile_page(&caller.state, page, &caller.current, errors, &TokenDraft::default(), None).await
    })
    .await
}
