//! `POST /exports` (also `/exports/`), `GET /exports`, `GET /exports/{id}`
//! and `DELETE /exports/{id}` (cancel): bulk exports, authenticated by API
//! key.
//!
//! [`handle`] takes its dependencies, so the Lambda entry point,
//! `exports-local serve` and the tests run the same code. It routes,
//! authenticates, parses, calls the service
//! ([`exports_shared::service::bulk::create`]) and writes the result in the
//! API's wire format. Every error becomes an HttpError body in one place,
//! [`to_http_error`].

use chrono::Utc;
use exports_shared::api::bulk::{export_resource, parse_creation, FieldError, FileLink, HttpError};
use exports_shared::api::gateway::RouteKey;
use exports_shared::api::http_util::{is_json, normalised_path, source_ip, MAX_BODY_BYTES};
use exports_shared::auth::api_key::{authenticate_key, ApiKeyError, KeyRequest};
use exports_shared::auth::rate_limit::RateLimit;
use exports_shared::model::bulk::Permission;
use exports_shared::service::bulk::create::{BulkExportError, BulkExports, Creation, JobView};
use exports_shared::store::bulk::{ApiKeyStore, BulkJobStore};
use exports_shared::store::{FileStore, JobQueue, StoreError, TenantConfigStore};
use lambda_http::{Body, Request, RequestExt, Response};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The collection path.
pub const PREFIX: &str = "/exports";

/// The API Gateway routes this function is mounted on (`template.yaml`).
pub const ROUTES: &[RouteKey] = &[
    RouteKey::new("POST", "/exports"),
    RouteKey::new("POST", "/exports/"),
    RouteKey::new("GET", "/exports"),
    RouteKey::new("GET", "/exports/{id}"),
    RouteKey::new("DELETE", "/exports/{id}"),
];
/// The largest `size` of a list page.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The default `size` of a list page (the conventions').
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// What the handler needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub jobs: Arc<dyn BulkJobStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub config: Arc<dyn TenantConfigStore>,
    pub queue: Arc<dyn JobQueue>,
    pub files: Arc<dyn FileStore>,
    /// Every key's token bucket.
    pub rate: RateLimit,
    /// Lifetime of `fileUrl`.
    pub url_ttl: Duration,
    /// How long a job is kept after its creation: its `ttl` is
    /// `createdAt + retention` (the files' lifecycle expiry).
    pub retention: Duration,
}

