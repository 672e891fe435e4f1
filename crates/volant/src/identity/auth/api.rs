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
/// password get the same 401; too many attempts from one address or for one
/// account get 429 with `Retry-After`.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginInput, security(()),
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
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
    let issued = service::sign_in(&state, Channel::Api, &email, &password, &headers, &extensions).await?;
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

/// Your personal API tokens (never the tokens themselves).
#[utoipa::path(get, path = "/auth/tokens", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = [TokenInfo]), (status = 401, body = Problem)))]
async fn list_tokens(caller: Caller) -> AppResult<Json<Vec<TokenInfo>>> {
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

/// Revoke one of your personal API tokens.
#[utoipa::path(delete, path = "/auth/tokens/{id}", tag = "auth", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    tokens::revoke(&caller.db, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
