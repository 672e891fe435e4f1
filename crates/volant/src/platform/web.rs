//! Server-rendered pages: the page context every template receives, flash
//! messages across POST/redirect/GET, and errors rendered as French pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::Cookie;

use crate::platform::AppState;
use crate::platform::error::{AppError, FieldError};
use crate::platform::http::assets;
use crate::platform::i18n::{self, Tr};

const FLASH_COOKIE: &str = "volant_flash";
/// CSRF: a random nonce in this cookie; every form echoes in `_csrf` an HMAC of the
/// nonce and the session cookie, keyed by the instance's secret, so a value an
/// attacker planted in the cookie and the form does not pass, nor another session's.
const CSRF_COOKIE: &str = "volant_csrf";
pub const CSRF_FIELD: &str = "_csrf";

/// The request's CSRF token, put in the request by [`csrf_protection`].
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Who is signed in, for the layout (name and sign-out button).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub display_name: String,
    /// Whether the navigation offers the audit trail.
    pub can_audit: bool,
    /// Whether the navigation offers user administration.
    pub can_manage_users: bool,
    /// Whether the navigation offers clients and quotes.
    pub can_see_workshop: bool,
    /// Whether workshop pages offer their editing actions.
    pub can_edit_workshop: bool,
    /// Whether workshop pages offer recording interventions and mileage readings.
    pub can_record_interventions: bool,
    /// Whether the navigation offers garages and vehicles.
    pub can_see_fleet: bool,
    /// Whether the navigation offers the school's planning.
    pub can_see_planning: bool,
    /// Whether the navigation offers the school's files (candidates, exams, reports).
    pub can_see_school: bool,
    /// Whether school pages offer booking and managing lessons.
    pub can_edit_school: bool,
    /// Whether the navigation offers the candidate's portal.
    pub can_use_portal: bool,
    /// Whether the navigation offers contacts' consents.
    pub can_record_consents: bool,
    /// Whether the navigation offers the job queue and deliveries.
    pub can_operate: bool,
    /// Whether the navigation offers the instance's status (platform operators only).
    pub can_see_status: bool,
}

tokio::task_local! {
    static HTML_REQUEST: bool;
}

/// Runs `fut` knowing whether the request is for a web page (errors become
/// HTML pages) or for the API (errors stay problem+json).
pub async fn scope<F: Future>(html: bool, fut: F) -> F::Output {
    HTML_REQUEST.scope(html, fut).await
}

/// Whether the request being served is for a web page.
pub fn is_html_request() -> bool {
    HTML_REQUEST.try_with(|html| *html).unwrap_or(false)
}

/// A one-time message shown on the next page (after a redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `success` or `error`: also the CSS class.
    pub kind: &'static str,
    pub message: String,
}

/// What the base layout needs, extracted from every page request.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub tr: Tr,
    pub flash: Option<Flash>,
    /// The request path, to mark the current navigation entry.
    pub path: String,
    /// An htmx request wants a fragment, not a whole page.
    pub htmx: bool,
    pub asset_version: &'static str,
    /// Echoed by every form in a hidden `_csrf` field.
    pub csrf: String,
    /// The signed-in person's name, if any.
    pub user: Option<String>,
    pub can_audit: bool,
    pub can_manage_users: bool,
    pub can_see_workshop: bool,
    pub can_edit_workshop: bool,
    pub can_record_interventions: bool,
    pub can_see_fleet: bool,
    pub can_see_planning: bool,
    pub can_see_school: bool,
    pub can_edit_school: bool,
    pub can_use_portal: bool,
    pub can_record_consents: bool,
    pub can_operate: bool,
    pub can_see_status: bool,
}

impl PageCtx {
    fn new(headers: &HeaderMap, path: &str) -> Self {
        Self::with_extensions(headers, path, &axum::http::Extensions::new())
    }

