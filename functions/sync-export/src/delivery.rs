//! How a rendered file reaches the client: inline (gzip-compressed when the
//! client accepts it), or, when the encoded body would pass the inline limit,
//! stored in the file store and answered with `303 See Other` to a presigned
//! URL.
//!
//! Lambda caps a response at 6 MB, and API Gateway base64-encodes binary
//! bodies (4/3 of their size), so the limit is checked on the encoded size.

use exports_shared::api::http_util::attachment;
use exports_shared::api::tabular::ExportFormat;
use exports_shared::model::TenantId;
use exports_shared::service::tabular::RenderedExport;
use exports_shared::store::{FileKey, FileMeta, FileStore, StoreError};
use flate2::write::GzEncoder;
use flate2::Compression;
use http::HeaderMap;
use lambda_http::{Body, Response};
use std::io::Write;
use std::time::Duration;

/// Default inline limit: 4 MiB of encoded body, leaving room under Lambda's 6 MB.
pub const DEFAULT_INLINE_LIMIT: usize = 4 * 1024 * 1024;
/// Default lifetime of a download URL.
pub const DEFAULT_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// Delivery settings, from `EXPORTS_INLINE_LIMIT_BYTES` and `EXPORTS_FILE_URL_TTL_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub inline_limit: usize,
    pub url_ttl: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            inline_limit: DEFAULT_INLINE_LIMIT,
            url_ttl: DEFAULT_URL_TTL,
        }
    }
}

impl Delivery {
    /// Reads the two variables, falling back to the defaults.
    pub fn from_env() -> Self {
        let num = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Delivery {
            inline_limit: num("EXPORTS_INLINE_LIMIT_BYTES")
                .map_or(DEFAULT_INLINE_LIMIT, |n| n as usize),
            url_ttl: num("EXPORTS_FILE_URL_TTL_SECS").map_or(DEFAULT_URL_TTL, Duration::from_secs),
        }
    }
}

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

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    enc.write_all(bytes)?;
    enc.finish()
}

/// Builds the response for a rendered file.
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
    let disposition = attachment(&file.filename);
    let content_type = file.format.content_type();
    let compressed = if accepts_gzip(request_headers) {
        Some(gzip(&file.bytes).map_err(|e| StoreError::backend("gzip", e))?)
    } else {
        None
    };
    let inline = compressed.as_deref().unwrap_or(&file.bytes);
    let binary = compressed.is_some() || file.format == ExportFormat::Xlsx;
    let encoded_len = if binary {
        inline.len().div_ceil(3) * 4
    } else {
        inline.len()
    };

    if encoded_len > settings.inline_limit {
        let id = uuid::Uuid::new_v4().to_string();
        let key = FileKey::new(tenant, &format!("sync/{id}"), &file.filename)?;
        let meta = FileMeta {
            content_type: content_type.into(),
            content_disposition: disposition,
        };
        let rows = file.rows;
        let stored = files.put(&key, file.bytes, &meta).await?;
        let url = files.presign_get(&key, settings.url_ttl).await?;
        let body = serde_json::json!({
            "url": url.url,
            "expiresAt": url.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "filename": key.file_name(),
            "rows": rows,
            "bytes": stored.bytes,
            "sha256": stored.sha256,
        });
        return Response::builder()
            .status(303)
            .header(http::header::LOCATION, url.url.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-export-rows", rows)
            .body(Body::Text(body.to_string()))
            .map_err(|e| StoreError::backend("build response", e));
    }

    let mut builder = Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_DISPOSITION, disposition)
        .header(http::header::VARY, "Accept-Encoding")
        .header("x-export-rows", file.rows);
    let body = match compressed {
        Some(gz) => {
            builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
            Body::Binary(gz)
        }
        None if file.format == ExportFormat::Csv => match String::from_utf8(file.bytes) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        },
        None => Body::Binary(file.bytes),
    };
    builder
        .body(body)
        .map_err(|e| StoreError::backend("build response", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::ACCEPT_ENCODING, v.parse().unwrap());
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
