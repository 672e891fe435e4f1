//! HTTP plumbing: the router and its layers, extractors, responses, OpenAPI, assets.

pub mod assets;
pub mod extract;
pub mod idempotency;
pub mod keepalive;
pub mod openapi;
pub mod pwa;
pub mod respond;
pub mod router;

/// Paths whose last segment is a secret (a password link, a quote's share link,
/// a calendar feed, an unsubscribe link): the credential itself.
const SECRET_PATHS: [&str; 4] = ["/password/reset/", "/q/", "/calendar/", "/unsubscribe/"];

/// The path as logs may keep it: a secret link's secret masked.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATHS.iter().find(|prefix| path.starts_with(*prefix)) {
        Some(prefix) => std::borrow::Cow::Owned(format!("{prefix}…")),
        None => std::borrow::Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_do_not_reach_the_logs() {
        assert_eq!(super::loggable_path("/password/reset/0a1b2c"), "/password/reset/…");
        assert_eq!(super::loggable_path("/q/abc/pdf"), "/q/…");
        assert_eq!(super::loggable_path("/garages/12"), "/garages/12");
    }
}
