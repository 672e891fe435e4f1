//! JSON API for the school's packs and their sale to candidates.

use axum::Json;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self as packs, Account, CancelInput, Pack, PackInput, PackSale, SaleInput};
use crate::billing::invoices::service::Invoice;
use crate::identity::Caller;
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id, IdPair};
use crate::platform::http::respond::created;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_packs, create_pack))
        .routes(routes!(get_pack, update_pack))
        .routes(routes!(sell_pack))
        .routes(routes!(invoice_statement))
        .routes(routes!(cancel_sale))
        .routes(routes!(candidate_account))
}

/// Selling issues an invoice, cancelling a credit note, an account shows money:
/// the school's permission is not enough, billing's is needed too.
pub(super) fn may(caller: &Caller, permission: Permission) -> AppResult<()> {
    caller.current.user.require(permission)
}

/// The school's packs by name, those no longer sold included.
#[utoipa::path(get, path = "/school/packs", security(("bearer" = ["school.read"])), tag = "school",
    responses((status = 200, body = [Pack])))]
async fn list_packs(caller: Caller) -> AppResult<Json<Vec<Pack>>> {
    Ok(Json(packs::list(&caller.db, caller.org, false).await?))
}

#[utoipa::path(post, path = "/school/packs", security(("bearer" = ["school.write"])), tag = "school", request_body = PackInput,
    responses((status = 201, body = Pack, headers(("Location" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_pack(caller: Caller, ApiJson(input): ApiJson<PackInput>) -> AppResult<Response> {
    let pack = packs::create(&caller.db, &caller.actor, &input).await?;
    Ok(created(&format!("/api/v1/school/packs/{}", pack.id), pack))
}

#[utoipa::path(get, path = "/school/packs/{id}", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Pack), (status = 404, body = Problem)))]
async fn get_pack(caller: Caller, Id(id): Id) -> AppResult<Json<Pack>> {
    Ok(Json(packs::get(&caller.db, caller.org, id).await?))
}

/// Replace a pack (sales already made keep what they were sold at).
#[utoipa::path(put, path = "/school/packs/{id}", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = PackInput,
    responses((status = 200, body = Pack), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_pack(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<PackInput>) -> AppResult<Json<Pack>> {
    Ok(Json(packs::update(&caller.db, &caller.actor, id, &input).await?))
}

/// A pack sold and its invoice, issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct SoldPack {
    pub sale: PackSale,
    pub invoice: Invoice,
}

/// Sell a pack to a candidate: its invoice is issued at once (with its schedule
/// when paid in instalments) and its hours added to those the candidate bought.
#[utoipa::path(post, path = "/school/candidates/{id}/sales", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)), request_body = SaleInput,
    responses((status = 201, body = SoldPack, headers(("Location" = String))), (status = 404, body = Problem), (status = 409, body = Problem, description = "The organization cannot invoice yet (`seller_incomplete`)"), (status = 422, body = Problem)))]
async fn sell_pack(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<SaleInput>) -> AppResult<Response> {
    may(&caller, Permission::BillingWrite)?;
    let (sale, invoice) = packs::sell(&caller.db, &caller.cipher, &caller.actor, id, &input).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), SoldPack { sale, invoice }))
}

/// Invoice the driving time taken beyond the hours bought (lessons done, missed or cancelled late),
/// lesson by lesson at the price of the school's one-hour pack; the time is added to the hours
/// bought and the statement recorded as a sale of that pack (cancelled like one).
#[utoipa::path(post, path = "/school/candidates/{id}/statement", security(("bearer" = ["school.write"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 201, body = SoldPack, headers(("Location" = String))), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`nothing_beyond`, `no_hourly_pack`, `hours_changed` or `seller_incomplete`")))]
async fn invoice_statement(caller: Caller, Id(id): Id) -> AppResult<Response> {
    may(&caller, Permission::BillingWrite)?;
    let (sale, invoice) = packs::invoice_statement(&caller.db, &caller.cipher, &caller.actor, id).await?;
    Ok(created(&format!("/api/v1/invoices/{}", invoice.id), SoldPack { sale, invoice }))
}

/// Cancel a sale: its invoice is credited in full and its hours taken back.
#[utoipa::path(post, path = "/school/candidates/{id}/sales/{sale_id}/cancel", security(("bearer" = ["school.write"])), tag = "school",
    params(("id" = i64, Path), ("sale_id" = i64, Path)), request_body = CancelInput,
    responses((status = 200, body = PackSale), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn cancel_sale(
    caller: Caller,
    IdPair(id, sale_id): IdPair,
    ApiJson(input): ApiJson<CancelInput>,
) -> AppResult<Json<PackSale>> {
    may(&caller, Permission::BillingWrite)?;
    Ok(Json(packs::cancel(&caller.db, &caller.actor, id, sale_id, &input).await?))
}

/// What a candidate bought, paid and still owes: the packs sold, the invoices
/// with their payments and schedules.
#[utoipa::path(get, path = "/school/candidates/{id}/account", security(("bearer" = ["school.read"])), tag = "school", params(("id" = i64, Path)),
    responses((status = 200, body = Account), (status = 404, body = Problem)))]
async fn candidate_account(caller: Caller, Id(id): Id) -> AppResult<Json<Account>> {
    may(&caller, Permission::BillingRead)?;
    crate::school::candidates::service::summary_of(&caller.db, caller.org, id).await?;
    Ok(Json(packs::account(&caller.db, caller.org, id).await?))
}
