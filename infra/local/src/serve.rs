//! `exports-local serve`: the Lambda handlers behind one local HTTP port.
//!
//! Requests are turned into `lambda_http` requests and given to the same
//! handler functions the Lambda entry points call, so local behaviour is
//! Lambda behaviour.

use axum::body::Body as AxumBody;
use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use exports_shared::api::http_util::MAX_BODY_BYTES;
use exports_shared::api::tabular::{ApiError, ErrorCode};
use lambda_http::{Body, Request, Response};
use std::net::SocketAddr;

/// The handlers the local server mounts.
#[derive(Clone)]
pub struct App {
    pub sync_export: sync_export::Deps,
}

/// Routes a request to the function that owns its path.
pub async fn route(app: &App, req: Request) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path.starts_with(sync_export::PREFIX) || path == sync_export::PREFIX.trim_end_matches('/') {
        return match sync_export::handle(&app.sync_export, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    ApiError::new(ErrorCode::NotFound, "Not found").to_response(&path, chrono::Utc::now())
}

async fn dispatch(State(app): State<App>, req: AxumRequest) -> AxumResponse {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            let resp = ApiError::new(ErrorCode::PayloadTooLarge, "Request body too large")
                .with_details(vec![format!("body: at most {MAX_BODY_BYTES} bytes")])
                .to_response(parts.uri.path(), chrono::Utc::now());
            return to_axum(resp);
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    to_axum(route(&app, http::Request::from_parts(parts, body)).await)
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

/// Serves until Ctrl-C.
///
/// # Errors
/// When the port cannot be bound.
pub async fn serve(app: App, addr: SocketAddr) -> std::io::Result<()> {
    let router = axum::Router::new().fallback(dispatch).with_state(app);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
