//! Identity and access: organizations (tenants), users and roles, sign-in.
//! Domains see it only through extractors (`Tenant`, `CurrentUser`).

pub mod audit;
pub mod auth;
pub mod organizations;
pub mod roles;
pub mod users;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::tenant::OrgId;

/// Sign-in (open) and the audit trail (administrators).
pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    auth::api::router()
        .merge(guard(audit::api::router(), state, Permission::AuditRead, Permission::AuditRead))
        .merge(guard(users::api::router(), state, Permission::UsersManage, Permission::UsersManage))
        .merge(guard(organizations::api::router(), state, Permission::OwnProfile, Permission::OrgSettings))
}

/// Puts a domain's API behind sign-in: see [`require_access`].
pub fn guard(
    router: OpenApiRouter<AppState>,
    state: &AppState,
    read: Permission,
    write: Permission,
) -> OpenApiRouter<AppState> {
    router.route_layer(axum::middleware::from_fn_with_state((state.clone(), (read, write)), require_access))
}

/// The caller's organization, handed to every domain service: the signed-in user's.
#[derive(Debug, Clone, Copy)]
pub struct Tenant(pub OrgId);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(current) = parts.extensions.get::<CurrentUser>() {
            return Ok(Self(current.user.org));
        }
        CurrentUser::from_request_parts(parts, state).await.map(|current| Self(current.user.org))
    }
}

/// Whether the signed-in user may make this request: `read` for safe methods,
/// `write` for the others. A refusal is logged and is a 403.
pub fn authorize(
    current: &CurrentUser,
    parts: &Parts,
    (read, write): (Permission, Permission),
) -> Result<(), AppError> {
    let needed = if matches!(parts.method, Method::GET | Method::HEAD) { read } else { write };
    if current.user.may(needed) {
        Ok(())
    } else {
        tracing::info!(user_id = current.user.id, ?needed, path = %parts.uri.path(), "permission denied");
        Err(AppError::Forbidden)
    }
}

/// The identity pages: sign-in (open) and administration (administrators).
pub fn pages() -> Vec<Page> {
    use Permission::{AuditRead, OrgSettings, OwnProfile, UsersManage};
    [
        web_pages::pages(Access::Public, web_pages::routes()),
        web_pages::pages(Access::guarded(AuditRead, AuditRead), audit::web::routes()),
        web_pages::pages(Access::guarded(UsersManage, UsersManage), users::web::routes()),
        web_pages::pages(Access::guarded(OwnProfile, OwnProfile), users::profile::routes()),
        web_pages::pages(Access::guarded(OrgSettings, OrgSettings), organizations::web::routes()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Records a refused request in the audit trail. A failure to record is logged,
/// never turned into a different answer.
pub async fn record_denial(state: &AppState, current: &CurrentUser, parts: &Parts) {
    let path = parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |o| o.0.path());
    let details = serde_json::json!({ "method": parts.method.as_str(), "path": path });
    let who = Some((current.user.org, current.user.id));
    if let Err(err) = audit::record_access(
        &state.db,
        audit::Action::PermissionDenied,
        who,
        &parts.headers,
        &parts.extensions,
        Some(details),
    )
    .await
    {
        tracing::error!(error = %err, "could not record a permission denial");
    }
}

/// Guards a domain's API: a signed-in user whose roles grant `read` for safe
/// methods and `write` for the others; 401 without a valid token, 403 otherwise.
pub async fn require_access(
    State((state, (read, write))): State<(AppState, (Permission, Permission))>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let current = match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(current) => current,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = authorize(&current, &parts, (read, write)) {
        record_denial(&state, &current, &parts).await;
        return err.into_response();
    }
    if let Err(err) = state.limits.check_api(current.user.id).await {
        return err.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
