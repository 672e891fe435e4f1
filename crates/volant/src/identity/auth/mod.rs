//! Sign-in sessions and bearer tokens (JWT, HS256), and the `CurrentUser` extractor.
//!
//! A token is a signed claim naming a session row; signing out revokes the row,
//! so a token stops working before it expires.

pub mod api;
pub mod landing;
pub mod service;
pub mod session_entity;
pub mod tokens;
pub mod web_pages;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::sync::Arc;

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};

use crate::identity::users::service::{self as users, AuthUser};
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult};
use crate::platform::{credentials, secrets, web};

/// How long an API token lives.
pub const TOKEN_TTL: Duration = Duration::hours(1);
/// How long a web sign-in lasts (a working day).
pub const WEB_SESSION_TTL: Duration = Duration::hours(12);
/// The cookie that carries a web session's token.
pub const SESSION_COOKIE: &str = "volant_session";
/// Name of the instance secret that signs tokens.
pub const SIGNING_SECRET: &str = "jwt_hs256";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's organization.
    pub org: i64,
    /// The session's id.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// A new session and its signed token.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

pub async fn issue(db: &impl ConnectionTrait, key: &[u8], user: &AuthUser, kind: &str) -> AppResult<IssuedToken> {
    let now = Utc::now();
    let ttl = if kind == "web" { WEB_SESSION_TTL } else { TOKEN_TTL };
    let expires_at = now + ttl;
    let session_id = secrets::random_token(24)?;
    session_entity::ActiveModel {
        id: Set(session_id.clone()),
        user_id: Set(user.id),
        kind: Set(kind.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        attempts: Set(0),
    }
    .insert(db)
    .await?;
    let claims = Claims {
        sub: user.id.to_string(),
        org: user.organization_id,
        jti: session_id,
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key))
        .map_err(|e| AppError::Internal(format!("signing: {e}")))?;
    Ok(IssuedToken { token, expires_in: ttl.num_seconds() })
}

/// Checks signature (HS256 only: `alg: none` and every other algorithm are refused),
/// expiry, and that the session is neither revoked nor expired.
pub fn decode(key: &[u8], token: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "sub", "jti"]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key), &validation).ok().map(|data| data.claims)
}

/// A live session as the database holds it (what the credential cache keeps).
#[derive(Debug)]
pub struct LiveSession {
    pub user: AuthUser,
    /// `api`, `web`.
    pub kind: String,
    pub expires_at: chrono::DateTime<Utc>,
}

impl LiveSession {
    /// Whether a token's claims name this session's user, and it is still running.
    pub fn admits(&self, claims: &Claims) -> bool {
        claims.sub.parse::<i64>().is_ok_and(|id| id == self.user.id)
            && claims.org == self.user.organization_id
            && self.expires_at > Utc::now()
    }
}

/// The live session that verified `claims` name, with its user and roles, in one
/// round trip.
pub async fn find_session(db: &impl ConnectionTrait, claims: &Claims) -> AppResult<Option<LiveSession>> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use session_entity::{Column, Entity as Sessions};
    let Ok(user_id) = claims.sub.parse::<i64>() else { return Ok(None) };
    let users_id = (crate::identity::users::entity::Entity, crate::identity::users::entity::Column::Id);
    let users_org = (crate::identity::users::entity::Entity, crate::identity::users::entity::Column::OrganizationId);
    let found = users::find_active_where(db, |query| {
        query
            .expr_as(Expr::col((Sessions, Column::Kind)), "session_kind")
            .expr_as(Expr::col((Sessions, Column::ExpiresAt)), "session_expires_at")
            .inner_join(Sessions, Expr::col((Sessions, Column::UserId)).equals(users_id))
            .and_where(Expr::col((Sessions, Column::Id)).eq(claims.jti.as_str()))
            .and_where(Expr::col((Sessions, Column::RevokedAt)).is_null())
            .and_where(Expr::col((Sessions, Column::ExpiresAt)).gt(Utc::now()))
            .and_where(Expr::col(users_id).eq(user_id))
            .and_where(Expr::col(users_org).eq(claims.org));
    })
    .await?;
    let Some((user, row)) = found else { return Ok(None) };
    Ok(Some(LiveSession {
        user,
        kind: row.try_get("", "session_kind")?,
        expires_at: row.try_get("", "session_expires_at")?,
    }))
}

/// How a personal token appears as a `CurrentUser::session_id`.
pub const PERSONAL_TOKEN_SESSION: &str = "token:";

