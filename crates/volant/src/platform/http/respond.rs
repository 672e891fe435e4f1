//! Response shapes shared by every JSON API.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::platform::pagination::link_header;
use crate::platform::proxy::ClientContext;

/// A bare JSON array, with `Link: <…>; rel="next"` when another page follows.
pub fn paged<T: Serialize>(client: &ClientContext, uri: &Uri, next_cursor: Option<&str>, items: Vec<T>) -> Response {
    let mut response = Json(items).into_response();
    if let Some((name, value)) = link_header(client, uri, next_cursor) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// 201 Created with a `Location` header and the created resource.
pub fn created<T: Serialize>(location: &str, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A file to download: its type, `Content-Disposition: attachment` with its name,
/// and never cached by anyone but the browser.
pub fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}
