//! Identity and access: organizations (tenants), users and roles, sign-in.
//! Domains see it only through extractors (`Tenant`, `CurrentUser`).

pub mod auth;
pub mod organizations;
pub mod roles;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa_axum::router::OpenApiRouter;

use crate::platform::AppState;
use crate::platform::tenant::OrgId;

pub fn api_router() -> OpenApiRouter<AppState> {
    auth::api::router()
}

/// The caller's organization, handed to every domain service.
///
/// Until every route requires sign-in, requests act for the default organization;
/// this extractor is the one place that will resolve it from the signed-in user.
#[derive(Debug, Clone, Copy)]
pub struct Tenant(pub OrgId);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(state.default_org))
    }
}