/// Ends a session: its token is refused from now on. Signing out with a personal
/// token revokes that token.
pub async fn revoke(db: &impl ConnectionTrait, session_id: &str) -> AppResult<()> {
    if let Some(id) = session_id.strip_prefix(PERSONAL_TOKEN_SESSION).and_then(|id| id.parse::<i64>().ok()) {
        use sea_orm::{ColumnTrait, QueryFilter};
        let found =
            tokens::entity::Entity::find_by_id(id).filter(tokens::entity::Column::RevokedAt.is_null()).one(db).await?;
        if let Some(token) = found {
            let user_id = token.user_id;
            let mut active: tokens::entity::ActiveModel = token.into();
            active.revoked_at = Set(Some(Utc::now()));
            active.update(db).await?;
            credentials::forget_user(user_id);
        }
        return Ok(());
    }
    if let Some(session) = session_entity::Entity::find_by_id(session_id.to_owned()).one(db).await? {
        let user_id = session.user_id;
        let mut active: session_entity::ActiveModel = session.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(db).await?;
        credentials::forget_user(user_id);
    }
    Ok(())
}

/// Ends every session of a user (deactivation).
pub async fn revoke_all(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    session_entity::Entity::update_many()
        .col_expr(session_entity::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session_entity::Column::UserId.eq(user_id))
        .filter(session_entity::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    // Inside a transaction this is early: the caller forgets again after its commit.
    credentials::forget_user(user_id);
    Ok(())
}

/// Ends every session of a user but one (after a password change).
pub async fn revoke_all_but(db: &impl ConnectionTrait, user_id: i64, keep: &str) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    session_entity::Entity::update_many()
        .col_expr(session_entity::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session_entity::Column::UserId.eq(user_id))
        .filter(session_entity::Column::Id.ne(keep))
        .filter(session_entity::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    // Inside a transaction this is early: the caller forgets again after its commit.
    credentials::forget_user(user_id);
    Ok(())
}

/// The signed-in caller; 401 without a valid `Authorization: Bearer` token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: AuthUser,
    pub session_id: String,
    /// Signed in through the sign-in page (a cookie's session), whatever carries it.
    pub web_session: bool,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(current) = parts.extensions.get::<Self>() {
            return Ok(current.clone());
        }
        // The API takes bearer tokens only; pages take the session cookie only, so a
        // cross-site form can never ride on an API token nor the API on a cookie.
        let token = if web::is_html_request() {
            web::read_cookie(&parts.headers, SESSION_COOKIE)
        } else {
            parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(|t| t.trim().to_owned())
        };
        let token = token.filter(|t| !t.is_empty()).ok_or(AppError::Unauthorized)?;
        let credentials = &state.credentials;
        if state.config.credential_cache {
            credentials.watch(&state.db);
        }
        let (user, session_id, web_session) = if token.starts_with(tokens::PREFIX) && !web::is_html_request() {
            let client = crate::platform::proxy::ClientContext::of(&parts.extensions).ip;
            let token_hash = tokens::hash(&token);
            let key = format!("t:{token_hash}");
            let remembered = credentials.get(&key).and_then(|found| found.downcast::<tokens::LiveToken>().ok());
            let live = match remembered {
                Some(live) if !live.expired(Utc::now()) => live,
                Some(_) => return Err(AppError::Unauthorized),
                None => {
                    let generation = credentials.generation();
                    let live =
                        Arc::new(tokens::find_live(&state.db, &token_hash).await?.ok_or(AppError::Unauthorized)?);
                    credentials.remember(key, live.user.id, live.clone(), generation);
                    live
                }
            };
            let (user, id) = match tokens::admit(&state.db, &live, client).await? {
                tokens::TokenCheck::Valid(user, id) => (user, id),
                tokens::TokenCheck::OutsideRanges(user, id) => {
                    // A token's use from elsewhere is the audit trail's business: it
                    // may be a leaked token.
                    let details = serde_json::json!({ "token_id": id, "refused": "token_ip_not_allowed" });
                    crate::identity::audit::record_access(
                        &state.db,
                        crate::identity::audit::Action::PermissionDenied,
                        Some((user.org, user.id)),
                        &parts.headers,
                        &parts.extensions,
                        Some(details),
                    )
                    .await?;
                    return Err(tokens::outside_ranges());
                }
            };
            (user, format!("{PERSONAL_TOKEN_SESSION}{id}"), false)
        } else {
            let claims = decode(&state.signing_key, &token).ok_or(AppError::Unauthorized)?;
            let key = format!("s:{}", claims.jti);
            let remembered = credentials.get(&key).and_then(|found| found.downcast::<LiveSession>().ok());
            let live = match remembered {
                Some(live) => live,
                None => {
                    let generation = credentials.generation();
                    let live = Arc::new(find_session(&state.db, &claims).await?.ok_or(AppError::Unauthorized)?);
                    credentials.remember(key, live.user.id, live.clone(), generation);
                    live
                }
            };
            if !live.admits(&claims) {
                return Err(AppError::Unauthorized);
            }
            (live.user.clone(), claims.jti, live.kind == "web")
        };
        // Every later log line of this request says who made it (ids only, never names or tokens).
        let span = tracing::Span::current();
        span.record("user_id", user.id);
        span.record("organization_id", user.org.get());
        let current = Self { user, session_id, web_session };
        parts.extensions.insert(current.clone());
        Ok(current)
    }
}
