//! `/api/v1/imports`: upload a file, map its columns and check it, import it,
//! follow its progress and report, undo it (`data.import`, and the kind's own
//! write permission).

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ImportKind;
use super::service::{self, Import, MappingInput, Phase, RowResult};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, FormWithFiles, Id, UPLOAD_LIMIT};
use crate::platform::http::respond::created;
use crate::platform::i18n::Msg;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_imports, upload_import))
        .routes(routes!(get_import))
        .routes(routes!(check_import))
        .routes(routes!(start_import))
        .routes(routes!(undo_import))
        .routes(routes!(list_import_results))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
}

/// The caller may import this kind (its own write permission, on top of `data.import`).
pub(super) fn may_import(caller: &Caller, kind: ImportKind) -> AppResult<()> {
    caller.current.user.require(kind.permission())
}

/// Owners are clients: a vehicles file that names them needs the clients' permission too.
pub(super) fn may_map(caller: &Caller, kind: ImportKind, input: &MappingInput) -> AppResult<()> {
    if kind == ImportKind::Vehicles && input.mapping.keys().any(|field| field.starts_with("owner_")) {
        caller.current.user.require(crate::identity::roles::Permission::WorkshopWrite)?;
    }
    Ok(())
}

/// What a stored mapping needs (starting or undoing an import someone else mapped).
pub(super) fn may_run(caller: &Caller, import: &Import) -> AppResult<()> {
    let names_owners = import.mapping.iter().any(|f| f.column.is_some() && f.field.starts_with("owner_"));
    if import.kind == ImportKind::Vehicles && names_owners {
        caller.current.user.require(crate::identity::roles::Permission::WorkshopWrite)?;
    }
    Ok(())
}

pub(super) async fn import_of(caller: &Caller, id: i64) -> AppResult<Import> {
    let import = service::get(&caller.db, &caller.cipher, caller.org, id).await?;
    may_import(caller, import.kind)?;
    Ok(import)
}

/// The organization's last 50 imports, newest first.
#[utoipa::path(get, path = "/imports", security(("bearer" = ["data.import"])), tag = "imports",
    responses((status = 200, body = [Import])))]
async fn list_imports(caller: Caller) -> AppResult<Json<Vec<Import>>> {
    let imports = service::list(&caller.db, caller.org).await?;
    Ok(Json(imports.into_iter().filter(|i| may_import(&caller, i.kind).is_ok()).collect()))
}

/// An upload, as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// What the file holds.
    kind: ImportKind,
    /// For `service_records` and `odometer_records` without a plate column (a
    /// LubeLogger export is one vehicle's): the vehicle's plate.
    vehicle: Option<String>,
    /// A CSV (UTF-8 or Windows-1252; `;`, `,` or tab) or XLSX file (its first sheet), headers on the first row.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Deserialize)]
struct UploadFields {
    kind: Option<String>,
    vehicle: Option<String>,
}

/// Upload a file to import: it is read at once (422 `file` when it is not a
/// table, is empty or holds more than 200,000 rows), and its columns are
/// guessed from its headers (`mapping`). Nothing is imported yet.
#[utoipa::path(post, path = "/imports", security(("bearer" = ["data.import"])), tag = "imports",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Import, headers(("Location" = String))), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn upload_import(caller: Caller, mut form: FormWithFiles<UploadFields>) -> AppResult<Response> {
    let kind = form
        .form
        .kind
        .as_deref()
        .and_then(ImportKind::parse)
        .ok_or_else(|| AppError::validation("kind", Msg::new("import.kind_unknown")))?;
    may_import(&caller, kind)?;
    let file = form.take_files("file").into_iter().next();
    let (name, bytes) = file.map(|f| (f.name, f.bytes)).unwrap_or_default();
    let target = (name, form.form.vehicle.as_deref());
    let store = (caller.files.as_ref(), caller.cipher.as_ref());
    let import = service::upload(&caller.db, store, &caller.actor, kind, target, bytes).await?;
    Ok(created(&format!("/api/v1/imports/{}", import.id), import))
}

