//! `GET /api/v1/audit`: the organization's audit trail, newest first, filtered.

use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{AuditEntry, AuditQuery, list};
use crate::identity::Tenant;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::ApiQuery;
use crate::platform::http::respond::Paged;
use crate::platform::pagination::PageRequest;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The audit trail of the caller's organization (administrators only), newest first.
#[utoipa::path(get, path = "/audit", security(("bearer" = ["audit.read"])), tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    ApiQuery(query): ApiQuery<AuditQuery>,
    paged: Paged,
) -> AppResult<Response> {
    let request = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let page = list(&state.replica, org, &query.filter()?, request).await?;
    Ok(paged.respond(page))
}
