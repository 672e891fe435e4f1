//! Response shapes shared by every JSON API.

use std::convert::Infallible;

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::platform::pagination::{Page, link_header};
use crate::platform::proxy::ClientContext;

/// How a JSON list answers: the URL the client asked for and how it reached us,
/// taken from the request, so that [`Paged::respond`] can announce the next page.
pub struct Paged {
    uri: Uri,
    client: ClientContext,
}

impl<S: Send + Sync> FromRequestParts<S> for Paged {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let OriginalUri(uri) = OriginalUri::from_request_parts(parts, state).await?;
        let client = ClientContext::from_request_parts(parts, state).await?;
        Ok(Self { uri, client })
    }
}

impl Paged {
    /// A bare JSON array of the page's items, with `Link: <…>; rel="next"` when
    /// another page follows.
    pub fn respond<T: Serialize>(&self, page: Page<T>) -> Response {
        let mut response = Json(page.items).into_response();
        if let Some((name, value)) = link_header(&self.client, &self.uri, page.next_cursor.as_deref()) {
            response.headers_mut().insert(name, value);
        }
        response
    }
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
