//! The pages of two-factor sign-in: the code asked after the password, setting it
//! up from one's profile (QR code, first code, recovery codes shown once), and an
//! administrator's reset for a colleague who lost their phone and their codes.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;

use super::{Enrollment, Status};
use crate::identity::Caller;
use crate::identity::auth::service::{self as sign_in, Channel};
use crate::identity::auth::session_entity;
use crate::identity::auth::web_pages::{Routes, safe_next, session_response};
use crate::identity::users::service::{self as users, AuthUser};
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::{
    FormErrors, PageCtx, WebResult, cookie_header, is_https, read_cookie, redirect_with_flash, see_other, unprocessable,
};

/// The cookie naming a sign-in waiting for its second factor.
const CHALLENGE_COOKIE: &str = "volant_2fa";
/// How long the code may take to come after the password.
const CHALLENGE_TTL: chrono::Duration = chrono::Duration::minutes(5);
/// The session kind of a sign-in waiting for its second factor (never a session:
/// no token names it).
const CHALLENGE_KIND: &str = "two_factor";
/// Codes a pending sign-in may try; then the password is asked again.
const CHALLENGE_ATTEMPTS: i32 = 5;

/// The code asked after the password: open (the pending sign-in's cookie is the credential).
pub fn challenge_routes() -> Routes {
    vec![("/login/two-factor", get(challenge_form).post(challenge))]
}

/// One's own second factor (from the profile).
pub fn own_routes() -> Routes {
    vec![
        ("/profile/two-factor", get(setup).post(confirm)),
        ("/profile/two-factor/recovery-codes", post(renew_codes)),
        ("/profile/two-factor/disable", post(disable_own)),
    ]
}

/// An administrator's reset of a colleague's second factor.
pub fn admin_routes() -> Routes {
    vec![("/admin/users/{id}/two-factor/reset", post(admin_reset))]
}

