//! `Idempotency-Key` on writes (the IETF draft's header, as Stripe and others
//! use it): a signed-in client that sends a write with a key gets, for a day,
//! the same answer for the same key, and the write is applied once. The phone
//! sends what it queued offline again and again until one answer arrives
//! (docs/mobile.md); a retry after an answer lost on the way must not record a
//! lesson report or a mileage reading twice.
//!
//! The key is the person's own (organization, user, key); the first request
//! claims it in `idempotency_keys` before it runs, so a second one at the same
//! time waits for nothing and gets a 409; its answer (status, headers but
//! cookies, body) is stored when it has one that says what happened. An answer
//! that does not (a refusal of the credentials, a timeout, a server error)
//! frees the key for the next try.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};

use crate::identity::auth::CurrentUser;
use crate::platform::AppState;
use crate::platform::db::{self, statement};
use crate::platform::error::AppError;
use crate::platform::i18n::Msg;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// On an answer given again for a key already used.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Put in a request whose `Idempotency-Key` no client could mean (see
/// [`InvalidIdempotencyKey::refusal`]).
#[derive(Debug, Clone, Copy)]
pub struct InvalidIdempotencyKey;

impl InvalidIdempotencyKey {
    /// The 422 a write answers when its request carries an invalid key.
    pub fn refusal() -> AppError {
        AppError::validation("Idempotency-Key", Msg::new("idempotency.invalid_key"))
    }
}

/// How long a key and its answer are kept.
pub const KEPT: Duration = Duration::days(1);
/// A claim older than this without an answer belongs to a request that never
/// finished (the server stopped meanwhile): what it did is unknown.
const ABANDONED: Duration = Duration::minutes(5);
/// Answers larger than this are not kept: a retry hears the outcome is unknown.
const STORED_BODY_LIMIT: usize = 512 * 1024;
const MAX_KEY_LEN: usize = 255;

/// Whether `key` may be an idempotency key: 1 to 255 visible ASCII characters.
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// What identifies a request beyond its key: the same key with another request
/// is a client's mistake, never an answer to give again. A form's fields count
/// as the form says them, not as a browser encoded them, and without the page's
/// CSRF token (a form first sent from the page, then from the phone's queue with
/// the token of a later page, is one request).
fn fingerprint(method: &Method, uri: &axum::http::Uri, form: bool, body: &[u8]) -> String {
    let canonical;
    let body = match serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        Ok(pairs) if form => {
            let fields: Vec<(String, String)> = pairs
                .into_iter()
                .filter(|(name, _)| name != crate::platform::web::CSRF_FIELD)
                .map(|(name, value)| (name, value.replace("\r\n", "\n")))
                .collect();
            canonical = serde_urlencoded::to_string(&fields).unwrap_or_default();
            canonical.as_bytes()
        }
        _ => body,
    };
    let mut hash = Sha256::new();
    for part in [method.as_str().as_bytes(), uri.path().as_bytes(), uri.query().unwrap_or("").as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// Whether an answer says what became of the write, so that it is the answer to
/// every retry: done, redirected, or refused for what the request says. A refusal
/// of the caller's credentials or rate, a timeout and a server error are not:
/// the next try runs.
fn settles(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::REQUEST_TIMEOUT
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::TOO_MANY_REQUESTS
        ))
}

/// The answer's headers that are given again: not its cookies (a flash message,
/// a session), not what the transport sets.
fn replayable(name: &HeaderName) -> bool {
    !matches!(
        *name,
        header::SET_COOKIE | header::DATE | header::CONTENT_LENGTH | header::TRANSFER_ENCODING | header::CONNECTION
    )
}

enum Claim {
    /// This request runs.
    Claimed,
    /// Another request holds the key: its stored answer, if it has one.
    Taken { fingerprint: String, answer: Option<Stored>, claimed_at: DateTime<Utc> },
}

struct Stored {
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

struct Key<'a> {
    org: i64,
    user: i64,
    key: &'a str,
}