/// Why a request failed, before it becomes an HttpError.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("authentication failed")]
    Auth(#[from] ApiKeyError),
    #[error("the bulk export request failed")]
    Exports(#[from] BulkExportError),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// The one mapping of this API's errors to HTTP.
pub fn to_http_error(err: HandlerError, path: &str) -> HttpError {
    let out = match err {
        HandlerError::Http(e) => e,
        HandlerError::Auth(ApiKeyError::Missing | ApiKeyError::Unknown) => HttpError::new(
            401,
            "Not authorized to access API: send a valid 'Authorization: apiKey {key}' header",
        ),
        HandlerError::Auth(e @ ApiKeyError::Forbidden(_)) => {
            HttpError::new(403, format!("Permission not granted: {e}"))
        }
        HandlerError::Auth(ApiKeyError::Blocked) => {
            HttpError::new(403, "The account has been blocked")
        }
        HandlerError::Auth(ApiKeyError::RateLimited(secs)) => {
            let mut e = HttpError::new(
                429,
                format!("Requests rate limit reached; retry after {secs} seconds"),
            );
            e.retry_after = Some(secs);
            e
        }
        HandlerError::Exports(BulkExportError::UnknownSegment(segment)) => {
            HttpError::unprocessable(vec![FieldError {
                field: "filters.segmentId".into(),
                message: format!("segment '{segment}' does not exist"),
            }])
        }
        HandlerError::Exports(BulkExportError::InvalidIdempotencyKey) => HttpError::new(
            400,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ),
        HandlerError::Exports(BulkExportError::IdempotencyConflict) => {
            HttpError::unprocessable(vec![FieldError {
                field: "Idempotency-Key".into(),
                message: "this key was used with a different request body".into(),
            }])
        }
        HandlerError::Exports(BulkExportError::NotFound(_)) => {
            HttpError::new(404, "Export not found")
        }
        HandlerError::Exports(BulkExportError::NotCancellable(_, status)) => HttpError::new(
            409,
            format!(
                "The export has ended ({}) and cannot be cancelled",
                serde_json::to_value(status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        ),
        HandlerError::Auth(ApiKeyError::Store(e))
        | HandlerError::Exports(BulkExportError::Store(e))
        | HandlerError::Store(e)
            if e.is_storage_full() =>
        {
            tracing::error!(error = ?e, path, "bulk export request failed: storage full");
            let mut out = HttpError::new(503, "Storage is full; retry later");
            out.retry_after = Some(exports_shared::api::tabular::RETRY_AFTER_SECS);
            out
        }
        HandlerError::Auth(ApiKeyError::Store(e))
        | HandlerError::Exports(BulkExportError::Store(e))
        | HandlerError::Store(e) => {
            tracing::error!(error = ?e, source = ?std::error::Error::source(&e), path, "bulk export request failed");
            HttpError::internal()
        }
    };
    if out.status < 500 {
        tracing::info!(status = out.status, path, message = %out.message, "bulk export request rejected");
    }
    out
}

enum Route<'a> {
    Collection,
    Export(&'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    let rest = normalised_path(path).strip_prefix(PREFIX)?;
    if rest.is_empty() {
        return Some(Route::Collection);
    }
    let id = rest.strip_prefix('/').filter(|s| !s.contains('/'))?;
    Some(Route::Export(id))
}

/// Handles one request; never fails.
pub async fn handle(deps: &Deps, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    Ok(match handle_inner(deps, &req).await {
        Ok(r) => r,
        Err(e) => to_http_error(e, &path).to_response(),
    })
}

/// The service over the handler's dependencies.
fn service(deps: &Deps) -> BulkExports<'_> {
    BulkExports {
        jobs: deps.jobs.as_ref(),
        config: deps.config.as_ref(),
        queue: deps.queue.as_ref(),
        files: deps.files.as_ref(),
        url_ttl: deps.url_ttl,
        retention: deps.retention,
    }
}

fn json_response(status: u16, body: &serde_json::Value) -> Result<Response<Body>, HandlerError> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .map_err(|e| StoreError::backend("build response", e).into())
}

/// The Export resource of a job and its link.
fn resource(view: &JobView) -> serde_json::Value {
    let link = view.link.as_ref().map(|l| FileLink {
        url: l.url.clone(),
        expires_at: l.expires_at,
    });
    export_resource(&view.job, link.as_ref(), view.tasks.as_ref())
}

async fn handle_inner(deps: &Deps, req: &Request) -> Result<Response<Body>, HandlerError> {
    let now = Utc::now();
    let route = route(req.uri().path()).ok_or_else(|| HttpError::new(404, "Not found"))?;
    let permission = match (&route, req.method()) {
        (Route::Collection, &http::Method::POST) => Permission::CreateExports,
        (Route::Export(_), &http::Method::DELETE) => Permission::CreateExports,
        (_, &http::Method::GET) => Permission::ReadExports,
        _ => return Err(HttpError::new(405, "Method not allowed").into()),
    };
    let asking = KeyRequest {
        headers: req.headers(),
        source: source_ip(req),
        permission,
    };
    let key = authenticate_key(deps.keys.as_ref(), asking, deps.rate, now).await?;
    let exports = service(deps);
    match route {
        Route::Collection if permission == Permission::CreateExports => {
            if !is_json(req.headers()) {
                return Err(HttpError::new(
                    415,
                    "Request without application/json Content-Type header",
                )
                .into());
            }
            let body: &[u8] = req.body().as_ref();
            if body.len() > MAX_BODY_BYTES {
                return Err(HttpError::new(
                    413,
                    format!("The body may hold at most {MAX_BODY_BYTES} bytes"),
                )
                .into());
            }
            let spec = parse_creation(body)?;
            let idempotency = req.headers().get("idempotency-key").map(|v| v.as_bytes());
            match exports.create(&key.tenant, spec, idempotency, now).await? {
                Creation::Created(job) => {
                    tracing::info!(tenant = %key.tenant, job = %job.id, key = %key.id, "bulk export created");
                    let mut resp = json_response(201, &export_resource(&job, None, None))?;
                    if let Ok(v) = format!("{PREFIX}/{}", job.id).parse() {
                        resp.headers_mut().insert(http::header::LOCATION, v);
                    }
                    Ok(resp)
                }
                Creation::Replayed(view) => json_response(201, &resource(&view)),
            }
        }
        Route::Collection => {
            let page = query_u32(req, "page", 0, 1_000_000)?;
            let size = query_u32(req, "size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
            let size = NonZeroU32::new(size).ok_or_else(|| {
                HttpError::new(
                    400,
                    format!("query parameter 'size' must be an integer from 1 to {MAX_PAGE_SIZE}"),
                )
            })?;
            let found = exports.list(&key.tenant, page, size).await?;
            let body = serde_json::json!({
                "items": found.items.iter().map(resource).collect::<Vec<_>>(),
                "page": found.page,
                "size": found.size,
                "totalElements": found.total,
                "totalPages": found.total_pages,
            });
            json_response(200, &body)
        }
        Route::Export(id) if req.method() == http::Method::DELETE => {
            json_response(200, &resource(&exports.cancel(&key.tenant, id, now).await?))
        }
        Route::Export(id) => json_response(200, &resource(&exports.get(&key.tenant, id).await?)),
    }
}

fn query_u32(req: &Request, name: &str, default: u32, max: u32) -> Result<u32, HttpError> {
    let params = req.query_string_parameters();
    match params.first(name) {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(HttpError::new(
                400,
                format!("query parameter '{name}' must be an integer from 0 to {max}"),
            )),
        },
    }
}
