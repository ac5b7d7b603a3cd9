//! `exports-local serve`: the Lambda handlers behind one local HTTP port.
//!
//! A request is matched to a function by the routes `template.yaml` mounts
//! it on, turned into the payload 2.0 event API Gateway HTTP API would
//! send, converted by `lambda_http` as on Lambda, and given to the same
//! handler the Lambda entry point calls: local behaviour is Lambda
//! behaviour. Signed `/files/...` links stand in for S3 presigned
//! GETs and are streamed from disk ([`download`]); `GET /openapi.json` and
//! `GET /openapi.yaml` answer the OpenAPI document ([`crate::openapi`]).
//! Connections are served under [`Limits`]: timeouts and a cap
//! (`serve/conn.rs`).

mod conn;
pub mod download;
pub mod limits;

pub use limits::Limits;

use crate::openapi::{self, OpenApi};
use axum::body::Body as AxumBody;
use axum::extract::{ConnectInfo, Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use exports_shared::api::gateway::{self, RouteKey};
use exports_shared::store::embedded::EmbeddedFiles;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, Response};
use std::collections::HashMap;
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
    /// The OpenAPI document, converted to JSON once at start.
    pub openapi: OpenApi,
}

/// The path prefix of signed file links.
pub const FILES_PREFIX: &str = "/files/";

/// The functions behind API Gateway, each mounted on its own routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    SyncExport,
    ExportLogs,
    ConfigApi,
    BulkExports,
}

/// Every function with the routes `template.yaml` mounts it on.
const MOUNTS: [(Function, &[RouteKey]); 4] = [
    (Function::SyncExport, sync_export::ROUTES),
    (Function::ExportLogs, export_logs::ROUTES),
    (Function::ConfigApi, config_api::ROUTES),
    (Function::BulkExports, bulk_export_api::ROUTES),
];

/// The function and route that API Gateway would pick for `method` and
/// `raw_path`, with the path parameters it binds.
fn mount(method: &str, raw_path: &str) -> Option<(Function, RouteKey, HashMap<String, String>)> {
    MOUNTS.iter().find_map(|(function, routes)| {
        gateway::find(routes, method, raw_path).map(|(route, params)| (*function, *route, params))
    })
}

/// What one request carries to API Gateway.
pub struct Incoming {
    pub parts: http::request::Parts,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

/// Answers `incoming` as API Gateway and the functions would: the route
/// that matches picks the function, which gets the request API Gateway
/// builds (payload 2.0, turned into a `lambda_http::Request` by
/// `lambda_http` itself); no match is API Gateway's own 404.
pub async fn route(app: &App, incoming: Incoming) -> Response<Body> {
    let method = incoming.parts.method.as_str().to_string();
    let raw_path = incoming.parts.uri.path().to_string();
    let Some((function, route, params)) = mount(&method, &raw_path) else {
        return gateway_not_found();
    };
    let req = Request::from(LambdaRequest::ApiGatewayV2(gateway_event(
        incoming, &route, params,
    )));
    let answered = match function {
        Function::SyncExport => sync_export::handle(&app.sync_export, req).await,
        Function::ExportLogs => export_logs::handle(&app.export_logs, req).await,
        Function::ConfigApi => config_api::handle(&app.config_api, req).await,
        Function::BulkExports => bulk_export_api::handle(&app.bulk_exports, req).await,
    };
    match answered {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The payload 2.0 event API Gateway sends a function for `incoming`
/// matched to `route`: raw path and query string, path parameters, headers
/// (repeated ones joined by commas, cookies apart), the request context
/// with the peer as `sourceIp`, and the body (base64 unless it is UTF-8).
fn gateway_event(
    incoming: Incoming,
    route: &RouteKey,
    params: HashMap<String, String>,
) -> ApiGatewayV2httpRequest {
    let Incoming { parts, body, peer } = incoming;
    let mut headers = http::HeaderMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == http::header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split("; "))
                    .map(str::to_string),
            );
        } else if let Ok(joined) = http::HeaderValue::from_str(&values.join(",")) {
            headers.insert(name.clone(), joined);
        }
    }
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(peer.ip().to_string());
    http.user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http = http;
    ctx.route_key = Some(route.key());
    ctx.stage = Some("$default".into());
    ctx.request_id = Some(uuid::Uuid::new_v4().to_string());
    ctx.time_epoch = chrono::Utc::now().timestamp_millis();
    ctx.domain_name = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route.key());
    event.raw_path = Some(parts.uri.path().to_string());
    event.raw_query_string = Some(parts.uri.query().unwrap_or_default().to_string());
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.path_parameters = params;
    event.request_context = ctx;
    if !body.is_empty() {
        match String::from_utf8(body) {
            Ok(text) => event.body = Some(text),
            Err(binary) => {
                event.body = Some(BASE64.encode(binary.as_bytes()));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// API Gateway's answer to a request that matches no route.
fn gateway_not_found() -> Response<Body> {
    let mut resp = Response::new(Body::Text(gateway::NOT_FOUND_BODY.into()));
    *resp.status_mut() = http::StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
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
    if let Some(resp) = openapi_document(&served.app.openapi, req.method(), req.uri().path()) {
        return resp;
    }
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
    let incoming = Incoming {
        parts,
        body: bytes.to_vec(),
        peer,
    };
    to_axum(route(&served.app, incoming).await)
}

/// `GET /openapi.json` or `GET /openapi.yaml`: the OpenAPI document, which
/// no function serves (any other method is the gateway's 404, as for any
/// unrouted request).
fn openapi_document(spec: &OpenApi, method: &http::Method, path: &str) -> Option<AxumResponse> {
    if method != http::Method::GET {
        return None;
    }
    let (body, content_type) = match path {
        openapi::JSON_PATH => (spec.json().to_string(), "application/json"),
        openapi::YAML_PATH => (spec.yaml().to_string(), openapi::YAML_CONTENT_TYPE),
        _ => return None,
    };
    let mut resp = AxumResponse::new(AxumBody::from(body));
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    // Browser-based tools (Swagger UI, Postman on the web) may fetch it.
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        http::HeaderValue::from_static("*"),
    );
    Some(resp)
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

/// Serves on `listener` until Ctrl-C, under `limits`.
///
/// # Errors
/// When accepting connections fails.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    limits: Limits,
) -> std::io::Result<()> {
    let router = axum::Router::new().fallback(dispatch).with_state(Served {
        app,
        body_timeout: limits.body_timeout,
    });
    conn::run(listener, router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
