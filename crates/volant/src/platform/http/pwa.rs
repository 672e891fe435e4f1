//! Volant as an installable app: the web app manifest and the service worker,
//! both at the root (a worker controls the pages under the folder it is served
//! from). The worker's own file is `assets/sw.js` (see there what it keeps).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use crate::platform::i18n;

/// The colour of the app's bar and icon (`--primary` in app.css).
const THEME: &str = "#1d4ed8";

/// `GET /manifest.webmanifest`: what a phone needs to install Volant. The start
/// page leads each person to their own (the instructor to the planning, the
/// candidate to the portal, the office to its lists).
pub async fn manifest() -> Response {
    let tr = i18n::current();
    let version = assets::version();
    let icon = |path: &str, size: &str, purpose: &str| serde_json::json!({ "src": format!("/assets/{path}?v={version}"), "sizes": size, "type": "image/png", "purpose": purpose });
    let body = serde_json::json!({
        "id": "/",
        "name": "Volant",
        "short_name": "Volant",
        "description": tr.text("pwa.description"),
        "lang": tr.as_str(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [
            icon("icons/icon-192.png", "192x192", "any"),
            icon("icons/icon-512.png", "512x512", "any"),
            icon("icons/maskable-512.png", "512x512", "maskable"),
        ],
    });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/manifest+json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `GET /sw.js`: the service worker (only here, not among the assets: its scope
/// is the folder it is served from), naming the assets' version so that an
/// upgrade of Volant is a new worker (browsers compare its bytes), revalidated on
/// every check (`no-cache`).
pub async fn service_worker() -> Response {
    static SOURCE: &str = include_str!("../../../assets/sw.js");
    let source = SOURCE.replace("__VOLANT_ASSET_VERSION__", assets::version());
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        source,
    )
        .into_response()
}
