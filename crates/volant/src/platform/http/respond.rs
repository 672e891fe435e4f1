//! Response shapes shared by every JSON API.

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::platform::error::AppError;
use crate::platform::http::extract::ApiQuery;
use crate::platform::pagination::{Page, PageParams, PageRequest, link_header};
use crate::platform::proxy::ClientContext;

/// A JSON list request: the page it asks for (`?limit=` and `?cursor=`, validated:
/// 400 otherwise), and the URL the client asked for and how it reached us, so that
/// [`Paged::respond`] can announce the next page.
pub struct Paged {
    pub request: PageRequest,
    uri: Uri,
    client: ClientContext,
}

impl<S: Send + Sync> FromRequestParts<S> for Paged {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiQuery(params) = ApiQuery::<PageParams>::from_request_parts(parts, state).await?;
        let request = PageRequest::from_params(&params)?;
        let Ok(OriginalUri(uri)) = OriginalUri::from_request_parts(parts, state).await;
        let Ok(client) = ClientContext::from_request_parts(parts, state).await;
        Ok(Self { request, uri, client })
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

/// A PDF response that downloads under `name`.
pub fn pdf_response(name: &str, bytes: Vec<u8>, inline: bool) -> Response {
    let disposition =
        format!("{}; filename=\"{}\"", if inline { "inline" } else { "attachment" }, name.replace('"', ""));
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}
