//! Signed `/files/...` links, answered as S3 answers a presigned GET: the
//! file streamed from disk in bounded chunks, with `Content-Length`,
//! `Accept-Ranges: bytes` and single byte ranges (206, or 416 when the range
//! is past the end).
//!
//! This path is not a Lambda function, so it never goes through the
//! Lambda-shaped `Response<Body>`, which holds a whole body in memory.

use axum::body::Body;
use axum::response::Response;
use exports_shared::store::embedded::{DownloadError, EmbeddedFiles};
use http::header::{
    ACCEPT_RANGES, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
};
use http::{HeaderValue, StatusCode};
use std::io::SeekFrom;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// The largest chunk a download body yields: what one read of the file
/// holds in memory per connection.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range, or one this server ignores (another unit, several ranges,
    /// bad syntax): the whole file, 200.
    Whole,
    /// Bytes `start..=end`, both inside the file: 206.
    Part { start: u64, end: u64 },
    /// A range that starts past the end, or an empty suffix: 416.
    Unsatisfiable,
}

/// Reads a `Range` header (RFC 9110 section 14.1.2) for a file of `len`
/// bytes: `bytes=a-b`, `bytes=a-` or `bytes=-n`.
pub fn parse_range(header: &str, len: u64) -> RangeRequest {
    let Some((unit, spec)) = header.trim().split_once('=') else {
        return RangeRequest::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    match (position(first), position(last)) {
        // bytes=-n: the last n bytes
        (None, Some(n)) if first.is_empty() => {
            if n == 0 || len == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part {
                    start: len.saturating_sub(n),
                    end: len - 1,
                }
            }
        }
        // bytes=a- and bytes=a-b
        (Some(start), end) if end.is_some() || last.is_empty() => {
            if end.is_some_and(|e| e < start) {
                RangeRequest::Whole
            } else if start >= len {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part {
                    start,
                    end: end.map_or(len - 1, |e| e.min(len - 1)),
                }
            }
        }
        _ => RangeRequest::Whole,
    }
}

/// A byte position: digits only; one too large for `u64` is `u64::MAX`,
/// which is past the end of any file.
fn position(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// Answers a signed link: the file (or the requested range of it) with its
/// stored headers, or 403/404/410/416 as `text/plain`.
pub async fn download(
    files: &EmbeddedFiles,
    path_and_query: &str,
    range: Option<&HeaderValue>,
) -> Response {
    let (path, meta) = match files
        .open_link(path_and_query, chrono::Utc::now().timestamp())
        .await
    {
        Ok(found) => found,
        Err(DownloadError::BadSignature) => return plain(StatusCode::FORBIDDEN, "invalid link"),
        Err(DownloadError::Expired) => return plain(StatusCode::GONE, "link expired"),
        Err(DownloadError::NotFound) => return plain(StatusCode::NOT_FOUND, "file not found"),
    };
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return plain(StatusCode::NOT_FOUND, "file not found");
    };
    let Ok(len) = file.metadata().await.map(|m| m.len()) else {
        return plain(StatusCode::NOT_FOUND, "file not found");
    };
    let wanted = range
        .and_then(|v| v.to_str().ok())
        .map_or(RangeRequest::Whole, |h| parse_range(h, len));
    let (status, start, count) = match wanted {
        RangeRequest::Whole => (StatusCode::OK, 0, len),
        RangeRequest::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            let mut resp = plain(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            insert(&mut resp, CONTENT_RANGE, &format!("bytes */{len}"));
            insert(&mut resp, ACCEPT_RANGES, "bytes");
            return resp;
        }
    };
    if start > 0 && file.seek(SeekFrom::Start(start)).await.is_err() {
        return plain(StatusCode::NOT_FOUND, "file not found");
    }
    let body = Body::from_stream(ReaderStream::with_capacity(file.take(count), CHUNK_BYTES));
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    insert(&mut resp, CONTENT_TYPE, &meta.content_type);
    insert(&mut resp, CONTENT_DISPOSITION, &meta.content_disposition);
    insert(&mut resp, CONTENT_LENGTH, &count.to_string());
    insert(&mut resp, ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        let end = start + count - 1;
        insert(
            &mut resp,
            CONTENT_RANGE,
            &format!("bytes {start}-{end}/{len}"),
        );
    }
    resp
}