    fn with_extensions(headers: &HeaderMap, path: &str, extensions: &axum::http::Extensions) -> Self {
        Self {
            csrf: extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default(),
            user: extensions.get::<SignedIn>().map(|u| u.display_name.clone()),
            can_audit: extensions.get::<SignedIn>().is_some_and(|u| u.can_audit),
            can_manage_users: extensions.get::<SignedIn>().is_some_and(|u| u.can_manage_users),
            can_see_workshop: extensions.get::<SignedIn>().is_some_and(|u| u.can_see_workshop),
            can_edit_workshop: extensions.get::<SignedIn>().is_some_and(|u| u.can_edit_workshop),
            can_record_interventions: extensions.get::<SignedIn>().is_some_and(|u| u.can_record_interventions),
            can_see_fleet: extensions.get::<SignedIn>().is_some_and(|u| u.can_see_fleet),
            can_see_planning: extensions.get::<SignedIn>().is_some_and(|u| u.can_see_planning),
            can_see_school: extensions.get::<SignedIn>().is_some_and(|u| u.can_see_school),
            can_record_consents: extensions.get::<SignedIn>().is_some_and(|u| u.can_record_consents),
            can_operate: extensions.get::<SignedIn>().is_some_and(|u| u.can_operate),
            can_see_status: extensions.get::<SignedIn>().is_some_and(|u| u.can_see_status),
            can_edit_school: extensions.get::<SignedIn>().is_some_and(|u| u.can_edit_school),
            can_use_portal: extensions.get::<SignedIn>().is_some_and(|u| u.can_use_portal),
            tr: Tr(i18n::current()),
            flash: read_flash(headers),
            path: path.to_owned(),
            htmx: headers.contains_key("hx-request") && !headers.contains_key("hx-boosted"),
            asset_version: assets::version(),
        }
    }

    /// Whether the navigation entry for `prefix` is the current one.
    pub fn is_current(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::with_extensions(&parts.headers, parts.uri.path(), &parts.extensions))
    }
}

/// The value of cookie `name`, decoded.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when served over HTTPS.
pub fn cookie_header(
    name: &str,
    value: &str,
    max_age: Option<cookie::time::Duration>,
    secure: bool,
) -> Option<HeaderValue> {
    let mut builder = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(secure);
    if let Some(max_age) = max_age {
        builder = builder.max_age(max_age);
    }
    HeaderValue::from_str(&builder.build().encoded().to_string()).ok()
}

/// Whether the client reached us over HTTPS, as a trusted proxy says (see
/// [`ClientContext`](crate::platform::proxy::ClientContext)).
pub fn is_https(extensions: &axum::http::Extensions) -> bool {
    crate::platform::proxy::ClientContext::of(extensions).https
}

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
        let Ok(bytes) = axum::body::to_bytes(body, crate::platform::http::extract::BODY_LIMIT).await else {
            return WebError(AppError::PayloadTooLarge).into_response();
        };
        let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let form_token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v));
        let presented = header_token.or(form_token);
        let valid = existing.is_some()
            && presented.is_some_and(|given| csrf_token_matches(&state.signing_key, &nonce, &session, &given));
        if !valid {
            tracing::info!(path = %parts.uri.path(), "form refused: missing or wrong CSRF token");
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

fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = read_cookie(headers, FLASH_COOKIE)?;
    let (kind, message) = raw.split_once(':')?;
    let kind = match kind {
        "success" => "success",
        _ => "error",
    };
    Some(Flash { kind, message: message.chars().take(500).collect() })
}

/// `target` when it is a path of this site that a browser cannot read as another
/// site: one leading `/` (never `//`), no backslash, no control character (tab, CR,
/// LF, NUL…), and the same once percent-decoded (`/%2F/evil`, `/%5C/evil`, `/%09/x`
/// refused) and once resolved as a browser would (no scheme, no other host).
pub fn safe_redirect_target(target: &str) -> Option<&str> {
    fn plain_path(path: &str) -> bool {
        path.starts_with('/') && !path.starts_with("//") && !path.chars().any(|c| c == '\\' || c.is_control())
    }
    if target.len() > 2048 || !plain_path(target) {
        return None;
    }
    // Decoded until stable (a few rounds at most): each form must still be a plain path.
    let mut decoded = target.to_owned();
    for _ in 0..3 {
        let next = percent_encoding::percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        if !plain_path(&next) {
            return None;
        }
        if next == decoded {
            break;
        }
        decoded = next;
    }
    // Resolved against an origin, as a browser does: it must stay on that origin.
    let base = url::Url::parse("http://volant.invalid/").ok()?;
    [target, decoded.as_str()]
        .iter()
        .all(|t| {
            base.join(t)
                .is_ok_and(|u| u.origin() == base.origin() && u.path().starts_with('/') && !u.path().starts_with("//"))
        })
        .then_some(target)
}

/// 303 to `target` when [`safe_redirect_target`] accepts it, to `/` otherwise.
pub fn safe_redirect(target: &str) -> Response {
    see_other(safe_redirect_target(target).unwrap_or("/"))
}

