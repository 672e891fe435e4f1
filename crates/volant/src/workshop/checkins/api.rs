//! JSON API of check-ins.

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Checkin, CheckinInput};
use crate::documents::service::{Incoming, Storage};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{FormWithFiles, Id, UPLOAD_LIMIT};
use crate::platform::http::respond::created;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_checkin, record_checkin)).layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
}

/// A check-in, as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CheckinForm {
    mileage_km: Option<i64>,
    /// 0 (empty) to 8 (full).
    fuel_eighths: Option<i32>,
    /// A damaged zone, repeated: `front`, `bonnet`, `windscreen`, `roof`, `rear`,
    /// `left_front`, `left_rear`, `right_front`, `right_rear`.
    damage: Vec<String>,
    notes: Option<String>,
    /// The customer's name.
    signed_by: String,
    /// The customer's signature: a PNG file part, or a `data:image/png;base64,…` text part.
    #[schema(value_type = String, format = Binary)]
    signature: Vec<u8>,
    /// Photos (JPEG, PNG, WebP), each a `photo` part.
    #[schema(value_type = Vec<String>, format = Binary)]
    photo: Vec<Vec<u8>>,
    /// `true`: e-mail the PDF to the customer.
    email: Option<bool>,
}

/// The intervention's check-in (404 when it has none).
#[utoipa::path(get, path = "/interventions/{id}/checkin", security(("bearer" = ["workshop.read"])), tag = "service history",
    params(("id" = i64, Path)), responses((status = 200, body = Checkin), (status = 404, body = Problem)))]
async fn get_checkin(caller: Caller, Id(id): Id) -> AppResult<Json<Checkin>> {
    service::of_intervention(&caller.db, caller.org, id).await?.map(Json).ok_or(AppError::NotFound)
}

/// Record the vehicle's check-in as it enters the workshop, signed by the
/// customer: its PDF is kept with the intervention's documents and, when asked,
/// e-mailed to the customer. One per intervention (409 `checkin_exists`).
#[utoipa::path(post, path = "/interventions/{id}/checkin", security(("bearer" = ["interventions.record"])), tag = "service history",
    params(("id" = i64, Path)), request_body(content = CheckinForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Checkin), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_checkin(caller: Caller, Id(id): Id, form: FormWithFiles<Vec<(String, String)>>) -> AppResult<Response> {
    let recorded = record(&caller, id, form).await?;
    Ok(created(&format!("/api/v1/interventions/{id}/checkin"), recorded))
}

/// Reads the form (text fields, the signature as a file or a data URL, photos) and records it.
pub async fn record(caller: &Caller, id: i64, mut form: FormWithFiles<Vec<(String, String)>>) -> AppResult<Checkin> {
    let mut input = CheckinInput::from_pairs(&form.form);
    if let Some(signature) = form.take_file("signature") {
        input.signature = signature;
    }
    let photos = form.take_files("photo").into_iter().map(|f| Incoming { name: f.name, bytes: f.bytes }).collect();
    service::record(&caller.db, Storage::of(&caller.state), &caller.actor, id, &input, photos).await
}
