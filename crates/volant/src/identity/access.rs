//! Who may call each API operation. Every handler declares it once, in its
//! `#[utoipa::path]` attribute, as the operation's security requirement:
//!
//! - `security(("bearer" = ["fleet.write"]))`: signed in, with a role granting
//!   that permission (its [`Permission::scope`]);
//! - `security(("bearer" = []))`: signed in, whatever the roles (one's own tokens);
//! - `security(())`: open (signing in).
//!
//! The OpenAPI document is built from those attributes, and [`ApiAccess`] is read
//! from the document: one layer enforces exactly what clients are told, so the
//! two cannot disagree. An operation that declares nothing stops the application
//! from starting, and a route missing from the document is refused.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::identity::auth::CurrentUser;
use crate::identity::roles::Permission;
use crate::identity::scopes::{Level, TokenScope};
use crate::platform::AppState;
use crate::platform::error::AppError;

/// The name of the security scheme every protected operation names.
pub const BEARER: &str = "bearer";

/// What an operation asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone.
    Open,
    /// A signed-in user, whatever their roles.
    SignedIn,
    /// A signed-in user whose roles grant this permission.
    Permission(Permission),
}

/// An operation of the document whose security requirement cannot be enforced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error(
        "{method} {path} declares no security requirement: add `security((\"bearer\" = [\"<scope>\"]))` to its #[utoipa::path] (or `security(())` if it is open)"
    )]
    Undeclared { method: String, path: String },
    #[error("{method} {path} names `{scope}`, which is no permission's scope")]
    UnknownScope { method: String, path: String, scope: String },
    #[error("{method} {path}: one requirement with at most one `bearer` scope, please (found {found})")]
    Ambiguous { method: String, path: String, found: String },
}

/// Every operation's requirement, keyed by method and path template as the
/// router matches it (`/api/v1/garages/{id}`).
#[derive(Debug, Default)]
pub struct ApiAccess {
    by_route: HashMap<(Method, String), Requirement>,
}

const METHODS: [(&str, Method); 5] = [
    ("get", Method::GET),
    ("post", Method::POST),
    ("put", Method::PUT),
    ("patch", Method::PATCH),
    ("delete", Method::DELETE),
];

impl ApiAccess {
    /// Reads every operation's requirement from the OpenAPI document (as served).
    pub fn from_document(doc: &Value) -> Result<Self, AccessError> {
        let mut by_route = HashMap::new();
        let paths = doc.get("paths").and_then(Value::as_object).into_iter().flatten();
        for (path, item) in paths {
            for (name, method) in &METHODS {
                let Some(operation) = item.get(*name) else { continue };
                let requirement = requirement_of(operation.get("security")).map_err(|found| match found {
                    None => AccessError::Undeclared { method: method.to_string(), path: path.clone() },
                    Some(Found::Unknown(scope)) => {
                        AccessError::UnknownScope { method: method.to_string(), path: path.clone(), scope }
                    }
                    Some(Found::Other(found)) => {
                        AccessError::Ambiguous { method: method.to_string(), path: path.clone(), found }
                    }
                })?;
                by_route.insert((method.clone(), path.clone()), requirement);
            }
        }
        Ok(Self { by_route })
    }

    /// The requirement of the operation routed at `path` (a template); HEAD is GET's.
    pub fn requirement(&self, method: &Method, path: &str) -> Option<Requirement> {
        let method = if *method == Method::HEAD { Method::GET } else { method.clone() };
        self.by_route.get(&(method, path.to_owned())).copied()
    }

    pub fn len(&self) -> usize {
        self.by_route.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_route.is_empty()
    }
}

enum Found {
    Unknown(String),
    Other(String),
}

/// `None` for an operation that declares nothing.
fn requirement_of(security: Option<&Value>) -> Result<Requirement, Option<Found>> {
    let requirements = security.and_then(Value::as_array).ok_or(None)?;
    let [requirement] = requirements.as_slice() else {
        return Err(Some(Found::Other(Value::Array(requirements.clone()).to_string())));
    };
    let schemes = requirement.as_object().ok_or_else(|| Some(Found::Other(requirement.to_string())))?;
    if schemes.is_empty() {
        return Ok(Requirement::Open);
    }
    let (1, Some(scopes)) = (schemes.len(), schemes.get(BEARER).and_then(Value::as_array)) else {
        return Err(Some(Found::Other(requirement.to_string())));
    };
    match scopes.as_slice() {
        [] => Ok(Requirement::SignedIn),
        [scope] => {
            let scope = scope.as_str().unwrap_or_default();
            Permission::from_scope(scope)
                .map(Requirement::Permission)
                .ok_or_else(|| Some(Found::Unknown(scope.to_owned())))
        }
        _ => Err(Some(Found::Other(requirement.to_string()))),
    }
}

