//! A delivered file as HTTP: `200` with the file (gzip-encoded when the
//! client accepts it), or `303 See Other` to its presigned URL with a JSON
//! summary. The decision itself is [`crate::service::delivery`]'s.

use crate::model::TenantId;
use crate::render::ExportFormat;
use crate::service::delivery::{self, Delivered, Delivery};
use crate::service::tabular::RenderedExport;
use crate::store::{FileStore, StoreError};
use http::HeaderMap;
use lambda_http::{Body, Response};

/// Whether `Accept-Encoding` allows gzip.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let q_zero = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0"));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

/// Delivers a rendered file ([`delivery::deliver`]) and builds the response.
///
/// # Errors
/// When compression or the file store fails.
pub async fn deliver(
    files: &dyn FileStore,
    settings: Delivery,
    tenant: &TenantId,
    file: RenderedExport,
    request_headers: &HeaderMap,
) -> Result<Response<Body>, StoreError> {
    let delivered =
        delivery::deliver(files, settings, tenant, file, accepts_gzip(request_headers)).await?;
    to_response(delivered)
}

/// The response of a delivered file.
///
/// # Errors
/// When the response cannot be built.
pub fn to_response(delivered: Delivered) -> Result<Response<Body>, StoreError> {
    let built = match delivered {
        Delivered::Stored {
            url,
            file_name,
            stored,
            rows,
        } => {
            let body = serde_json::json!({
                "url": url.url,
                "expiresAt": url.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "filename": file_name,
                "rows": rows,
                "bytes": stored.bytes,
                "sha256": stored.sha256,
            });
            Response::builder()
                .status(303)
                .header(http::header::LOCATION, url.url.as_str())
                .header(http::header::CONTENT_TYPE, "application/json")
                .header("x-export-rows", rows)
                .body(Body::Text(body.to_string()))
        }
        Delivered::Inline {
            body,
            gzip,
            format,
            disposition,
            rows,
        } => {
            let mut builder = Response::builder()
                .status(200)
                .header(http::header::CONTENT_TYPE, format.content_type())
                .header(http::header::CONTENT_DISPOSITION, disposition)
                .header(http::header::VARY, "Accept-Encoding")
                .header("x-export-rows", rows);
            let body = if gzip {
                builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
                Body::Binary(body)
            } else if format == ExportFormat::Csv {
                match String::from_utf8(body) {
                    Ok(text) => Body::Text(text),
                    Err(e) => Body::Binary(e.into_bytes()),
                }
            } else {
                Body::Binary(body)
            };
            builder.body(body)
        }
    };
    built.map_err(|e| StoreError::backend("build response", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::ACCEPT_ENCODING,
            v.parse().expect("a header value"),
        );
        h
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&headers("*")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
