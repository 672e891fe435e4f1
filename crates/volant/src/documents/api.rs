//! JSON API of documents: each owner's list and upload (with its own
//! permissions), and each document's description, files and removal (with its
//! owner's permissions, checked by the service).

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Owner, OwnerKind};
use super::serve;
use super::service::{self, Attachment, AttachmentChange, Incoming, Storage, UploadInput, Variant};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, FormWithFiles, Id, UPLOAD_LIMIT};

/// An upload, as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One of the owner's kinds.
    kind: String,
    title: Option<String>,
    /// `YYYY-MM-DD`.
    expires_on: Option<String>,
    /// One or more files (JPEG, PNG, WebP or PDF), each in a `file` part.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

macro_rules! owner_routes {
    ($module:ident, $kind:expr, $path:literal, $read:literal, $write:literal, $tag:literal) => {
        mod $module {
            use super::*;

            /// The documents of this object, most recent first.
            #[utoipa::path(get, path = $path, operation_id = concat!("list_", stringify!($module), "_documents"),
                security(("bearer" = [$read])), tag = $tag, params(("id" = i64, Path)),
                responses((status = 200, body = [Attachment]), (status = 404, body = Problem)))]
            pub async fn list(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<Attachment>>> {
                super::list(caller, Owner { kind: $kind, id }).await
            }

            /// Add documents or photos to this object (several files at once: all or none).
            #[utoipa::path(post, path = $path, operation_id = concat!("upload_", stringify!($module), "_documents"),
                security(("bearer" = [$write])), tag = $tag, params(("id" = i64, Path)),
                request_body(content = UploadForm, content_type = "multipart/form-data"),
                responses((status = 201, body = [Attachment]), (status = 404, body = Problem), (status = 409, body = Problem),
                    (status = 413, body = Problem), (status = 422, body = Problem)))]
            pub async fn upload(caller: Caller, Id(id): Id, form: FormWithFiles<UploadInput>) -> AppResult<Response> {
                super::upload(caller, Owner { kind: $kind, id }, form).await
            }
        }
    };
}

owner_routes!(vehicle, OwnerKind::Vehicle, "/vehicles/{id}/documents", "fleet.read", "fleet.write", "documents");
owner_routes!(
    intervention,
    OwnerKind::Intervention,
    "/interventions/{id}/documents",
    "workshop.read",
    "interventions.record",
    "documents"
);
owner_routes!(quote, OwnerKind::Quote, "/quotes/{id}/documents", "workshop.read", "workshop.write", "documents");
owner_routes!(invoice, OwnerKind::Invoice, "/invoices/{id}/documents", "billing.read", "billing.write", "documents");
owner_routes!(client, OwnerKind::Client, "/clients/{id}/documents", "workshop.read", "workshop.write", "documents");
owner_routes!(
    candidate,
    OwnerKind::Candidate,
    "/school/candidates/{id}/documents",
    "school.read",
    "school.write",
    "documents"
);
owner_routes!(
    instructor,
    OwnerKind::Instructor,
    "/school/instructors/{id}/documents",
    "school.read",
    "school.write",
    "documents"
);

pub fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(vehicle::list, vehicle::upload))
        .routes(routes!(intervention::list, intervention::upload))
        .routes(routes!(quote::list, quote::upload))
        .routes(routes!(invoice::list, invoice::upload))
        .routes(routes!(client::list, client::upload))
        .routes(routes!(candidate::list, candidate::upload))
        .routes(routes!(instructor::list, instructor::upload))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(expiring))
        .routes(routes!(get_document, update_document, delete_document))
        .routes(routes!(document_file))
        .routes(routes!(document_preview))
        .routes(routes!(document_thumbnail))
        .merge(uploads)
}

async fn list(caller: Caller, owner: Owner) -> AppResult<Json<Vec<Attachment>>> {
    service::owner_facts(&caller.db, &caller.cipher, caller.org, owner).await?;
    Ok(Json(service::list(&caller.db, caller.org, owner).await?))
}

async fn upload(caller: Caller, owner: Owner, mut form: FormWithFiles<UploadInput>) -> AppResult<Response> {
    let files = form.take_files("file").into_iter().map(|f| Incoming { name: f.name, bytes: f.bytes }).collect();
    let saved =
        service::upload(&caller.db, Storage::of(&caller.state), &caller.actor, owner, &form.form, files).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// Documents expired or expiring within 30 days, soonest first, among those the caller may see.
#[utoipa::path(get, path = "/documents/expiring", security(("bearer" = [])), tag = "documents",
    responses((status = 200, body = [Attachment])))]
async fn expiring(caller: Caller) -> AppResult<Json<Vec<Attachment>>> {
    let kinds: Vec<OwnerKind> =
        OwnerKind::ALL.into_iter().filter(|k| service::may(&caller.current, *k, false)).collect();
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    Ok(Json(service::expiring(&caller.db, caller.org, &kinds, today).await?))
}

/// A document's description (404 unless the caller may see what it belongs to).
#[utoipa::path(get, path = "/documents/{id}", security(("bearer" = [])), tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, body = Attachment), (status = 404, body = Problem)))]
async fn get_document(caller: Caller, Id(id): Id) -> AppResult<Json<Attachment>> {
    Ok(Json(service::get(&caller.db, &caller.current, id).await?))
}

/// Change a document's kind, title or expiry (with its owner's write permission).
#[utoipa::path(patch, path = "/documents/{id}", security(("bearer" = [])), tag = "documents", params(("id" = i64, Path)),
    request_body = AttachmentChange,
    responses((status = 200, body = Attachment), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_document(
    caller: Caller,
    Id(id): Id,
    ApiJson(change): ApiJson<AttachmentChange>,
) -> AppResult<Json<Attachment>> {
    Ok(Json(service::update(&caller.db, &caller.current, &caller.actor, id, &change).await?))
}

/// Delete a document (with its owner's write permission); an issued invoice's
/// documents and a check-in's signature and report are kept (409 `attachment_kept`).
#[utoipa::path(delete, path = "/documents/{id}", security(("bearer" = [])), tag = "documents", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_document(caller: Caller, Id(id): Id) -> AppResult<StatusCode> {
    service::delete(&caller.db, &caller.cipher, &caller.current, &caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The original file (a photo re-encoded without its metadata); `Range` requests are answered with 206.
#[utoipa::path(get, path = "/documents/{id}/file", security(("bearer" = [])), tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 206), (status = 404, body = Problem), (status = 416)))]
async fn document_file(caller: Caller, Id(id): Id, headers: HeaderMap) -> AppResult<Response> {
    file(caller, id, Variant::Original, &headers).await
}

/// A photo reduced for display (the original when it is small enough).
#[utoipa::path(get, path = "/documents/{id}/preview", security(("bearer" = [])), tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = Problem)))]
async fn document_preview(caller: Caller, Id(id): Id, headers: HeaderMap) -> AppResult<Response> {
    file(caller, id, Variant::Preview, &headers).await
}

/// A photo's thumbnail (404 for a PDF).
#[utoipa::path(get, path = "/documents/{id}/thumbnail", security(("bearer" = [])), tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = Problem)))]
async fn document_thumbnail(caller: Caller, Id(id): Id, headers: HeaderMap) -> AppResult<Response> {
    file(caller, id, Variant::Thumbnail, &headers).await
}

async fn file(caller: Caller, id: i64, variant: Variant, headers: &HeaderMap) -> AppResult<Response> {
    let found = service::download(&caller.db, Storage::of(&caller.state), &caller.current, id, variant).await?;
    Ok(serve::file(found, variant, headers))
}
