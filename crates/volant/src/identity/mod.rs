//! Identity and access: organizations (tenants) today; users, roles, sessions
//! and the audit trail join here. Domains see it only through extractors.

pub mod organizations;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::platform::AppState;
use crate::platform::tenant::OrgId;

/// The caller's organization, handed to every domain service.
///
/// Until sign-in exists every request acts for the default organization; this
/// extractor is the one place that will resolve it from the signed-in user.
#[derive(Debug, Clone, Copy)]
pub struct Tenant(pub OrgId);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(state.default_org))
    }
}