/// After a right password for an account with a second factor: a pending sign-in
/// (five minutes), its cookie, and the page that asks for the code.
pub async fn start_challenge(
    state: &AppState,
    extensions: &Extensions,
    user: &AuthUser,
    next: &str,
) -> WebResult<Response> {
    let id = crate::platform::secrets::random_token(24)?;
    let now = Utc::now();
    session_entity::ActiveModel {
        id: Set(id.clone()),
        user_id: Set(user.id),
        kind: Set(CHALLENGE_KIND.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + CHALLENGE_TTL),
        revoked_at: Set(None),
        attempts: Set(0),
    }
    .insert(&state.db)
    .await
    .map_err(AppError::from)?;
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    let mut response = see_other(&format!("/login/two-factor?{query}"));
    let max_age = cookie::time::Duration::seconds(CHALLENGE_TTL.num_seconds());
    if let Some(value) = cookie_header(CHALLENGE_COOKIE, &id, Some(max_age), is_https(extensions)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The user of the pending sign-in the cookie names, with its id.
async fn pending(state: &AppState, headers: &HeaderMap) -> WebResult<Option<(AuthUser, String)>> {
    let Some(id) = read_cookie(headers, CHALLENGE_COOKIE).filter(|id| !id.is_empty()) else { return Ok(None) };
    let found = session_entity::Entity::find_by_id(id.clone())
        .filter(session_entity::Column::Kind.eq(CHALLENGE_KIND))
        .filter(session_entity::Column::RevokedAt.is_null())
        .filter(session_entity::Column::ExpiresAt.gt(Utc::now()))
        .one(&state.db)
        .await
        .map_err(AppError::from)?;
    let Some(found) = found else { return Ok(None) };
    Ok(users::find_active(&state.db, found.user_id).await?.map(|user| (user, id)))
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/two_factor_challenge.html")]
struct ChallengePage {
    page: PageCtx,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn challenge_form(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<NextQuery>,
) -> WebResult<Response> {
    let next = safe_next(query.next.as_deref());
    if pending(&state, &headers).await?.is_none() {
        return Ok(expired());
    }
    Ok(ChallengePage { page, next, error: None }.into_response())
}

/// Back to the sign-in page: the pending sign-in is over (or never was).
fn expired() -> Response {
    redirect_with_flash("/login", "error", i18n::current().text("two_factor.challenge_expired"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChallengeForm {
    code: String,
    next: String,
}

async fn challenge(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    extensions: Extensions,
    FormBody(form): FormBody<ChallengeForm>,
) -> WebResult<Response> {
    let next = safe_next(Some(&form.next));
    let Some((user, pending_id)) = pending(&state, &headers).await? else { return Ok(expired()) };
    // Each code tried takes one of the pending sign-in's attempts, before it is
    // checked (so parallel guesses cannot pass the count); none left, it ends.
    let taken = session_entity::Entity::update_many()
        .col_expr(session_entity::Column::Attempts, Expr::col(session_entity::Column::Attempts).add(1))
        .filter(session_entity::Column::Id.eq(pending_id.as_str()))
        .filter(session_entity::Column::Attempts.lt(CHALLENGE_ATTEMPTS))
        .exec(&state.db)
        .await
        .map_err(AppError::from)?
        .rows_affected;
    if taken == 0 {
        crate::identity::auth::revoke(&state.db, &pending_id).await?;
        return Ok(redirect_with_flash("/login", "error", i18n::current().text("two_factor.too_many_codes")));
    }
    match sign_in::finish_second_factor(&state, Channel::Web, &user, &form.code, &headers, &extensions).await {
        Ok(issued) => {
            crate::identity::auth::revoke(&state.db, &pending_id).await?;
            let mut response = session_response(&extensions, &issued, &next);
            let gone = cookie::time::Duration::ZERO;
            if let Some(value) = cookie_header(CHALLENGE_COOKIE, "", Some(gone), is_https(&extensions)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(err @ (AppError::InvalidCredentials | AppError::TooManyRequests { .. })) => {
            let status = err.status();
            let error = Some(match err {
                AppError::InvalidCredentials => i18n::current().text("two_factor.code_refused").to_owned(),
                other => other.detail(i18n::current()),
            });
            Ok((status, ChallengePage { page, next, error }).into_response())
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/two_factor.html")]
struct SetupPage {
    page: PageCtx,
    status: Status,
    enabled_since: String,
    /// While setting it up: the QR code and the secret.
    enrollment: Option<Enrollment>,
    /// Recovery codes just made: shown this once.
    codes: Vec<String>,
    /// The organization requires it of this user.
    required: bool,
    errors: FormErrors,
}

async fn setup_page(caller: &Caller, page: PageCtx, errors: FormErrors, codes: Vec<String>) -> WebResult<SetupPage> {
    let status = super::status(&caller.db, caller.current.user.id).await?;
    let org = crate::identity::organizations::service::get(&caller.db, caller.org).await?;
    let enrollment = match status.enabled_since {
        Some(_) => None,
        None => {
            let issuer = format!("{} (Volant)", org.name);
            Some(super::enrollment(&caller.db, &caller.cipher, &caller.current.user, &issuer).await?)
        }
    };
    Ok(SetupPage {
        page,
        enabled_since: status.enabled_since.map(i18n::local_date).unwrap_or_default(),
        status,
        enrollment,
        codes,
        required: super::required_for(&caller.current.user, org.require_two_factor),
        errors,
    })
}

async fn setup(caller: Caller, page: PageCtx) -> WebResult<SetupPage> {
    setup_page(&caller, page, FormErrors::default(), Vec::new()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    code: String,
}

async fn confirm(caller: Caller, page: PageCtx, FormBody(form): FormBody<CodeForm>) -> WebResult<Response> {
    let user = &caller.current.user;
    match super::confirm(&caller.db, &caller.cipher, &caller.actor, user, &form.code).await {
        Ok(codes) => Ok(setup_page(&caller, page, FormErrors::default(), codes).await?.into_response()),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(setup_page(&caller, page, errors, Vec::new()).await?))
        }
    }
}

/// New recovery codes, asking for the password again (a session left open must
/// not be enough to mint a way past the second factor).
async fn renew_codes(caller: Caller, page: PageCtx, FormBody(form): FormBody<DisableForm>) -> WebResult<Response> {
    let user = &caller.current.user;
    if users::authenticate(&caller.db, &user.email, &form.password).await?.is_none() {
        let mut errors = FormErrors::default();
        errors.add("renew_password", i18n::current().text("two_factor.password_wrong").to_owned());
        return Ok(unprocessable(setup_page(&caller, page, errors, Vec::new()).await?));
    }
    let codes = super::renew_recovery_codes(&caller.db, &caller.actor, user.id).await?;
    Ok(setup_page(&caller, page, FormErrors::default(), codes).await?.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DisableForm {
    #[serde(alias = "renew_password")]
    password: String,
}

/// Turning it off asks for the password again; refused where the organization
/// requires it of this user.
async fn disable_own(caller: Caller, page: PageCtx, FormBody(form): FormBody<DisableForm>) -> WebResult<Response> {
    let user = &caller.current.user;
    let org = crate::identity::organizations::service::get(&caller.db, caller.org).await?;
    if super::required_for(user, org.require_two_factor) {
        return Err(AppError::ForbiddenBecause {
            code: "two_factor_setup_required",
            message: i18n::Msg::new("two_factor.required_by_organization"),
        }
        .into());
    }
    if users::authenticate(&caller.db, &user.email, &form.password).await?.is_none() {
        let mut errors = FormErrors::default();
        errors.add("password", i18n::current().text("two_factor.password_wrong").to_owned());
        return Ok(unprocessable(setup_page(&caller, page, errors, Vec::new()).await?));
    }
    super::disable(&caller.db, &caller.actor, user.id, "turned off by the user").await?;
    Ok(redirect_with_flash("/profile", "success", i18n::current().text("two_factor.disabled")))
}

async fn admin_reset(caller: Caller, Id(id): Id) -> WebResult<Response> {
    // The user must be of this organization (404 otherwise).
    let user = users::get(&caller.db, caller.org, id).await?;
    let back = format!("/admin/users/{id}");
    if user.id == caller.current.user.id {
        return Ok(redirect_with_flash(&back, "error", i18n::current().text("two_factor.reset_own")));
    }
    if super::disable(&caller.db, &caller.actor, user.id, "reset by an administrator").await? {
        crate::identity::auth::revoke_all(&caller.db, user.id).await?;
    }
    let done = i18n::current().format("two_factor.reset_done", &[("name", &user.display_name)]);
    Ok(redirect_with_flash(&back, "success", &done))
}

/// Where the page guard sends someone whose organization requires a second
/// factor they have not set up; the pages they may still open meanwhile.
pub const SETUP_PATH: &str = "/profile/two-factor";
pub const OPEN_DURING_SETUP: [&str; 2] = [SETUP_PATH, "/logout"];

/// The guard's redirect to the setup page, saying why.
pub fn setup_required() -> Response {
    redirect_with_flash(SETUP_PATH, "warning", i18n::current().text("two_factor.required_by_organization"))
}
