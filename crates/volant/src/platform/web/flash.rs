//! One-time messages across POST/redirect/GET, and the redirects that carry them.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::Cookie;

use super::WebResult;
use super::cookies::read_cookie;
use crate::platform::error::AppError;
use crate::platform::i18n;

const FLASH_COOKIE: &str = "volant_flash";

/// A one-time message shown on the next page (after a redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `success` or `error`: also the CSS class.
    pub kind: &'static str,
    pub message: String,
}

/// Sent by the service worker (assets/sw.js) with the pages it saves ahead.
const SAVE_AHEAD_HEADER: &str = "volant-save-ahead";

pub(super) fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    // A page the service worker saves ahead, in the background, is not the one
    // the person is about to see: it neither shows nor uses up their message.
    if headers.contains_key(SAVE_AHEAD_HEADER) {
        return None;
    }
    let raw = read_cookie(headers, FLASH_COOKIE)?;
    let (kind, message) = raw.split_once(':')?;
    let kind = match kind {
        "success" => "success",
        "warning" => "warning",
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

/// A refusal the person can act on (a conflict, invalid input) shown as an error
/// message on the page they are sent `back` to; anything else stays an error page.
pub fn refusal_to_flash(back: &str, err: AppError) -> WebResult<Response> {
    let locale = i18n::current();
    let text = match err {
        AppError::Conflict { message, .. } | AppError::ConflictWith { message, .. } => message.render(locale),
        AppError::Validation(errors) => errors.iter().map(|e| e.message.render(locale)).collect::<Vec<_>>().join(" "),
        other => return Err(other.into()),
    };
    Ok(redirect_with_flash(back, "error", &text))
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
