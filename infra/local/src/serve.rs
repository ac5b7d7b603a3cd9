//! `exports-local serve`: the Lambda handlers behind one local HTTP port.
//!
//! Requests are turned into `lambda_http` requests and given to the same
//! handler functions the Lambda entry points call, so local behaviour is
//! Lambda behaviour. Signed `/files/...` links stand in for S3 presigned
//! GETs and are streamed from disk ([`download`]). Connections are served
//! under [`Limits`]: timeouts and a cap (`serve/conn.rs`).

mod conn;
pub mod download;
pub mod limits;

pub use limits::Limits;

use axum::body::Body as AxumBody;
use axum::extract::{ConnectInfo, Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use exports_shared::api::tabular::{ApiError, ErrorCode};
use exports_shared::store::embedded::EmbeddedFiles;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::net::SocketAddr;
use std::time::Duration;

/// The handlers the local server mounts, and the local file store whose
/// signed links it answers.
#[derive(Clone)]
pub struct App {
    pub sync_export: sync_export::Deps,
    pub export_logs: export_logs::Deps,
    pub config_api: config_api::Deps,
    pub bulk_exports: bulk_export_api::Deps,
    pub files: EmbeddedFiles,
}

/// The path prefix of signed file links.
pub const FILES_PREFIX: &str = "/files/";

/// Routes a request to the function that owns its path. (Signed file links
/// are no function's: the server answers them before this, streaming.)
pub async fn route(app: &App, req: Request) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path.starts_with(sync_export::PREFIX) || path == sync_export::PREFIX.trim_end_matches('/') {
        return match sync_export::handle(&app.sync_export, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    if path == export_logs::PREFIX || path.starts_with(&format!("{}/", export_logs::PREFIX)) {
        return match export_logs::handle(&app.export_logs, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    if config_api::serves(&path) {
        return match config_api::handle(&app.config_api, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    if path == bulk_export_api::PREFIX || path.starts_with(&format!("{}/", bulk_export_api::PREFIX))
    {
        return match bulk_export_api::handle(&app.bulk_exports, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    ApiError::new(ErrorCode::NotFound, "Not found").to_response(&path, chrono::Utc::now())
}

/// The router's state: the functions, and how long a body may take.
#[derive(Clone)]
struct Served {
    app: App,
    body_timeout: Duration,
}

async fn dispatch(
    State(served): State<Served>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: AxumRequest,
) -> AxumResponse {
    if req.uri().path().starts_with(FILES_PREFIX) {
        let link = req
            .uri()
            .path_and_query()
            .map_or(req.uri().path(), |pq| pq.as_str());
        let range = req.headers().get(http::header::RANGE);
        return download::download(&served.app.files, link, range).await;
    }
    let (parts, body) = req.into_parts();
    // The functions answer their own 413, after authentication, in their
    // own error shape; only a body past API Gateway's limit stops here, with
    // API Gateway's answer. A body that does not arrive in time is a 408.
    let read = axum::body::to_bytes(body, GATEWAY_MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(served.body_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return gateway_too_large(),
        Err(_) => return body_timed_out(),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let method = parts.method.clone();
    let request =
        http::Request::from_parts(parts, body).with_request_context(gateway_context(method, peer));
    to_axum(route(&served.app, request).await)
}

/// The request context API Gateway (HTTP API, payload 2.0) gives a
/// function: here, the method and the peer's address as `sourceIp`.
fn gateway_context(method: http::Method, peer: SocketAddr) -> RequestContext {
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method;
    http.source_ip = Some(peer.ip().to_string());
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http = http;
    RequestContext::ApiGatewayV2(ctx)
}

/// API Gateway HTTP API's payload limit (10 MB): a larger request never
/// reaches a function.
pub const GATEWAY_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// What API Gateway answers to a body past its limit.
fn gateway_too_large() -> AxumResponse {
    let mut resp = AxumResponse::new(AxumBody::from(r#"{"message":"Request Entity Too Large"}"#));
    *resp.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// What the server answers when a request body stalls: 408, and the
/// connection is closed, since the rest of the body may still come.
fn body_timed_out() -> AxumResponse {
    let mut resp = AxumResponse::new(AxumBody::from(r#"{"message":"Request Timeout"}"#));
    *resp.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    resp
}

fn to_axum(resp: Response<Body>) -> AxumResponse {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(s) => s.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

/// Serves until Ctrl-C, under `limits`.
///
/// # Errors
/// When the port cannot be bound.
pub async fn serve(app: App, addr: SocketAddr, limits: Limits) -> std::io::Result<()> {
    let router = axum::Router::new().fallback(dispatch).with_state(Served {
        app,
        body_timeout: limits.body_timeout,
    });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    conn::run(listener, router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
