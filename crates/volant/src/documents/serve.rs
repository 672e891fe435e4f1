//! A document's file as an HTTP response: its type as Volant decided it, a
//! `Content-Disposition` with its name, a CSP under which nothing in it can run,
//! and single byte ranges (a large PDF read in parts, a video-less phone resuming).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::service::{Download, Variant};

/// Nothing in a served file runs: no script, no plugin, no form, no frame.
const FILE_POLICY: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// A `Range` header that no byte of the file satisfies (416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A single range of `len` bytes asked by a `Range` header: `Ok(None)` for the
/// whole file, `Err(Unsatisfiable)` when it cannot be satisfied.
pub fn range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    // Several ranges: the whole file is a valid answer (RFC 9110 §14.2).
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.is_empty(), end.is_empty()) {
        (true, false) => {
            let suffix: u64 = end.parse().map_err(|_| Unsatisfiable)?;
            if suffix == 0 || len == 0 {
                return Err(Unsatisfiable);
            }
            (len.saturating_sub(suffix), len - 1)
        }
        (false, _) => {
            let first: u64 = start.parse().map_err(|_| Unsatisfiable)?;
            let last: u64 =
                if end.is_empty() { len.saturating_sub(1) } else { end.parse().map_err(|_| Unsatisfiable)? };
            if first >= len || last < first {
                return Err(Unsatisfiable);
            }
            (first, last.min(len - 1))
        }
        (true, true) => return Err(Unsatisfiable),
    };
    Ok(Some(parsed))
}

pub fn file(found: Download, variant: Variant, headers: &HeaderMap) -> Response {
    let len = found.bytes.len() as u64;
    let name = match variant {
        Variant::Original => found.attachment.download_name(),
        Variant::Preview | Variant::Thumbnail => {
            let extension = crate::platform::uploads::FileType::from_content_type(found.content_type)
                .map_or("bin", crate::platform::uploads::FileType::extension);
            format!("{}.{extension}", found.attachment.id)
        }
    };
    // Photos open in the browser; PDFs download (a browser's PDF viewer does not run sandboxed).
    let inline = found.content_type.starts_with("image/");
    let (status, body, content_range) = match range(headers, len) {
        Ok(None) => (StatusCode::OK, found.bytes, None),
        Ok(Some((first, last))) => {
            let (from, to) = (usize::try_from(first).unwrap_or(0), usize::try_from(last).unwrap_or(0));
            let part = found.bytes.get(from..=to).map(<[u8]>::to_vec).unwrap_or_default();
            (StatusCode::PARTIAL_CONTENT, part, Some(format!("bytes {first}-{last}/{len}")))
        }
        Err(Unsatisfiable) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    let mut response = (status, Body::from(body)).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(found.content_type));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FILE_POLICY));
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Some(value) = content_range.and_then(|v| HeaderValue::from_str(&v).ok()) {
        out.insert(header::CONTENT_RANGE, value);
    }
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded = percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC).to_string();
    let disposition =
        format!("{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}", if inline { "inline" } else { "attachment" });
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        out.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")));
        headers
    }

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(range(&asking("bytes=0-9"), 100), Ok(Some((0, 9))));
        assert_eq!(range(&asking("bytes=90-"), 100), Ok(Some((90, 99))));
        assert_eq!(range(&asking("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(range(&asking("bytes=50-500"), 100), Ok(Some((50, 99))));
        assert_eq!(range(&asking("bytes=100-"), 100), Err(Unsatisfiable));
        assert_eq!(range(&asking("bytes=9-3"), 100), Err(Unsatisfiable));
        assert_eq!(range(&asking("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(range(&asking("items=0-1"), 100), Ok(None));
    }
}
