//! Signed `/files/...` links against the real `exports-local serve`, as S3
//! answers a presigned GET: the whole file with its length, a single byte
//! range (206 with `Content-Range`), and a range past the end (416). Plain
//! HTTP/1.1 over a TCP socket; the files are real files in the data dir,
//! signed with the server's own key.

#[allow(dead_code)] // not every test file uses every helper
mod support;

use exports_shared::model::TenantId;
use exports_shared::store::embedded::EmbeddedFiles;
use exports_shared::store::files::{FileKey, FileMeta, FileStore};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;
use support::start_serve;

const CONTENT_TYPE: &str = "text/csv; charset=utf-8";
const DISPOSITION: &str = "attachment; filename=\"contacts.csv\"";

/// A file of `len` bytes (not all alike, so an offset error shows), stored
/// as a bulk export is; returns its bytes and its signed path and query.
fn signed_file(dir: &Path, port: u16, len: usize) -> (Vec<u8>, String) {
    let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = format!("http://127.0.0.1:{port}");
    let url = runtime.block_on(async {
        let files = EmbeddedFiles::open(dir, base.clone()).expect("files");
        let key = FileKey::new(&TenantId::new("t-dl"), "bulk/job-1", "contacts.csv").expect("key");
        let meta = FileMeta {
            content_type: CONTENT_TYPE.into(),
            content_disposition: DISPOSITION.into(),
        };
        files.put(&key, content.clone(), &meta).await.expect("put");
        files
            .presign_get(&key, Duration::from_secs(300))
            .await
            .expect("link")
            .url
    });
    let link = url.strip_prefix(&base).expect("a local link").to_string();
    (content, link)
}

/// A GET's status, headers (names lower-cased) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn get(port: u16, path: &str, range: Option<&str>) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(r) = range {
        head.push_str(&format!("Range: {r}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line")[9..12]
        .parse()
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[test]
fn a_full_download_has_the_files_length_and_exact_bytes() {
    // GIVEN a running server and a 3 MiB file behind a signed link
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve(dir.path());
    let (content, link) = signed_file(dir.path(), port, 3 * 1024 * 1024);
    // WHEN it is fetched without a range
    let answer = get(port, &link, None);
    // THEN it is 200 with the file's length, its stored headers, and its bytes
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-length"),
        Some(content.len().to_string().as_str())
    );
    assert_eq!(answer.header("transfer-encoding"), None);
    assert_eq!(answer.header("content-type"), Some(CONTENT_TYPE));
    assert_eq!(answer.header("content-disposition"), Some(DISPOSITION));
    assert_eq!(answer.header("accept-ranges"), Some("bytes"));
    assert!(answer.body == content, "the bytes differ");
    // AND the link is still checked: a tampered signature is 403
    let tampered = link.replace("signature=", "signature=00");
    let refused = get(port, &tampered, None);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, b"invalid link");
}

#[test]
fn a_byte_range_returns_exactly_those_bytes_with_206() {
    // GIVEN a running server and a 200,000-byte file behind a signed link
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve(dir.path());
    let len = 200_000;
    let (content, link) = signed_file(dir.path(), port, len);
    // WHEN ranges of each form are asked for
    for (range, from, to) in [
        ("bytes=100-199", 100, 199),
        ("bytes=70000-", 70_000, len - 1),
        ("bytes=-10", len - 10, len - 1),
        ("bytes=199990-500000", 199_990, len - 1),
    ] {
        let answer = get(port, &link, Some(range));
        // THEN each is 206 with exactly those bytes, their length and place
        assert_eq!(answer.status, 206, "{range}");
        assert_eq!(
            answer.header("content-range"),
            Some(format!("bytes {from}-{to}/{len}").as_str()),
            "{range}"
        );
        assert_eq!(
            answer.header("content-length"),
            Some((to - from + 1).to_string().as_str()),
            "{range}"
        );
        assert_eq!(answer.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(answer.header("content-disposition"), Some(DISPOSITION));
        assert!(
            answer.body == content[from..=to],
            "{range}: the bytes differ"
        );
    }
}

#[test]
fn a_range_past_the_end_is_416_with_the_files_length() {
    // GIVEN a running server and a 1,000-byte file behind a signed link
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve(dir.path());
    let (_, link) = signed_file(dir.path(), port, 1000);
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        // WHEN a range no byte of the file satisfies is asked for
        let answer = get(port, &link, Some(range));
        // THEN it is 416, naming the length
        assert_eq!(answer.status, 416, "{range}");
        assert_eq!(answer.header("content-range"), Some("bytes */1000"));
    }
}
