//! How a rendered file reaches the client: inline (gzip-compressed when the
//! client accepts it), or, when the encoded body would pass the inline
//! limit, stored in the file store behind a presigned URL.
//!
//! Lambda caps a response at 6 MB, and API Gateway base64-encodes binary
//! bodies (4/3 of their size), so the limit is checked on the encoded size.
//! [`deliver`] makes the decision; `api::delivery` turns it into HTTP.

use super::tabular::RenderedExport;
use crate::model::TenantId;
use crate::render::attachment;
use crate::render::ExportFormat;
use crate::store::{FileKey, FileMeta, FileStore, PresignedUrl, StoreError, StoredFile};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::time::Duration;

/// Default inline limit: 4 MiB of encoded body, leaving room under Lambda's 6 MB.
pub const DEFAULT_INLINE_LIMIT: usize = 4 * 1024 * 1024;
/// Default lifetime of a download URL.
pub const DEFAULT_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// Delivery settings (the functions read them from
/// `EXPORTS_INLINE_LIMIT_BYTES` and `EXPORTS_FILE_URL_TTL_SECONDS`).
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

/// A file on its way to the client.
#[derive(Debug, Clone)]
pub enum Delivered {
    /// The file goes in the response body.
    Inline {
        /// The body: the file, or its gzip encoding when `gzip`.
        body: Vec<u8>,
        gzip: bool,
        format: ExportFormat,
        /// The `Content-Disposition` value.
        disposition: String,
        rows: usize,
    },
    /// The file was stored; the client downloads it from `url`.
    Stored {
        url: PresignedUrl,
        file_name: String,
        stored: StoredFile,
        rows: usize,
    },
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    enc.write_all(bytes)?;
    enc.finish()
}

/// Decides how `file` is delivered: inline, gzip-compressed when
/// `accepts_gzip`, unless its encoded size passes `settings.inline_limit`,
/// in which case it is stored under `tenant` and presigned for
/// `settings.url_ttl`.
///
/// # Errors
/// [`StoreError`] when compression or the file store fails.
pub async fn deliver(
    files: &dyn FileStore,
    settings: Delivery,
    tenant: &TenantId,
    file: RenderedExport,
    accepts_gzip: bool,
) -> Result<Delivered, StoreError> {
    let disposition = attachment(&file.filename);
    let compressed = if accepts_gzip {
        Some(gzip(&file.bytes).map_err(|e| StoreError::backend("gzip", e))?)
    } else {
        None
    };
    let inline_len = compressed.as_ref().map_or(file.bytes.len(), Vec::len);
    let binary = compressed.is_some() || file.format.is_binary();
    let encoded_len = if binary {
        inline_len.div_ceil(3) * 4
    } else {
        inline_len
    };

    if encoded_len > settings.inline_limit {
        let id = uuid::Uuid::new_v4().to_string();
        let key = FileKey::new(tenant, &format!("sync/{id}"), &file.filename)?;
        let meta = FileMeta {
            content_type: file.format.content_type().into(),
            content_disposition: disposition,
        };
        let stored = files.put(&key, file.bytes, &meta).await?;
        let url = files.presign_get(&key, settings.url_ttl).await?;
        return Ok(Delivered::Stored {
            url,
            file_name: key.file_name().to_string(),
            stored,
            rows: file.rows,
        });
    }
    Ok(match compressed {
        Some(body) => Delivered::Inline {
            body,
            gzip: true,
            format: file.format,
            disposition,
            rows: file.rows,
        },
        None => Delivered::Inline {
            body: file.bytes,
            gzip: false,
            format: file.format,
            disposition,
            rows: file.rows,
        },
    })
}
