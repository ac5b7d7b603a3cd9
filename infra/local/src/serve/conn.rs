//! The accept loop of `exports-local serve`: HTTP/1.1 connections served by
//! hyper, at most [`Limits::max_connections`] at once, each closed when a
//! client stalls.
//!
//! A connection is always in one of three states, and a watchdog closes it
//! when the state's deadline passes:
//!
//! - waiting for a request (just accepted, or its last response sent):
//!   closed after [`Limits::idle_timeout`] without a byte;
//! - reading a request's head (a byte has arrived): closed when the line
//!   and headers are not complete after [`Limits::header_timeout`];
//! - serving a request (hyper has parsed the head): no deadline here; the
//!   body is read under [`Limits::body_timeout`] by the handler, which
//!   answers 408 and closes the connection when it passes.
//!
//! hyper's own `header_read_timeout` is not used: it starts when the
//! connection waits for a request, so it cannot tell an idle keep-alive
//! connection from a stalled head.
//!
//! Past the cap, the loop stops accepting: new connections wait in the
//! kernel's listen backlog and are served as soon as one closes, so idle or
//! stalled sockets can never use up the process's file descriptors.

use super::limits::Limits;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long the loop pauses after an accept error that is not about one
/// connection (e.g. out of file descriptors), so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// open connections finish their requests.
///
/// # Errors
/// None today: accept errors are logged and retried. The `Result` leaves
/// room for a listener that can fail for good.
pub async fn run(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(serve_connection(
            stream,
            peer,
            router.clone(),
            limits,
            stopped.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it closes.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Errors about one connection that leave the listener fine.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// One connection, from accept to close; `_slot` frees its place under the
/// cap when dropped.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let clock = Arc::new(Clock::new(limits));
    let io = TokioIo::new(Watched {
        inner: stream,
        clock: clock.clone(),
    });
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let busy = Busy::start(service_clock.clone());
        let router = router.clone();
        async move {
            let mut req = req.map(Body::new);
            // What `into_make_service_with_connect_info` gave the handler.
            req.extensions_mut().insert(ConnectInfo(peer));
            let resp = router.oneshot(req).await?;
            Ok::<_, Infallible>(resp.map(|body| Tracked { body, _busy: busy }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            phase = clock.expired() => {
                tracing::debug!(%peer, phase, "connection timed out; closing it");
                break;
            }
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What a connection is waiting for, and since when.
#[derive(Debug, Clone, Copy)]
enum Waiting {
    /// The first byte of a request.
    Request(Instant),
    /// The rest of a request's head.
    Head(Instant),
}

#[derive(Debug)]
struct State {
    /// Requests being served (0 or 1 on HTTP/1.1).
    busy: usize,
    waiting: Waiting,
}

/// A connection's state and its deadline, shared by its reader, its
/// requests and its watchdog.
struct Clock {
    limits: Limits,
    state: Mutex<State>,
    changed: Notify,
}

impl Clock {
    fn new(limits: Limits) -> Self {
        Clock {
            limits,
            state: Mutex::new(State {
                busy: 0,
                waiting: Waiting::Request(Instant::now()),
            }),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_waiters();
    }

    /// Bytes arrived: a connection waiting for a request is now reading one.
    fn bytes_arrived(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.busy == 0 && matches!(state.waiting, Waiting::Request(_)) {
            state.waiting = Waiting::Head(Instant::now());
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// When the connection times out, and in which state; `None` while a
    /// request is served.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.busy > 0 {
            return None;
        }
        Some(match state.waiting {
            Waiting::Request(since) => (since + self.limits.idle_timeout, "idle"),
            Waiting::Head(since) => (since + self.limits.header_timeout, "reading headers"),
        })
    }

    /// Completes when the current deadline passes, naming the state.
    async fn expired(&self) -> &'static str {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline() {
                Some((at, phase)) if Instant::now() >= at => return phase,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// Marks a request as being served until its response body is done (or
/// dropped); then the connection waits for the next request.
struct Busy(Arc<Clock>);

impl Busy {
    fn start(clock: Arc<Clock>) -> Self {
        clock.update(|s| s.busy += 1);
        Busy(clock)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.update(|s| {
            s.busy = s.busy.saturating_sub(1);
            if s.busy == 0 {
                s.waiting = Waiting::Request(Instant::now());
            }
        });
    }
}

/// A response body that keeps its request marked as served.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the clock when bytes arrive.
struct Watched {
    inner: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
