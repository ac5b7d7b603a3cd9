//! What the tests that run the real `exports-local serve` share: starting
//! it on a free port, stopping it, and plain HTTP/1.1 requests to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server, killed (SIGKILL) and reaped when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary, with no settings inherited from the caller's environment.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exports-local"));
    c.env_remove("EXPORTS_JWT_SECRET")
        .env_remove("EXPORTS_DATA_DIR")
        .env_remove("EXPORTS_BACKEND")
        .env("RUST_LOG", "warn");
    c
}

/// Starts `exports-local serve` on `dir` and waits until it accepts connections.
pub fn start_serve(dir: &Path) -> (Server, u16) {
    start_serve_with(dir, &[])
}

/// As [`start_serve`], with more `serve` flags (e.g. shortened timeouts).
///
/// The server binds a free port itself (`--port 0`) and names it in its
/// banner, so two servers started at once never race for one port and the
/// port answered is always this server's.
pub fn start_serve_with(dir: &Path, flags: &[&str]) -> (Server, u16) {
    let mut child = bin()
        .args(["serve", "--data-dir", dir.to_str().expect("a UTF-8 path")])
        .args(["--port", "0"])
        .args(flags)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let (found, port) = std::sync::mpsc::channel();
    // Read the banner for the port, then keep draining so the server
    // never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let port = line
                .trim()
                .strip_prefix("Exports service listening on http://127.0.0.1:")
                .and_then(|p| p.parse::<u16>().ok());
            if let (Some(port), Some(tx)) = (port, found.as_ref()) {
                let _ = tx.send(port);
                found = None;
            }
        }
    });
    let port = port
        .recv_timeout(Duration::from_secs(120))
        .expect("serve did not start");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "serve did not accept connections"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

/// One request with `headers` (and `Content-Type: application/json` when
/// there is a body); returns the status and the body. The server answers
/// with a length, never chunked, which this reader relies on.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let payload = body.unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        payload.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(payload).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head[9..12].parse().expect("status");
    (status, raw[split + 4..].to_vec())
}
