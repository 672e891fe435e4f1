//! `/api/v1/sso`: the organization's single sign-on (administrators:
//! `org.settings`). Signing in through it is a browser's journey (`/login/sso`).

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{SsoInput, SsoSettings};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::ApiJson;
use crate::platform::proxy::ClientContext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sso, put_sso, delete_sso))
}

/// The organization's single sign-on, with the address to register at the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoAnswer {
    #[serde(flatten)]
    pub settings: SsoSettings,
    /// Volant's redirect URI, to register at the provider.
    #[schema(example = "https://volant.garage-martin.fr/login/sso/callback")]
    pub redirect_uri: String,
}

fn answer(caller: &Caller, client: &ClientContext, settings: SsoSettings) -> SsoAnswer {
    let redirect_uri = super::redirect_uri(&client.public_url(&caller.config), &settings.callback_key);
    SsoAnswer { settings, redirect_uri }
}

/// The organization's single sign-on (OpenID Connect); 404 when it has none.
#[utoipa::path(get, path = "/sso", security(("bearer" = ["org.settings"])), tag = "organization",
    responses((status = 200, body = SsoAnswer), (status = 404, body = Problem)))]
async fn get_sso(caller: Caller, client: ClientContext) -> AppResult<Json<SsoAnswer>> {
    let settings = super::settings(&caller.db, caller.org).await?.ok_or(AppError::NotFound)?;
    Ok(Json(answer(&caller, &client, settings)))
}

/// Set the organization's single sign-on: the provider's issuer (its discovery
/// document must be readable: 422 `issuer` otherwise), Volant's client id and
/// secret there, the e-mail domains it covers (a domain of another organization:
/// 409 `sso_domain_taken`), and where roles come from (`invited`: people invited in
/// Volant only; `claim`: a claim's values mapped to `admin`, `manager` or `staff`,
/// new people made at their first sign-in).
#[utoipa::path(put, path = "/sso", security(("bearer" = ["org.settings"])), tag = "organization",
    request_body = SsoInput,
    responses((status = 200, body = SsoAnswer), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_sso(
    caller: Caller,
    client: ClientContext,
    ApiJson(input): ApiJson<SsoInput>,
) -> AppResult<Json<SsoAnswer>> {
    let allow = caller.config.sso_allow_private_hosts;
    let key = super::callback_key(&caller.signing_key, caller.org)?;
    let settings = super::save(&caller.db, (&caller.cipher, allow, &key), &caller.actor, &input).await?;
    Ok(Json(answer(&caller, &client, settings)))
}

/// Remove the organization's single sign-on (people keep their accounts; those
/// without a password choose one through the forgotten-password link).
#[utoipa::path(delete, path = "/sso", security(("bearer" = ["org.settings"])), tag = "organization",
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_sso(caller: Caller) -> AppResult<StatusCode> {
    super::remove(&caller.db, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