/// A short `text/plain` answer.
fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    insert(&mut resp, CONTENT_TYPE, "text/plain");
    resp
}

/// Sets a header; a value that is not a valid header (a stored content
/// type cannot be one, it was written by this service) is left out.
fn insert(resp: &mut Response, name: http::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exports_shared::model::TenantId;
    use exports_shared::store::files::{FileKey, FileMeta, FileStore};
    use http_body::Body as _;
    use std::pin::Pin;
    use std::time::Duration;

    #[test]
    fn ranges_follow_rfc_9110() {
        use RangeRequest::{Part, Unsatisfiable, Whole};
        // GIVEN a 1,000-byte file, WHEN each Range is read, THEN:
        let cases = [
            ("bytes=0-99", Part { start: 0, end: 99 }),
            (
                "bytes=990-2000",
                Part {
                    start: 990,
                    end: 999,
                },
            ),
            (
                "bytes=500-",
                Part {
                    start: 500,
                    end: 999,
                },
            ),
            (
                "bytes=-10",
                Part {
                    start: 990,
                    end: 999,
                },
            ),
            ("bytes=-5000", Part { start: 0, end: 999 }),
            ("BYTES = 7-7", Part { start: 7, end: 7 }),
            ("bytes=1000-", Unsatisfiable),
            ("bytes=1000-1001", Unsatisfiable),
            ("bytes=99999999999999999999999-", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=5-4", Whole),
            ("bytes=0-1,5-6", Whole),
            ("items=0-1", Whole),
            ("bytes=a-b", Whole),
            ("bytes=-", Whole),
            ("bytes=1", Whole),
            ("", Whole),
        ];
        for (header, want) in cases {
            assert_eq!(parse_range(header, 1000), want, "{header}");
        }
        // AND an empty file satisfies no range
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-1", 0), Unsatisfiable);
    }

    #[tokio::test]
    async fn a_multi_megabyte_download_streams_in_bounded_chunks() {
        // GIVEN a 5 MiB file behind a signed link
        let dir = tempfile::tempdir().expect("temp dir");
        let files = EmbeddedFiles::open(dir.path(), "http://127.0.0.1:9").expect("files");
        let key = FileKey::new(&TenantId::new("t1"), "bulk/x", "big.csv").expect("key");
        let content: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let meta = FileMeta {
            content_type: "text/csv".into(),
            content_disposition: "attachment; filename=\"big.csv\"".into(),
        };
        files.put(&key, content.clone(), &meta).await.expect("put");
        let url = files
            .presign_get(&key, Duration::from_secs(60))
            .await
            .expect("link");
        // WHEN it is downloaded
        let resp = download(&files, &url.url, None).await;
        // THEN the length is announced up front, with the stored headers
        assert_eq!(resp.status(), StatusCode::OK);
        let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header(CONTENT_LENGTH), Some("5242880"));
        assert_eq!(header(CONTENT_TYPE), Some("text/csv"));
        assert_eq!(
            header(CONTENT_DISPOSITION),
            Some("attachment; filename=\"big.csv\"")
        );
        assert_eq!(header(ACCEPT_RANGES), Some("bytes"));
        // AND the body comes as many chunks of at most 64 KiB, never whole
        let mut body = resp.into_body();
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let data = frame.expect("frame").into_data().expect("data");
            assert!(data.len() <= CHUNK_BYTES, "a chunk of {} bytes", data.len());
            chunks += 1;
            got.extend_from_slice(&data);
        }
        assert!(chunks >= content.len() / CHUNK_BYTES, "{chunks} chunks");
        assert!(got == content, "the bytes differ");
    }
}
