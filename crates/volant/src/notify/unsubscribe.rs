//! A link at the foot of every e-mail lets its recipient stop e-mails from the
//! organization without an account (clients are not users): the link carries
//! the organization and the address, signed; following it and confirming
//! records the refusal as a consent, like one recorded by the staff.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Channel;
use super::service::{self, ConsentInput};
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::i18n::Tr;
use crate::platform::tenant::OrgId;
use crate::platform::web::{PageCtx, WebResult};

pub fn routes() -> Routes {
    vec![("/unsubscribe/{token}", get(confirm_page).post(unsubscribe))]
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The organization.
    o: i64,
    /// The e-mail address.
    a: String,
}

/// The key of unsubscribe links: derived from the signing key, for this use only.
pub fn key(signing_key: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"volant unsubscribe link\0");
    hasher.update(signing_key);
    hasher.finalize().to_vec()
}

/// The path that stops e-mails from `org` to `address` (no expiry: an old e-mail's link still works).
pub fn path(key: &[u8], org: i64, address: &str) -> Option<String> {
    let claims = Claims { o: org, a: address.to_owned() };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key))
        .ok()
        .map(|token| format!("/unsubscribe/{token}"))
}

fn verify(key: &[u8], token: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key), &validation).ok().map(|data| data.claims)
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/unsubscribe.html")]
struct UnsubscribePage {
    page: PageCtx,
    organization: String,
    address: String,
    token: String,
    done: bool,
}

async fn page_for(state: &AppState, mut page: PageCtx, token: String, done: bool) -> Result<UnsubscribePage, AppError> {
    let claims = verify(&key(&state.signing_key), &token).ok_or(AppError::NotFound)?;
    let org = crate::identity::organizations::service::get(&state.db, OrgId::new(claims.o)).await?;
    page.tr = Tr(org.locale);
    Ok(UnsubscribePage { page, organization: org.name, address: claims.a, token, done })
}

async fn confirm_page(
    State(state): State<AppState>,
    page: PageCtx,
    Path(token): Path<String>,
) -> WebResult<UnsubscribePage> {
    Ok(page_for(&state, page, token, false).await?)
}

async fn unsubscribe(State(state): State<AppState>, page: PageCtx, Path(token): Path<String>) -> WebResult<Response> {
    let claims = verify(&key(&state.signing_key), &token).ok_or(AppError::NotFound)?;
    let input = ConsentInput {
        channel: Channel::Email,
        address: claims.a,
        granted: false,
        source: page.tr.t("notify.unsubscribe.source").to_owned(),
    };
    service::record_consent(&state.db, OrgId::new(claims.o), None, input).await?;
    Ok(page_for(&state, page, token, true).await?.into_response())
}
