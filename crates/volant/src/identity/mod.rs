//! Identity and access: organizations (tenants), users and roles, sign-in.
//! Domains see it only through extractors (`Caller`, `CurrentUser`).

pub mod access;
pub mod audit;
pub mod auth;
pub mod navigation;
pub mod organizations;
pub mod passwords;
pub mod roles;
pub mod scopes;
pub mod sso;
pub mod two_factor;
pub mod users;
pub mod welcome;

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use utoipa_axum::router::OpenApiRouter;

use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::{Audience, MenuEntry};
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::tenant::OrgId;
use crate::platform::web::{Module, WelcomeSteps};

/// Sign-in, one's tokens, the audit trail, users and the organization's settings;
/// each operation declares who may call it (see [`access`]).
pub fn api_router() -> OpenApiRouter<AppState> {
    auth::api::router()
        .merge(passwords::api::router())
        .merge(audit::api::router())
        .merge(users::api::router())
        .merge(organizations::api::router())
        .merge(sso::api::router())
}

/// A signed-in request as most handlers need it: the application's state, the
/// signed-in person ([`CurrentUser`]), their organization, and the [`Actor`]
/// their writes are recorded under. It derefs to the state: `caller.db`.
#[derive(Clone)]
pub struct Caller {
    pub state: AppState,
    pub current: CurrentUser,
    pub org: OrgId,
    pub actor: Actor,
}

impl std::ops::Deref for Caller {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.state
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if parts.extensions.get::<crate::platform::http::idempotency::InvalidIdempotencyKey>().is_some() {
            return Err(crate::platform::http::idempotency::InvalidIdempotencyKey::refusal());
        }
        let org = current.user.org;
        let actor = Actor::from_request(org, Some(current.user.id), &parts.headers, &parts.extensions);
        Ok(Self { state: state.clone(), current, org, actor })
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

/// The identity pages: the landing page and sign-in (open), one's profile, and
/// administration (administrators).
pub fn pages(welcome: &'static [WelcomeSteps]) -> Vec<Page> {
    use Permission::{AuditRead, OrgSettings, OwnProfile, UsersInvite, UsersManage};
    [
        web_pages::pages(Access::Public, web_pages::routes()),
        web_pages::pages(Access::Public, auth::landing::routes(welcome)),
        // Those who set the business up: administrators and managers.
        web_pages::pages(Access::guarded(UsersInvite, UsersInvite), welcome::routes(welcome)),
        web_pages::pages(Access::Public, passwords::web::routes()),
        web_pages::pages(Access::Public, two_factor::web::challenge_routes()),
        web_pages::pages(Access::Public, sso::web::sign_in_routes()),
        web_pages::pages(Access::guarded(OrgSettings, OrgSettings), sso::web::admin_routes()),
        web_pages::pages(Access::guarded(OwnProfile, OwnProfile), two_factor::web::own_routes()),
        web_pages::pages(Access::guarded(UsersManage, UsersManage), two_factor::web::admin_routes()),
        web_pages::secret_link_pages(passwords::web::link_routes()),
        web_pages::pages(Access::guarded(UsersManage, UsersManage), passwords::web::admin_routes()),
        web_pages::pages(Access::guarded(UsersInvite, UsersInvite), users::web::invite_routes()),
        web_pages::pages(Access::guarded(AuditRead, AuditRead), audit::web::routes()),
        web_pages::pages(Access::guarded(UsersManage, UsersManage), users::web::routes()),
        web_pages::pages(Access::guarded(OwnProfile, OwnProfile), users::profile::routes()),
        web_pages::pages(Access::guarded(OrgSettings, OrgSettings), organizations::web::routes()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Users, the organization and its audit trail (Administration).
pub fn menu() -> Vec<MenuEntry> {
    use Permission::{AuditRead, OrgSettings, UsersInvite, UsersManage};
    vec![
        MenuEntry::new(Module::Administration, "nav.users", "/admin/users", Audience::May(UsersManage))
            .also(&["/admin/invitations"]),
        MenuEntry::new(
            Module::Administration,
            "nav.invite",
            "/admin/invitations",
            Audience::MayWithout(UsersInvite, UsersManage),
        ),
        MenuEntry::new(Module::Administration, "nav.organization", "/admin/organization", Audience::May(AuditRead)),
        MenuEntry::new(Module::Administration, "nav.audit", "/admin/audit", Audience::May(AuditRead)),
        MenuEntry::new(Module::Administration, "nav.sso", "/admin/sso", Audience::May(OrgSettings)),
    ]
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
