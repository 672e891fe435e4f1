//! JSON API for the candidates' files.

use axum::Json;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self as candidates, Candidate, CandidateFilter, CandidateInput, CandidateSort, CandidateSummary};
use crate::identity::Caller;
use crate::identity::passwords::api::{Invited, invited};
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::{Paged, created};
use crate::platform::proxy::ClientContext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite_candidate))
        .routes(routes!(list_candidates, create_candidate))
        .routes(routes!(get_candidate, update_candidate))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// Name prefix (`martin`, `martin lé`, `léa mar`) or exact candidate number.
    pub q: Option<String>,
    pub instructor_id: Option<i64>,
    /// Order: `id` (the default: creation order, as numbers are given), `name`
    /// (last name, then first name) or `registered_on`, with `-` before it for
    /// descending.
    pub sort: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// Search and list candidates, with their hours (no sensitive field; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/school/candidates", security(("bearer" = ["school.read"])), tag = "school", params(CandidatesQuery),
    responses((status = 200, body = [CandidateSummary]), (status = 400, body = Problem)))]
async fn list_candidates(
    caller: Caller,
    ApiQuery(query): ApiQuery<CandidatesQuery>,
    paged: Paged,
) -> AppResult<Response> {
    let sort = CandidateSort::from_query(query.sort.as_deref(), CandidateSort::default())?;
    let filter = CandidateFilter { q: query.q, instructor_id: query.instructor_id, sort };
    let page = candidates::list(&caller.db, caller.org, &filter, paged.request.clone()).await?;
    Ok(paged.respond(page))
}

#[utoipa::path(post, path = "/school/candidates", security(("bearer" = ["school.write"])), tag = "school", request_body = CandidateInput,
    responses((status = 201, body = Candidate, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_candidate(caller: Caller, ApiJson(input): ApiJson<CandidateInput>) -> AppResult<Response> {
    let candidate = candidates::create(&caller.db, &caller.cipher, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/candidates/{}", candidate.summary.id), candidate))
}

/// A candidate's whole file, sensitive fields decrypted.
#[utoipa::path(get, path = "/school/candidates/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Candidate), (status = 404, body = Problem)))]
async fn get_candidate(caller: Caller, Id(id): Id) -> AppResult<Json<Candidate>> {
    Ok(Json(candidates::get(&caller.db, &caller.cipher, caller.org, id).await?))
}

/// Replace every field of a candidate's file (the number is kept when absent).
#[utoipa::path(put, path = "/school/candidates/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = CandidateInput,
    responses((status = 200, body = Candidate), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_candidate(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<CandidateInput>,
) -> AppResult<Json<Candidate>> {
    Ok(Json(candidates::update(&caller.db, &caller.cipher, &caller.actor, id, &input).await?))
}

/// Create the candidate's sign-in account (role `candidate`), link this file to it and
/// e-mail them an invitation to choose their password (valid 7 days). 422 when the
/// file has no e-mail address; 409 when it already has an account or the address
/// is another account's.
#[utoipa::path(post, path = "/school/candidates/{id}/invitation", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 201, body = Invited), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn invite_candidate(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Response> {
    let (user, link) = candidates::invite(&caller.db, &caller.cipher, &caller.actor, &caller.current.user, id).await?;
    invited(&caller, &client, user, link).await
}
