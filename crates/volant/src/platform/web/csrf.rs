//! CSRF protection: a random nonce in a cookie; every form echoes in `_csrf` an
//! HMAC of the nonce and the session cookie, keyed by the instance's secret, so a
//! value an attacker planted in the cookie and the form does not pass, nor
//! another session's.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::cookies::{cookie_header, is_https, read_cookie};
use super::{WebError, is_html_request};
use crate::platform::AppState;
use crate::platform::error::AppError;

const CSRF_COOKIE: &str = "volant_csrf";
pub const CSRF_FIELD: &str = "_csrf";

/// The request's CSRF token, put in the request by [`csrf_protection`].
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn csrf_mac(key: &[u8], nonce: &str, session: &str) -> Option<HmacSha256> {
    use hmac::Mac;
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    for part in [b"volant csrf".as_slice(), nonce.as_bytes(), session.as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    Some(mac)
}

/// The form token for the CSRF cookie's `nonce` and the session cookie's value
/// (empty when signed out), keyed by `key` (the instance's signing key).
pub fn csrf_token(key: &[u8], nonce: &str, session: &str) -> Option<String> {
    use hmac::Mac;
    csrf_mac(key, nonce, session).map(|mac| hex::encode(mac.finalize().into_bytes()))
}

/// Whether `presented` is the form token of this nonce and session (in constant time).
fn csrf_token_matches(key: &[u8], nonce: &str, session: &str, presented: &str) -> bool {
    use hmac::Mac;
    let Ok(presented) = hex::decode(presented) else { return false };
    csrf_mac(key, nonce, session).is_some_and(|mac| mac.verify_slice(&presented).is_ok())
}

/// A text field of a multipart body (the form puts `_csrf` first, so this stops early).
async fn multipart_field(bytes: &axum::body::Bytes, boundary: String, name: &str) -> Option<String> {
    let body = bytes.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

/// CSRF protection for pages: every browser gets a nonce (a cookie set once); pages
/// get the form token bound to it and to the session; every state-changing page
/// request must carry that token back in the form's `_csrf` field (or an
/// `X-CSRF-Token` header); otherwise 403 and nothing changes.
pub async fn csrf_protection(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !is_html_request() {
        return next.run(request).await;
    }
    let existing = read_cookie(request.headers(), CSRF_COOKIE).filter(|t| t.len() == 64);
    let nonce = match &existing {
        Some(nonce) => nonce.clone(),
        None => match crate::platform::secrets::random_token(32) {
            Ok(nonce) => nonce,
            Err(err) => return WebError(err).into_response(),
        },
    };
    let session = read_cookie(request.headers(), crate::identity::auth::SESSION_COOKIE).unwrap_or_default();
    let Some(token) = csrf_token(&state.signing_key, &nonce, &session) else {
        return WebError(AppError::Internal("CSRF token".to_owned())).into_response();
    };
    let (mut parts, body) = request.into_parts();
    let unsafe_method =
        !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    let body = if unsafe_method {
        // No form of ours comes without the cookie: refused before its body is read.
        if existing.is_none() {
            tracing::info!(path = %crate::platform::http::loggable_path(parts.uri.path()), "form refused: no CSRF cookie");
            return WebError(AppError::Forbidden).into_response();
        }
        // A signed-in person's form with files may be larger; the route's own limit applies after.
        let boundary = crate::platform::http::extract::multipart_boundary(&parts.headers);
        let limit = if boundary.is_some() && !session.is_empty() {
            crate::platform::http::extract::UPLOAD_LIMIT
        } else {
            crate::platform::http::extract::BODY_LIMIT
        };
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return WebError(AppError::PayloadTooLarge).into_response();
        };
        let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let form_token = match boundary {
            Some(boundary) => multipart_field(&bytes, boundary, CSRF_FIELD).await,
            None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v)),
        };
        let presented = header_token.or(form_token);
        let valid = existing.is_some()
            && presented.is_some_and(|given| csrf_token_matches(&state.signing_key, &nonce, &session, &given));
        if !valid {
            let path = crate::platform::http::loggable_path(parts.uri.path());
            tracing::info!(%path, "form refused: missing or wrong CSRF token");
            return WebError(AppError::Forbidden).into_response();
        }
        axum::body::Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(CsrfToken(token));
    let secure = is_https(&parts.extensions);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if existing.is_none()
        && let Some(value) = cookie_header(CSRF_COOKIE, &nonce, None, secure)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
