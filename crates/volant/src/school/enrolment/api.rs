//! JSON API of the candidate's administrative file, evaluations, training
//! contracts and the learning record.

use axum::Json;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{
    self as enrolment, AmendmentInput, CandidateFile, Contract, ContractInput, EndInput, Evaluation, EvaluationInput,
    FileInput, IncompleteFile, LearningRecord, SignInput, Signer,
};
use crate::identity::Caller;
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::http::respond::{created, pdf_response};
use crate::school::access::Viewer;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_file, put_file))
        .routes(routes!(incomplete_files))
        .routes(routes!(list_evaluations, add_evaluation))
        .routes(routes!(list_contracts, draft_contract))
        .routes(routes!(get_contract, update_contract, delete_contract))
        .routes(routes!(contract_pdf))
        .routes(routes!(sign_contract))
        .routes(routes!(end_contract))
        .routes(routes!(amend_contract))
        .routes(routes!(sign_amendment))
        .routes(routes!(delete_amendment))
        .routes(routes!(learning_record))
}

/// Who signs, for a caller: the school's staff, or the candidate the contract is for
/// (anyone else: 404, ids reveal nothing).
async fn signer_for(caller: &Caller, candidate_id: i64) -> AppResult<Signer> {
    match Viewer::of(&caller.db, &caller.current).await? {
        Viewer::School if caller.current.user.may(Permission::SchoolWrite) => Ok(Signer::School),
        Viewer::Candidate(own) if own == candidate_id => Ok(Signer::Candidate),
        _ => Err(AppError::NotFound),
    }
}