async fn claim(db: &DatabaseConnection, key: &Key<'_>, fingerprint: &str) -> Result<Claim, AppError> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let inserted = db::write(db, async |txn| {
        txn.execute_raw(statement(
            backend,
            "INSERT INTO idempotency_keys (organization_id, user_id, idempotency_key, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organization_id, user_id, idempotency_key) DO NOTHING",
            vec![key.org.into(), key.user.into(), key.key.into(), fingerprint.into(), now.into()],
        ))
        .await
    })
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Claimed);
    }
    let row = db
        .query_one_raw(statement(
            backend,
            "SELECT fingerprint, status, headers, body, created_at FROM idempotency_keys \
             WHERE organization_id = $1 AND user_id = $2 AND idempotency_key = $3",
            vec![key.org.into(), key.user.into(), key.key.into()],
        ))
        .await?
        // Freed between the two statements (its request failed): this one is a
        // retry too early to know; the client tries again.
        .ok_or_else(in_progress)?;
    let status: Option<i32> = row.try_get("", "status")?;
    let answer = match status {
        Some(status) => {
            let headers: String = row.try_get("", "headers")?;
            Some(Stored {
                status: u16::try_from(status).unwrap_or(500),
                headers: serde_json::from_str(&headers).unwrap_or_default(),
                body: row.try_get("", "body")?,
            })
        }
        None => None,
    };
    Ok(Claim::Taken {
        fingerprint: row.try_get("", "fingerprint")?,
        answer,
        claimed_at: row.try_get("", "created_at")?,
    })
}

async fn settle(db: &DatabaseConnection, key: &Key<'_>, answer: &Stored) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let headers = serde_json::to_string(&answer.headers).unwrap_or_else(|_| "[]".to_owned());
    db::write(db, async |txn| {
        txn.execute_raw(statement(
            backend,
            "UPDATE idempotency_keys SET status = $1, headers = $2, body = $3 \
             WHERE organization_id = $4 AND user_id = $5 AND idempotency_key = $6",
            vec![
                i32::from(answer.status).into(),
                headers.into(),
                answer.body.clone().into(),
                key.org.into(),
                key.user.into(),
                key.key.into(),
            ],
        ))
        .await
        .map(|_| ())
    })
    .await
}

async fn release(db: &DatabaseConnection, org: i64, user: i64, key: &str) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    db::write(db, async |txn| {
        txn.execute_raw(statement(
            backend,
            "DELETE FROM idempotency_keys WHERE organization_id = $1 AND user_id = $2 AND idempotency_key = $3 \
             AND status IS NULL",
            vec![org.into(), user.into(), key.into()],
        ))
        .await
        .map(|_| ())
    })
    .await
}

fn in_progress() -> AppError {
    AppError::conflict("idempotency_in_progress", Msg::new("idempotency.in_progress"))
}