/// 303 to `to`; never panics (axum's `Redirect::to` does on a value that cannot be a
/// header): an unusable target sends to `/`.
pub fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// 303 to `to`, showing `message` there once.
pub fn redirect_with_flash(to: &str, kind: &'static str, message: &str) -> Response {
    let cookie = Cookie::build((FLASH_COOKIE, format!("{kind}:{message}")))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(60))
        .build();
    let mut response = see_other(to);
    if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Once a page has shown the flash, the cookie is removed (not on redirects,
/// which carry it on to the page that shows it).
pub async fn clear_consumed_flash(request: Request, next: Next) -> Response {
    let had_flash = read_flash(request.headers()).is_some();
    let mut response = next.run(request).await;
    let sets_flash = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|c| c.starts_with(&format!("{FLASH_COOKIE}="))));
    if had_flash && !response.status().is_redirection() && !sets_flash {
        let removal = Cookie::build((FLASH_COOKIE, "")).path("/").max_age(cookie::time::Duration::ZERO).build();
        if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A form shown again with its errors answers 422, so tools and tests see the refusal
/// (htmx is configured in the base layout to swap it in like a 200).
pub fn unprocessable(page: impl IntoResponse) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// Field errors of a form, rendered in the reader's language.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(Vec<(String, String)>);

impl FormErrors {
    pub fn from_fields(errors: &[FieldError]) -> Self {
        let locale = i18n::current();
        Self(errors.iter().map(|e| (e.field.clone(), e.message.render(locale))).collect())
    }

    pub fn add(&mut self, field: &str, message: String) {
        self.0.push((field.to_owned(), message));
    }

    /// The message of `field`, or of a part of it (`days_off[2].reason` marks `days_off`).
    pub fn get(&self, field: &str) -> Option<&str> {
        let is_part = |f: &str| f.strip_prefix(field).is_some_and(|rest| rest.starts_with(['[', '.']));
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .or_else(|| self.0.iter().find(|(f, _)| is_part(f)))
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of every field whose name starts with `prefix` (a row of a
    /// table form), joined; `None` when the row has none.
    pub fn messages_with_prefix(&self, prefix: &str) -> Option<String> {
        let messages: Vec<&str> =
            self.0.iter().filter(|(f, _)| f.starts_with(prefix)).map(|(_, m)| m.as_str()).collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }

    /// Splits a service error into errors shown beside fields and anything else.
    pub fn from_app_error(err: AppError) -> Result<Self, AppError> {
        match err {
            AppError::Validation(errors) => Ok(Self::from_fields(&errors)),
            AppError::Conflict { field: Some(field), message, .. }
            | AppError::ConflictWith { field: Some(field), message, .. } => {
                let mut errors = Self::default();
                errors.add(field, message.render(i18n::current()));
                Ok(errors)
            }
            other => Err(other),
        }
    }
}

/// An error on a web page: the same [`AppError`], rendered as a French page.
#[derive(Debug)]
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

pub type WebResult<T> = Result<T, WebError>;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageCtx,
    status: u16,
    title: String,
    detail: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.0.log();
        let locale = i18n::current();
        let status = self.0.status();
        let title_key = match status {
            StatusCode::NOT_FOUND => "error.page_not_found",
            StatusCode::CONFLICT => "error.page_conflict",
            StatusCode::FORBIDDEN => "error.page_forbidden",
            s if s.is_server_error() => "error.page_server",
            _ => "error.page_invalid",
        };
        let page = ErrorPage {
            page: PageCtx::new(&HeaderMap::new(), ""),
            status: status.as_u16(),
            title: locale.text(title_key).to_owned(),
            detail: self.0.detail(locale),
        };
        (status, page).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_stay_on_this_site() {
        for good in ["/", "/vehicles", "/alerts?status=open&cursor=i4", "/clients?q=50%25", "/q/abc#x", "/a/./b"] {
            assert_eq!(safe_redirect_target(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "vehicles",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5C/evil.example",
            "/%5c%5cevil.example",
            "/%252F/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/x%0d%0aSet-Cookie: a=b",
            "/x\0",
            "/x%00",
            "/\u{85}x",
            "javascript:alert(1)",
            "/../..//evil.example",
        ] {
            assert_eq!(safe_redirect_target(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn redirects_never_panic() {
        let response = redirect_with_flash("/x\r\n", "error", "m");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/"));
        assert_eq!(safe_redirect("/%09/evil").headers().get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/"));
    }
}