/// The API's guard, on every API route (a route layer: it runs once the route is
/// matched, knowing its template): the operation's requirement, else 401 without a
/// valid token, 403 (logged and audited) without the permission or, with a
/// personal token, without the scope (`insufficient_scope`), 429 over the
/// caller's request budget. A route the document does not know is refused.
pub async fn enforce(
    State((state, access)): State<(AppState, Arc<ApiAccess>)>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let template = matched.as_ref().map_or("", MatchedPath::as_str);
    let Some(requirement) = access.requirement(request.method(), template) else {
        tracing::error!(method = %request.method(), route = template, "API route without a declared requirement: refused");
        return AppError::Forbidden.into_response();
    };
    let needed = match requirement {
        Requirement::Open => return next.run(request).await,
        Requirement::SignedIn => None,
        Requirement::Permission(permission) => Some(permission),
    };
    let (mut parts, body) = request.into_parts();
    let current = match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(current) => current,
        Err(err) => return err.into_response(),
    };
    // A web session of someone who must set up a second factor first opens pages
    // that lead there, and nothing of the API (its cookie's token must not be a way
    // around the set-up); signing out and `me` stay open.
    if current.web_session
        && crate::identity::two_factor::required_for(&current.user, true)
        && !matches!(template, "/api/v1/auth/logout" | "/api/v1/auth/me")
    {
        match crate::identity::auth::service::must_set_up_second_factor(&state, &current.user).await {
            Ok(false) => {}
            Ok(true) => {
                let message = crate::platform::i18n::Msg::new("two_factor.setup_required");
                return AppError::ForbiddenBecause { code: "two_factor_setup_required", message }.into_response();
            }
            Err(err) => return err.into_response(),
        }
    }
    if let Some(needed) = needed
        && !current.user.roles_allow(needed)
    {
        tracing::info!(user_id = current.user.id, ?needed, path = %parts.uri.path(), "permission denied");
        crate::identity::record_denial(&state, &current, &parts).await;
        return AppError::Forbidden.into_response();
    }
    if let (Some(needed), Some(grant)) = (needed, &current.user.grant) {
        let (area, least) = needed.area();
        let level = least.max(Level::of_method(&parts.method));
        if !grant.reaches(area, level) {
            let scope = TokenScope::new(area, level);
            tracing::info!(user_id = current.user.id, %scope, path = %parts.uri.path(), "token scope missing");
            crate::identity::record_denial(&state, &current, &parts).await;
            return AppError::InsufficientScope { scope: scope.to_string() }.into_response();
        }
    }
    let (standing, admitted) = state.limits.check_api(current.user.id).await;
    let mut response = match admitted {
        Ok(()) => {
            parts.extensions.insert(current);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(err) => err.into_response(),
    };
    standing.write(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(security: Option<Value>) -> Value {
        let mut operation = json!({ "responses": {} });
        if let Some(security) = security {
            operation["security"] = security;
        }
        json!({ "paths": { "/api/v1/things/{id}": { "get": operation } } })
    }

    #[test]
    fn each_declaration_reads_as_its_requirement() {
        let read = |security| {
            ApiAccess::from_document(&doc(Some(security))).map(|a| a.requirement(&Method::GET, "/api/v1/things/{id}"))
        };
        assert_eq!(read(json!([{}])), Ok(Some(Requirement::Open)));
        assert_eq!(read(json!([{ "bearer": [] }])), Ok(Some(Requirement::SignedIn)));
        assert_eq!(
            read(json!([{ "bearer": ["fleet.write"] }])),
            Ok(Some(Requirement::Permission(Permission::FleetWrite)))
        );
        let access = ApiAccess::from_document(&doc(Some(json!([{ "bearer": ["fleet.read"] }])))).expect("declared");
        assert_eq!(
            access.requirement(&Method::HEAD, "/api/v1/things/{id}"),
            Some(Requirement::Permission(Permission::FleetRead))
        );
        assert_eq!(access.requirement(&Method::DELETE, "/api/v1/things/{id}"), None);
    }

    #[test]
    fn an_operation_that_declares_nothing_or_something_unknown_is_an_error() {
        assert!(matches!(ApiAccess::from_document(&doc(None)), Err(AccessError::Undeclared { .. })));
        assert!(matches!(
            ApiAccess::from_document(&doc(Some(json!([{ "bearer": ["fleet.writ"] }])))),
            Err(AccessError::UnknownScope { .. })
        ));
        for ambiguous in [
            json!([]),
            json!([{ "bearer": [] }, {}]),
            json!([{ "bearer": ["fleet.read", "fleet.write"] }]),
            json!([{ "basic": [] }]),
        ] {
            assert!(
                matches!(ApiAccess::from_document(&doc(Some(ambiguous.clone()))), Err(AccessError::Ambiguous { .. })),
                "{ambiguous}"
            );
        }
    }
}
