//! `POST /api/exports/{contacts|organisations|households}`: the synchronous
//! tabular export, answered with the file.
//!
//! [`handle`] takes its dependencies as arguments, so the Lambda entry point,
//! `exports-local serve` and the tests all call the same code.

use exports_shared::api::delivery::deliver;
use exports_shared::api::gateway::RouteKey;
use exports_shared::api::http_util::{is_json, normalised_path, MAX_BODY_BYTES};
use exports_shared::api::tabular::{parse_request, ApiError, ErrorCode};
use exports_shared::auth::{authenticate, JwtVerifier};
use exports_shared::model::EntityKind;
pub use exports_shared::service::delivery::Delivery;
use exports_shared::service::tabular::{export_with, ExportOptions};
use exports_shared::service::ServiceError;
use exports_shared::store::{EntitySource, FileStore, StoreError, TenantConfigStore};
use lambda_http::{Body, Request, Response};
use std::sync::Arc;
use std::time::Instant;

/// What the handler needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub entities: Arc<dyn EntitySource>,
    pub config: Arc<dyn TenantConfigStore>,
    pub verifier: Arc<JwtVerifier>,
    /// Where files too large to return inline are stored.
    pub files: Arc<dyn FileStore>,
    pub delivery: Delivery,
    /// The deployment's cap on every tenant's sync row limit
    /// (`EXPORTS_MAX_SYNC_ROWS`); `None` leaves the tenants' limits as they are.
    pub max_sync_rows: Option<u64>,
}

/// The path prefix this function serves.
pub const PREFIX: &str = "/api/exports/";

/// The API Gateway routes this function is mounted on (`template.yaml`).
pub const ROUTES: &[RouteKey] = &[RouteKey::new("POST", "/api/exports/{entity}")];

/// Why a request failed, before it becomes the conventions' error body.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A fault found by the handler itself, with its body.
    #[error("{0:?}")]
    Api(ApiError),
    /// A failure of the export pipeline.
    #[error("export failed")]
    Service(#[from] ServiceError),
}

impl From<ApiError> for HandlerError {
    fn from(e: ApiError) -> Self {
        HandlerError::Api(e)
    }
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        HandlerError::Service(e.into())
    }
}

/// Handles one request. Never fails: every error becomes a response in the
/// conventions' error body.
pub async fn handle(deps: &Deps, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let started = Instant::now();
    let now = chrono::Utc::now();
    let path = normalised_path(req.uri().path()).to_string();
    match handle_inner(deps, &req, &path, now, started).await {
        Ok(resp) => Ok(resp),
        Err(err) => {
            let api = match err {
                HandlerError::Api(api) => api,
                HandlerError::Service(e) => {
                    if e.is_storage_full() {
                        tracing::error!(error = ?e, source = ?std::error::Error::source(&e), path = %path, "export failed: storage full");
                    } else if !e.is_client_fault() {
                        tracing::error!(error = ?e, source = ?std::error::Error::source(&e), path = %path, "export failed");
                    }
                    ApiError::from(&e)
                }
            };
            if api.status() < 500 {
                tracing::info!(status = api.status(), code = api.code.code(), path = %path, "export rejected");
            }
            Ok(api.to_response(&path, now))
        }
    }
}

async fn handle_inner(
    deps: &Deps,
    req: &Request,
    path: &str,
    now: chrono::DateTime<chrono::Utc>,
    started: Instant,
) -> Result<Response<Body>, HandlerError> {
    let entity = path
        .strip_prefix(PREFIX)
        .and_then(EntityKind::from_path)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "Not found"))?;
    if req.method() != http::Method::POST {
        return Err(ApiError::new(ErrorCode::MethodNotAllowed, "Method not allowed").into());
    }
    let principal = authenticate(&deps.verifier, req.headers()).map_err(ApiError::from)?;
    if !is_json(req.headers()) {
        return Err(
            ApiError::new(ErrorCode::UnsupportedMediaType, "Unsupported media type")
                .with_details(vec!["Content-Type: must be application/json".into()])
                .into(),
        );
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(
            ApiError::new(ErrorCode::PayloadTooLarge, "Request body too large")
                .with_details(vec![format!("body: at most {MAX_BODY_BYTES} bytes")])
                .into(),
        );
    }
    let request = parse_request(body)?;
    let file = export_with(
        deps.entities.as_ref(),
        deps.config.as_ref(),
        &principal.tenant,
        entity,
        &request,
        now,
        ExportOptions {
            max_rows: deps.max_sync_rows,
            ..ExportOptions::default()
        },
    )
    .await?;

    tracing::info!(
        tenant = %principal.tenant,
        user = %principal.user_id,
        entity = %entity,
        ui_screen_name = request.ui_screen_name.as_deref().unwrap_or(""),
        format = file.format.extension(),
        rows = file.rows,
        bytes = file.bytes.len(),
        duration_ms = started.elapsed().as_millis() as u64,
        "export served"
    );

    Ok(deliver(
        deps.files.as_ref(),
        deps.delivery,
        &principal.tenant,
        file,
        req.headers(),
    )
    .await?)
}