/// The answer while another request with the key runs: try again in a second.
fn busy() -> Response {
    let mut response = refused(in_progress());
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn refused(error: AppError) -> Response {
    if crate::platform::web::is_html_request() {
        crate::platform::web::WebError(error).into_response()
    } else {
        error.into_response()
    }
}

fn outcome_unknown() -> AppError {
    AppError::conflict("idempotency_outcome_unknown", Msg::new("idempotency.outcome_unknown"))
}

fn replay(answer: Stored) -> Response {
    // An answer too large to keep: what it said is not known any more.
    let Some(body) = answer.body else { return refused(outcome_unknown()) };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let headers: &mut HeaderMap = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Runs a signed-in write that carries an `Idempotency-Key` once per key (see
/// the module's documentation); every other request goes through untouched.
pub async fn idempotent_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    if !matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    // Keys are a person's: without a person, the route refuses as it would anyway.
    let Ok(current) = CurrentUser::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let key = match key.to_str() {
        Ok(key) if valid_key(key) => key.to_owned(),
        _ => {
            // Refused by the handler's `Caller`, once the route is known to take the
            // method: an address or a method that does not exist stays a 404 or a 405.
            parts.extensions.insert(InvalidIdempotencyKey);
            return next.run(Request::from_parts(parts, body)).await;
        }
    };
    // The route's own limit applies after; a form with files may be larger.
    let limit = match crate::platform::http::extract::multipart_boundary(&parts.headers) {
        Some(_) => crate::platform::http::extract::UPLOAD_LIMIT,
        None => crate::platform::http::extract::BODY_LIMIT,
    };
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return refused(AppError::PayloadTooLarge);
    };
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let print = fingerprint(&parts.method, &parts.uri, form, &bytes);
    let owner = Key { org: current.user.org.get(), user: current.user.id, key: &key };
    match claim(&state.db, &owner, &print).await {
        Err(AppError::Conflict { code: "idempotency_in_progress", .. }) => return busy(),
        Err(err) => return refused(err),
        Ok(Claim::Taken { fingerprint, .. }) if fingerprint != print => {
            return refused(AppError::validation("Idempotency-Key", Msg::new("idempotency.reused")));
        }
        Ok(Claim::Taken { answer: Some(answer), .. }) => return replay(answer),
        Ok(Claim::Taken { answer: None, claimed_at, .. }) => {
            return if Utc::now() - claimed_at > ABANDONED { refused(outcome_unknown()) } else { busy() };
        }
        Ok(Claim::Claimed) => {}
    }
    // The write and the keeping of its answer run to their end even when the
    // client goes away or the timeout answers first: the next try then hears
    // what happened instead of doing it again. (Their request's scopes go along.)
    let (html, locale) = (crate::platform::web::is_html_request(), crate::platform::i18n::current());
    let (db, org, user) = (state.db.clone(), owner.org, owner.user);
    let request = Request::from_parts(parts, Body::from(bytes));
    let owned_key = key.clone();
    let work = async move {
        let running = crate::platform::web::scope(html, next.run(request));
        let response = crate::platform::i18n::scope(locale, running).await;
        keep_answer(&db, &Key { org, user, key: &owned_key }, response).await
    };
    match tokio::spawn(tracing::Instrument::instrument(work, tracing::Span::current())).await {
        Ok(response) => response,
        Err(_) => {
            // The handler panicked: nothing was answered, the next try runs.
            if let Err(err) = release(&state.db, org, user, &key).await {
                tracing::warn!(error = %err, "idempotency key not released");
            }
            refused(AppError::Internal("handler panicked".to_owned()))
        }
    }
}

/// Stores the answer when it says what became of the write (then every later
/// request with the key gets it), else frees the key; gives the answer back.
async fn keep_answer(db: &DatabaseConnection, owner: &Key<'_>, response: Response) -> Response {
    let status = response.status();
    if !settles(status) {
        if let Err(err) = release(db, owner.org, owner.user, owner.key).await {
            tracing::warn!(error = %err, "idempotency key not released");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| replayable(name))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let stored = (body.len() <= STORED_BODY_LIMIT).then(|| body.to_vec());
    let answer = Stored { status: status.as_u16(), headers, body: stored };
    if let Err(err) = settle(db, owner, &answer).await {
        // The write is done; the key stays claimed, and a retry hears the outcome is unknown.
        tracing::warn!(error = %err, "idempotent answer not stored");
    }
    Response::from_parts(parts, Body::from(body))
}

/// Deletes the keys older than [`KEPT`].
pub async fn prune(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    let before = now - KEPT;
    db::write(db, async |txn| {
        txn.execute_raw(statement(backend, "DELETE FROM idempotency_keys WHERE created_at < $1", vec![before.into()]))
            .await
            .map(|done| done.rows_affected())
    })
    .await
    .map_err(AppError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(valid_key("3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7"));
        assert!(!valid_key(""));
        assert!(!valid_key("with space"));
        assert!(!valid_key("é"));
        assert!(!valid_key(&"k".repeat(256)));
    }

    #[test]
    fn the_fingerprint_tells_requests_apart() {
        let uri: axum::http::Uri = "/vehicles/1/mileage".parse().unwrap();
        let other: axum::http::Uri = "/vehicles/2/mileage".parse().unwrap();
        let a = fingerprint(&Method::POST, &uri, false, b"km=100");
        assert_eq!(a, fingerprint(&Method::POST, &uri, false, b"km=100"));
        assert_ne!(a, fingerprint(&Method::POST, &uri, false, b"km=101"));
        assert_ne!(a, fingerprint(&Method::POST, &other, false, b"km=100"));
        assert_ne!(a, fingerprint(&Method::PUT, &uri, false, b"km=100"));
    }

    #[test]
    fn a_form_is_the_same_request_whatever_its_page_token_and_encoding() {
        let uri: axum::http::Uri = "/school/lessons/7/outcome".parse().unwrap();
        let sent = fingerprint(&Method::POST, &uri, true, b"_csrf=aaa&status=done&notes=Cr%C3%A9neau+1%0D%0Aligne+2");
        let queued = fingerprint(&Method::POST, &uri, true, b"status=done&notes=Cr%C3%A9neau%201%0Aligne%202");
        assert_eq!(sent, queued);
        assert_ne!(sent, fingerprint(&Method::POST, &uri, true, b"status=no_show&notes=Cr%C3%A9neau%201%0Aligne%202"));
    }

    #[test]
    fn refusals_of_the_caller_and_failures_leave_the_key_free() {
        for status in
            [StatusCode::CREATED, StatusCode::SEE_OTHER, StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY]
        {
            assert!(settles(status), "{status}");
        }
        for status in
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::TOO_MANY_REQUESTS, StatusCode::BAD_GATEWAY]
        {
            assert!(!settles(status), "{status}");
        }
    }
}
