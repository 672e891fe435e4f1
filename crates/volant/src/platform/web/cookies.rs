//! Cookies of the web pages: read one, write one.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::Cookie;

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
