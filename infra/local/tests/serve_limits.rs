//! Stalling clients against the real `exports-local serve`, with its
//! connection limits shortened by flags: a half-sent head, an idle
//! keep-alive connection and a half-sent body are each closed after their
//! timeout, and connections past the cap wait until a stalled one is closed
//! instead of being served at once. Raw TCP, so a request can stop anywhere.

#[allow(dead_code)] // not every test file uses every helper
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{bin, request, start_serve_with};

/// How long a test waits for something the server should do in well under
/// a second; past it, the server is taken to never do it.
const PATIENCE: Duration = Duration::from_secs(8);

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// Reads until the server closes the connection; returns what it sent.
/// Panics when it is still open after [`PATIENCE`].
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("still open after {PATIENCE:?} ({e}); got {got:?}"),
        }
    }
}

/// Reads one response (head and `Content-Length` body) from a connection
/// that stays open; returns its status.
fn read_response(stream: &mut TcpStream) -> u16 {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let length: usize = head
                .split("\r\n")
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("a length"))
                .expect("a content-length");
            if raw.len() >= split + 4 + length {
                return head[9..12].parse().expect("status");
            }
        }
        let n = stream.read(&mut buf).expect("a response");
        assert!(n > 0, "closed before the response ended");
        raw.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn a_half_sent_request_head_is_closed_after_the_header_timeout() {
    // GIVEN a server whose header timeout is 300 ms (and idle timeout 30 s)
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve_with(
        dir.path(),
        &["--header-timeout", "300ms", "--idle-timeout", "30s"],
    );
    // WHEN a client sends half a head and stalls
    let mut stream = connect(port);
    stream
        .write_all(b"GET /exports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor")
        .expect("write");
    let started = Instant::now();
    // THEN the server closes the connection after the header timeout
    let answer = read_until_closed(&mut stream);
    let waited = started.elapsed();
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // GIVEN a server whose idle timeout is 700 ms (and header timeout 30 s)
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve_with(
        dir.path(),
        &["--idle-timeout", "700ms", "--header-timeout", "30s"],
    );
    let ask = b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // WHEN a keep-alive client sends a request, waits less than the idle
    // timeout, and sends another on the same connection
    let mut stream = connect(port);
    stream.write_all(ask).expect("write");
    assert_eq!(read_response(&mut stream), 404);
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(ask).expect("write");
    assert_eq!(read_response(&mut stream), 404);
    // AND then sends nothing
    let idle_since = Instant::now();
    // THEN the connection is closed after the idle timeout, counted from
    // the last response
    assert!(read_until_closed(&mut stream).is_empty());
    let waited = idle_since.elapsed();
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // AND a connection that never sends a byte is closed the same way
    let mut silent = connect(port);
    let started = Instant::now();
    assert!(read_until_closed(&mut silent).is_empty());
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[test]
fn a_request_body_that_stalls_is_answered_408_after_the_body_timeout() {
    // GIVEN a server whose body timeout is 500 ms
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve_with(dir.path(), &["--body-timeout", "500ms"]);
    // WHEN a client announces 100 bytes of body, sends 10 and stalls
    let mut stream = connect(port);
    stream
        .write_all(
            b"POST /exports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"exportTy",
        )
        .expect("write");
    let started = Instant::now();
    // THEN after the body timeout it is answered 408 and the connection closed
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream)).to_string();
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("Request Timeout"), "{answer}");
    assert!(waited >= Duration::from_millis(450), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn connections_past_the_cap_wait_until_a_stalled_one_is_closed() {
    // GIVEN a server that serves 2 connections at once, with a 1 s header
    // timeout, and 2 clients that each send half a head and stall
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve_with(
        dir.path(),
        &["--max-connections", "2", "--header-timeout", "1s"],
    );
    // (start_serve's readiness probe may still hold a place for a moment)
    std::thread::sleep(Duration::from_millis(200));
    let mut stalled: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(port);
            s.write_all(b"GET /nowhere HTTP/1.1\r\nHo").expect("write");
            s
        })
        .collect();
    let stalled_at = Instant::now();
    // WHEN a third client sends a whole request
    let (status, _) = request(port, "GET", "/nowhere", &[], None);
    let waited = stalled_at.elapsed();
    // THEN it is served, but only once a stalled connection was closed
    assert_eq!(status, 404);
    assert!(
        waited >= Duration::from_millis(900),
        "served after {waited:?}"
    );
    assert!(waited < Duration::from_secs(6), "served after {waited:?}");
    for s in &mut stalled {
        assert!(read_until_closed(s).is_empty());
    }
}

#[test]
fn a_bad_limit_stops_the_start_with_a_message() {
    for (flag, value, message) in [
        ("--header-timeout", "0s", "between 1ms and 1h"),
        ("--idle-timeout", "soon", "such as 10s"),
        ("--body-timeout", "61m", "between 1ms and 1h"),
        ("--max-connections", "0", "from 1 to 65536"),
    ] {
        // GIVEN a bad value, WHEN serve starts with it
        let dir = tempfile::tempdir().unwrap();
        let out = bin()
            .args(["serve", "--data-dir", dir.path().to_str().unwrap()])
            .args(["--port", "0", flag, value])
            .output()
            .expect("run");
        // THEN it stops at once with a message naming the flag, serving nothing
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {value}");
        assert!(
            stderr.contains(flag) && stderr.contains(message),
            "{stderr}"
        );
        assert!(!dir.path().join("files.key").exists(), "it started");
    }
}
