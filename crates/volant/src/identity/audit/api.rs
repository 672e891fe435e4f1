//! `GET /api/v1/audit`: the organization's audit trail, newest first, filtered.

use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{AuditEntry, AuditQuery, list};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::ApiQuery;
use crate::platform::http::respond::Paged;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The audit trail of the caller's organization (administrators only), newest first.
#[utoipa::path(get, path = "/audit", security(("bearer" = ["audit.read"])), tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn list_audit(caller: Caller, ApiQuery(query): ApiQuery<AuditQuery>, paged: Paged) -> AppResult<Response> {
    let zone = crate::identity::organizations::service::zone(&caller.replica, caller.org).await?;
    let page = list(&caller.replica, caller.org, &query.filter(zone)?, paged.request.clone()).await?;
    Ok(paged.respond(page))
}