/// An import: its columns, where it stands, its counts.
#[utoipa::path(get, path = "/imports/{id}", security(("bearer" = ["data.import"])), tag = "imports",
    params(("id" = i64, Path)), responses((status = 200, body = Import), (status = 404, body = Problem)))]
async fn get_import(caller: Caller, Id(id): Id) -> AppResult<Json<Import>> {
    Ok(Json(import_of(&caller, id).await?))
}

/// Set the columns and check every row without writing anything (the dry run,
/// a background job: follow `status` and `processed_rows`, then read the
/// report). 409 `import_busy` while another import of the organization runs.
#[utoipa::path(post, path = "/imports/{id}/check", security(("bearer" = ["data.import"])), tag = "imports",
    params(("id" = i64, Path)), request_body = MappingInput,
    responses((status = 202, body = Import), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn check_import(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<MappingInput>) -> AppResult<Response> {
    may_map(&caller, import_of(&caller, id).await?.kind, &input)?;
    service::check(&caller.db, &caller.actor, id, &input).await?;
    Ok((StatusCode::ACCEPTED, Json(import_of(&caller, id).await?)).into_response())
}

/// Import a checked file (a background job, a transaction per 500 rows).
#[utoipa::path(post, path = "/imports/{id}/start", security(("bearer" = ["data.import"])), tag = "imports",
    params(("id" = i64, Path)),
    responses((status = 202, body = Import), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn start_import(caller: Caller, Id(id): Id) -> AppResult<Response> {
    may_run(&caller, &import_of(&caller, id).await?)?;
    service::start(&caller.db, &caller.actor, id).await?;
    Ok((StatusCode::ACCEPTED, Json(import_of(&caller, id).await?)).into_response())
}

/// Undo the organization's last import: records it created are deleted, those it
/// changed get their fields back. 409 `import_not_last` when another import came
/// after it, `import_changed_since` when one of its records changed since (named).
#[utoipa::path(post, path = "/imports/{id}/undo", security(("bearer" = ["data.import"])), tag = "imports",
    params(("id" = i64, Path)),
    responses((status = 202, body = Import), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn undo_import(caller: Caller, Id(id): Id) -> AppResult<Response> {
    may_run(&caller, &import_of(&caller, id).await?)?;
    service::undo(&caller.db, &caller.actor, id).await?;
    Ok((StatusCode::ACCEPTED, Json(import_of(&caller, id).await?)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ResultsQuery {
    /// `check` (default) or `import`.
    #[param(inline)]
    phase: Option<Phase>,
    /// `created`, `updated`, `unchanged` or `refused`; all when absent.
    outcome: Option<String>,
    /// The line after which to list (the last line of the previous page).
    after: Option<i64>,
    /// At most 500; 100 by default.
    limit: Option<u64>,
}

/// Each row's result of the check or the import, in file order.
#[utoipa::path(get, path = "/imports/{id}/results", security(("bearer" = ["data.import"])), tag = "imports",
    params(("id" = i64, Path), ResultsQuery),
    responses((status = 200, body = [RowResult]), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_import_results(
    caller: Caller,
    Id(id): Id,
    ApiQuery(query): ApiQuery<ResultsQuery>,
) -> AppResult<Json<Vec<RowResult>>> {
    import_of(&caller, id).await?;
    let outcome = match query.outcome.as_deref() {
        None => None,
        Some(o @ ("created" | "updated" | "unchanged" | "refused")) => Some(o),
        Some(_) => return Err(AppError::validation("outcome", Msg::new("import.outcome_unknown"))),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let phase = query.phase.unwrap_or(Phase::Check);
    Ok(Json(service::results(&caller.db, caller.org, id, phase, outcome, query.after.unwrap_or(0), limit).await?))
}