/// May the caller read this candidate's contracts: the staff, or the candidate themselves.
async fn may_read(caller: &Caller, candidate_id: i64) -> AppResult<()> {
    match Viewer::of(&caller.db, &caller.current).await? {
        Viewer::School => Ok(()),
        Viewer::Candidate(own) if own == candidate_id => Ok(()),
        _ if caller.current.user.may(Permission::SchoolRead) => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// A candidate's administrative file: NEPH, ANTS steps, licences held, ASSR, a
/// minor's guardian, and the documents checklist with what is missing.
#[utoipa::path(get, path = "/school/candidates/{id}/file", security(("bearer" = ["school.read"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 200, body = CandidateFile), (status = 404, body = Problem)))]
async fn get_file(caller: Caller, Id(id): Id) -> AppResult<Json<CandidateFile>> {
    Ok(Json(enrolment::get_file(&caller.db, &caller.cipher, caller.org, id).await?))
}

/// Replace the administrative file (every field).
#[utoipa::path(put, path = "/school/candidates/{id}/file", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = FileInput,
    responses((status = 200, body = CandidateFile), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_file(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<FileInput>) -> AppResult<Json<CandidateFile>> {
    Ok(Json(enrolment::update_file(&caller.db, &caller.cipher, &caller.actor, id, &input).await?))
}

/// The candidates in training whose file lacks a required piece, oldest registration first.
#[utoipa::path(get, path = "/school/incomplete-files", security(("bearer" = ["school.read"])), tag = "school enrolment",
    responses((status = 200, body = [IncompleteFile])))]
async fn incomplete_files(caller: Caller) -> AppResult<Json<Vec<IncompleteFile>>> {
    Ok(Json(enrolment::incomplete(&caller.db, &caller.cipher, caller.org).await?))
}

/// A candidate's initial evaluations, newest first.
#[utoipa::path(get, path = "/school/candidates/{id}/evaluations", security(("bearer" = ["school.read"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 200, body = [Evaluation]), (status = 404, body = Problem)))]
async fn list_evaluations(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Evaluation>>> {
    crate::school::candidates::service::summary_of(&caller.db, caller.org, id).await?;
    Ok(Json(enrolment::evaluations(&caller.db, caller.org, id).await?))
}

/// Record an initial evaluation; its forecast becomes the candidate's `forecast_minutes`.
#[utoipa::path(post, path = "/school/candidates/{id}/evaluations", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = EvaluationInput,
    responses((status = 201, body = Evaluation), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_evaluation(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<EvaluationInput>) -> AppResult<Response> {
    let made = enrolment::evaluate(&caller.db, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/school/candidates/{id}/evaluations"), made))
}

/// A candidate's training contracts, newest first (the candidate may read their own).
#[utoipa::path(get, path = "/school/candidates/{id}/contracts", security(("bearer" = ["school.planning"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 200, body = [Contract]), (status = 404, body = Problem)))]
async fn list_contracts(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Contract>>> {
    crate::school::candidates::service::summary_of(&caller.db, caller.org, id).await?;
    may_read(&caller, id).await?;
    Ok(Json(enrolment::contracts_of(&caller.db, &caller.cipher, caller.org, id).await?))
}

/// Draft a training contract from the latest evaluation and a pack, with its
/// funding sources (409 `evaluation_required`, `contract_open`).
#[utoipa::path(post, path = "/school/candidates/{id}/contracts", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = ContractInput,
    responses((status = 201, body = Contract), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn draft_contract(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<ContractInput>) -> AppResult<Response> {
    let made = enrolment::draft(&caller.db, &caller.cipher, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/school/contracts/{}", made.id), made))
}

/// A contract: its terms (as signed, or as a draft reads today), signatures, amendments.
#[utoipa::path(get, path = "/school/contracts/{id}", security(("bearer" = ["school.planning"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 200, body = Contract), (status = 404, body = Problem)))]
async fn get_contract(caller: Caller, Id(id): Id) -> AppResult<Json<Contract>> {
    let candidate = enrolment::candidate_of_contract(&caller.db, caller.org, id).await?;
    may_read(&caller, candidate).await?;
    Ok(Json(enrolment::get_contract(&caller.db, &caller.cipher, caller.org, id).await?))
}

/// Change a draft's terms (409 `contract_signed`: a signed contract changes by amendment).
#[utoipa::path(put, path = "/school/contracts/{id}", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = ContractInput,
    responses((status = 200, body = Contract), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_contract(
    caller: Caller,
    Id(id): Id,
    ApiJson(input): ApiJson<ContractInput>,
) -> AppResult<Json<Contract>> {
    Ok(Json(enrolment::update_draft(&caller.db, &caller.cipher, &caller.actor, id, &input).await?))
}

/// Delete a draft (409 `contract_signed` once signed).
#[utoipa::path(delete, path = "/school/contracts/{id}", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_contract(caller: Caller, Id(id): Id) -> AppResult<axum::http::StatusCode> {
    enrolment::delete_draft(&caller.db, &caller.actor, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The contract as PDF (a draft is titled as one).
#[utoipa::path(get, path = "/school/contracts/{id}/pdf", security(("bearer" = ["school.planning"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
async fn contract_pdf(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let candidate = enrolment::candidate_of_contract(&caller.db, caller.org, id).await?;
    may_read(&caller, candidate).await?;
    let (name, bytes) = super::web::contract_file(&caller, id).await?;
    Ok(pdf_response(&name, bytes, false))
}

/// Sign a draft: on screen (the candidate — and a minor's guardian — type their
/// names and accept) or on paper (the scan attached as a candidate document of
/// kind `training_contract`, staff only). Freezes the terms and sells the pack,
/// the funders' parts first in its invoice's schedule.
#[utoipa::path(post, path = "/school/contracts/{id}/sign", security(("bearer" = ["school.planning"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = SignInput,
    responses((status = 200, body = Contract), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sign_contract(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<SignInput>) -> AppResult<Json<Contract>> {
    let candidate = enrolment::candidate_of_contract(&caller.db, caller.org, id).await?;
    let signer = signer_for(&caller, candidate).await?;
    Ok(Json(enrolment::sign(&caller.db, &caller.cipher, &caller.actor, signer, id, &input).await?))
}

/// End a signed contract: completed, transferred to another school (`note` names it) or terminated.
#[utoipa::path(post, path = "/school/contracts/{id}/end", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = EndInput,
    responses((status = 200, body = Contract), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn end_contract(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<EndInput>) -> AppResult<Json<Contract>> {
    Ok(Json(enrolment::end(&caller.db, &caller.cipher, &caller.actor, id, &input).await?))
}

/// Draft an amendment of a signed contract (409 `amendment_open` while one waits for its signature).
#[utoipa::path(post, path = "/school/contracts/{id}/amendments", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = AmendmentInput,
    responses((status = 201, body = Contract), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn amend_contract(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<AmendmentInput>) -> AppResult<Response> {
    let contract = enrolment::amend(&caller.db, &caller.cipher, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/school/contracts/{id}"), contract))
}

/// Sign an amendment like a contract: its pack sold, its forecast made the candidate's.
#[utoipa::path(post, path = "/school/amendments/{id}/sign", security(("bearer" = ["school.planning"])), tag = "school enrolment", params(("id" = i64, Path)), request_body = SignInput,
    responses((status = 200, body = Contract), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sign_amendment(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<SignInput>) -> AppResult<Json<Contract>> {
    let contract = enrolment::contract_of_amendment(&caller.db, caller.org, id).await?;
    let candidate = enrolment::candidate_of_contract(&caller.db, caller.org, contract).await?;
    let signer = signer_for(&caller, candidate).await?;
    Ok(Json(enrolment::sign_amendment(&caller.db, &caller.cipher, &caller.actor, signer, id, &input).await?))
}

/// Delete an amendment waiting for its signature (409 `amendment_signed` once signed).
#[utoipa::path(delete, path = "/school/amendments/{id}", security(("bearer" = ["school.write"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_amendment(caller: Caller, Id(id): Id) -> AppResult<axum::http::StatusCode> {
    enrolment::delete_amendment(&caller.db, &caller.actor, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// What a candidate leaving for another school takes: the learning record (REMC
/// grid), hours and lessons done, evaluations, validated exam results
/// (`format: volant.learning-record/1`; no official exchange format is public).
#[utoipa::path(get, path = "/school/candidates/{id}/learning-record", security(("bearer" = ["school.read"])), tag = "school enrolment", params(("id" = i64, Path)),
    responses((status = 200, body = LearningRecord), (status = 404, body = Problem)))]
async fn learning_record(caller: Caller, Id(id): Id) -> AppResult<Json<LearningRecord>> {
    Ok(Json(enrolment::learning_record(&caller.db, &caller.cipher, &caller.actor, id).await?))
}
