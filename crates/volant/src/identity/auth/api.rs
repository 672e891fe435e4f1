//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/auth/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CurrentUser;
use super::service::{self, Channel};
use super::tokens::{self, CreatedToken, NewToken, TokenInfo};
use crate::identity::Caller;
use crate::identity::audit::{self, Action};
use crate::identity::scopes::{ApiArea, Level};
use crate::identity::users::service::AuthUser;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::i18n::Msg;
use crate::platform::validate::Validator;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginInput {
    #[schema(required = true, nullable = false, example = "admin@garage.fr")]
    pub email: Option<String>,
    #[schema(required = true, nullable = false)]
    pub password: Option<String>,
    /// For an account with two-factor sign-in: the six-digit code of its
    /// authenticator app, or one of its recovery codes (each works once).
    #[schema(nullable = false, example = "492039")]
    pub totp_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

/// Exchange an e-mail and password for a bearer token. Unknown e-mail and wrong
/// password get the same 401 `invalid_credentials`; too many attempts from one
/// address or for one account get 429 with `Retry-After`.
///
/// An account with two-factor sign-in also needs `totp_code`: without it, 401
/// `two_factor_required` (send the request again with the code); a wrong code is
/// 401 `invalid_credentials` and counts as a failed attempt. An administrator or
/// manager whose organization requires two-factor sign-in and who has not set it
/// up gets 403 `two_factor_setup_required` (it is set up on the profile page).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginInput, security(()),
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
    ApiJson(input): ApiJson<LoginInput>,
) -> AppResult<Json<TokenResponse>> {
    let mut v = Validator::new();
    let email = v.required_text("email", input.email.as_deref(), 254);
    let password = v.required("password", input.password.filter(|p| !p.is_empty()));
    v.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(AppError::validation("email", Msg::new("field.required")));
    };
    let second = input.totp_code.as_deref();
    let issued = match service::sign_in(&state, Channel::Api, &email, &password, second, &headers, &extensions).await? {
        service::SignedIn::Session(issued) => issued,
        // The API channel asks for the code with an error instead.
        service::SignedIn::SecondFactorNeeded(_) => return Err(AppError::SecondFactorRequired),
    };
    Ok(Json(TokenResponse { access_token: issued.token, token_type: "bearer".into(), expires_in: issued.expires_in }))
}

/// Revoke the token used for this request.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    caller: Caller,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
) -> AppResult<StatusCode> {
    super::revoke(&caller.db, &caller.current.session_id).await?;
    let who = Some((caller.org, caller.current.user.id));
    audit::record_access(&caller.db, Action::Logout, who, &headers, &extensions, None).await?;
    tracing::info!(user_id = caller.current.user.id, "logout");
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = AuthUser), (status = 401, body = Problem)))]
async fn me(current: CurrentUser) -> Json<AuthUser> {
    Json(current.user)
}

/// Your personal API tokens (never the tokens themselves). With a personal token:
/// `account:read`.
#[utoipa::path(get, path = "/auth/tokens", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = [TokenInfo]), (status = 401, body = Problem)))]
async fn list_tokens(caller: Caller) -> AppResult<Json<Vec<TokenInfo>>> {
    caller.current.user.require_scope(ApiArea::Account, Level::Read)?;
    Ok(Json(tokens::list(&caller.db, caller.current.user.id).await?))
}

/// Create a personal API token for an integration. The token is in this answer
/// only: it is stored hashed. It acts with your roles, narrowed to its `scopes`,
/// until revoked or expired: an operation outside its scopes is a 403
/// `insufficient_scope` naming the scope missing (also in `WWW-Authenticate`), a
/// request from outside its `allowed_ips` a 403 `token_ip_not_allowed`.
///
/// A password change or a deactivation of the account revokes it for good. Needs a
/// sign-in session (`POST /auth/login`): a personal token cannot create another
/// one (403 `session_required`).
#[utoipa::path(post, path = "/auth/tokens", tag = "auth", security(("bearer" = [])), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(caller: Caller, ApiJson(new): ApiJson<NewToken>) -> AppResult<axum::response::Response> {
    let created = tokens::create(&caller.db, &caller.actor, &caller.current.session_id, &new).await?;
    Ok(crate::platform::http::respond::created(&format!("/api/v1/auth/tokens/{}", created.info.id), created))
}

/// Revoke one of your personal API tokens. With a personal token: `account:write`
/// (a token may always sign itself out: `POST /auth/logout`).
#[utoipa::path(delete, path = "/auth/tokens/{id}", tag = "auth", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    caller.current.user.require_scope(ApiArea::Account, Level::Write)?;
    tokens::revoke(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
