//! `POST /exports` (also `/exports/`), `GET /exports` and
//! `GET /exports/{id}`: bulk exports, authenticated by API key.
//!
//! [`handle`] takes its dependencies, so the Lambda entry point,
//! `exports-local serve` and the tests run the same code. Every error
//! becomes an HttpError body in one place, [`to_http_error`].

use chrono::{DateTime, Utc};
use exports_shared::api::bulk::{export_resource, parse_creation, FieldError, FileLink, HttpError};
use exports_shared::api::gateway::RouteKey;
use exports_shared::api::http_util::{is_json, normalised_path, source_ip, MAX_BODY_BYTES};
use exports_shared::auth::api_key::{authenticate_key, ApiKeyError, KeyRequest};
use exports_shared::auth::rate_limit::RateLimit;
use exports_shared::model::bulk::{ApiKey, BulkJob, ExportSpec, JobStatus, Permission};
use exports_shared::model::OptionKind;
use exports_shared::store::bulk::{ApiKeyStore, BulkJobStore, IdempotencyRecord};
use exports_shared::store::{
    FileKey, FileStore, JobMessage, JobQueue, StoreError, TenantConfigStore,
};
use lambda_http::{Body, Request, RequestExt, Response};
use sha2::{Digest, Sha256};
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

/// The rate limit from `EXPORTS_API_KEY_RATE_PER_SECOND` (default 5) and
/// `EXPORTS_API_KEY_BURST` (default 20).
pub fn rate_from_env() -> RateLimit {
    let var = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(default)
    };
    RateLimit {
        per_second: var("EXPORTS_API_KEY_RATE_PER_SECOND", 5.0),
        burst: var("EXPORTS_API_KEY_BURST", 20.0).max(1.0),
    }
}

/// `fileUrl` lifetime from `EXPORTS_FILE_URL_TTL_SECONDS` (default 900).
pub fn url_ttl_from_env() -> Duration {
    Duration::from_secs(
        std::env::var("EXPORTS_FILE_URL_TTL_SECONDS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|v| (60..=604_800).contains(v))
            .unwrap_or(900),
    )
}

/// Job retention from `EXPORTS_FILE_EXPIRY_DAYS` (default 7, at least 1):
/// the days the bucket keeps export files (template `FileExpiryDays`), so a
/// job is deleted when its file is.
pub fn retention_from_env() -> Duration {
    let days: u64 = std::env::var("EXPORTS_FILE_EXPIRY_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|v| (1..=36_500).contains(v))
        .unwrap_or(7);
    Duration::from_secs(days * 86_400)
}

/// Why a request failed, before it becomes an HttpError.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("authentication failed")]
    Auth(#[from] ApiKeyError),
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
        HandlerError::Auth(ApiKeyError::Store(e)) | HandlerError::Store(e)
            if e.is_storage_full() =>
        {
            tracing::error!(error = ?e, path, "bulk export request failed: storage full");
            let mut out = HttpError::new(503, "Storage is full; retry later");
            out.retry_after = Some(exports_shared::api::tabular::RETRY_AFTER_SECS);
            out
        }
        HandlerError::Auth(ApiKeyError::Store(e)) | HandlerError::Store(e) => {
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

fn json_response(status: u16, body: &serde_json::Value) -> Result<Response<Body>, HandlerError> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .map_err(|e| StoreError::backend("build response", e).into())
}

async fn handle_inner(deps: &Deps, req: &Request) -> Result<Response<Body>, HandlerError> {
    let now = Utc::now();
    let route = route(req.uri().path()).ok_or_else(|| HttpError::new(404, "Not found"))?;
    let permission = match (&route, req.method()) {
        (Route::Collection, &http::Method::POST) => Permission::CreateExports,
        (_, &http::Method::GET) => Permission::ReadExports,
        _ => return Err(HttpError::new(405, "Method not allowed").into()),
    };
    let asking = KeyRequest {
        headers: req.headers(),
        source: source_ip(req),
        permission,
    };
    let key = authenticate_key(deps.keys.as_ref(), asking, deps.rate, now).await?;
    match route {
        Route::Collection if permission == Permission::CreateExports => {
            create(deps, req, &key, now).await
        }
        Route::Collection => list(deps, req, &key).await,
        Route::Export(id) => {
            let job = deps
                .jobs
                .get_job(&key.tenant, id)
                .await?
                .ok_or_else(|| HttpError::new(404, "Export not found"))?;
            let link = file_link(deps, &key, &job).await?;
            json_response(200, &export_resource(&job, link.as_ref()))
        }
    }
}

/// A fresh presigned URL of a finished job's file.
async fn file_link(
    deps: &Deps,
    key: &ApiKey,
    job: &BulkJob,
) -> Result<Option<FileLink>, HandlerError> {
    let Some(output) = &job.output else {
        return Ok(None);
    };
    let file = FileKey::parse(&output.file_key)?;
    // Files live under their tenant's prefix; never presign another's.
    if !output
        .file_key
        .starts_with(&format!("{}/", key.tenant.as_str()))
    {
        return Err(StoreError::Corrupt(format!("job {} names a foreign file", job.id)).into());
    }
    let url = deps.files.presign_get(&file, deps.url_ttl).await?;
    Ok(Some(FileLink {
        url: url.url,
        expires_at: url.expires_at,
    }))
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

async fn list(deps: &Deps, req: &Request, key: &ApiKey) -> Result<Response<Body>, HandlerError> {
    let page = query_u32(req, "page", 0, 1_000_000)?;
    let size = query_u32(req, "size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    if size == 0 {
        return Err(HttpError::new(
            400,
            format!("query parameter 'size' must be an integer from 1 to {MAX_PAGE_SIZE}"),
        )
        .into());
    }
    let found = deps
        .jobs
        .list_jobs(&key.tenant, u64::from(page) * u64::from(size), size)
        .await?;
    let mut items = Vec::with_capacity(found.jobs.len());
    for job in &found.jobs {
        let link = file_link(deps, key, job).await?;
        items.push(export_resource(job, link.as_ref()));
    }
    let body = serde_json::json!({
        "items": items,
        "page": page,
        "size": size,
        "totalElements": found.total,
        "totalPages": found.total.div_ceil(u64::from(size)),
    });
    json_response(200, &body)
}

/// Lower-case hex SHA-256, as idempotency keys are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn create(
    deps: &Deps,
    req: &Request,
    key: &ApiKey,
    now: DateTime<Utc>,
) -> Result<Response<Body>, HandlerError> {
    if !is_json(req.headers()) {
        return Err(
            HttpError::new(415, "Request without application/json Content-Type header").into(),
        );
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
    if let Some(segment) = &spec.filters.segment_id {
        let known = deps
            .config
            .options(&key.tenant, OptionKind::Segments)
            .await?
            .iter()
            .any(|o| &o.code == segment && !o.deleted);
        if !known {
            return Err(HttpError::unprocessable(vec![FieldError {
                field: "filters.segmentId".into(),
                message: format!("segment '{segment}' does not exist"),
            }])
            .into());
        }
    }
    let idempotency = idempotency_key(req)?;
    let mut job = BulkJob::new(BulkJob::new_id(), spec.clone(), now);
    job.ttl = Some(
        now.timestamp()
            .saturating_add(deps.retention.as_secs() as i64),
    );
    if let Some(idem) = idempotency {
        let record = IdempotencyRecord {
            key_sha256: sha256_hex(idem.as_bytes()),
            request_sha256: spec_hash(&spec)?,
            job_id: job.id.clone(),
            created_at: now,
        };
        if let Some(existing) = deps.jobs.put_idempotency(&key.tenant, &record).await? {
            return replay(deps, key, &record, &existing, job).await;
        }
    }
    deps.jobs.create_job(&key.tenant, &job).await?;
    enqueue(deps, key, &job.id).await?;
    tracing::info!(tenant = %key.tenant, job = %job.id, key = %key.id, "bulk export created");
    let mut resp = json_response(201, &export_resource(&job, None))?;
    if let Ok(v) = format!("{PREFIX}/{}", job.id).parse() {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    Ok(resp)
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &Request) -> Result<Option<String>, HttpError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(s.to_string()))
        }
        _ => Err(HttpError::new(
            400,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// The hash an idempotency record keeps of its request: two bodies with
/// the same meaning (key order, defaults) hash the same.
///
/// # Errors
/// Only if the spec cannot be serialised, which would be a bug.
pub fn spec_hash(spec: &ExportSpec) -> Result<String, HandlerError> {
    let canonical = serde_json::to_vec(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(sha256_hex(&canonical))
}

/// Queues the job for the worker. Sending twice is harmless: the worker
/// ignores a finished job and a job another worker holds.
async fn enqueue(deps: &Deps, key: &ApiKey, job_id: &str) -> Result<(), HandlerError> {
    deps.queue
        .send(&JobMessage {
            tenant: key.tenant.clone(),
            job_id: job_id.to_string(),
        })
        .await?;
    Ok(())
}

/// A retried POST: the same export for the same body, 422 for another.
///
/// A retry also heals a first request that died part-way: if the recorded
/// job was never written (a crash after the idempotency record), it is
/// written now under the recorded id; if it is still `pending` (a crash
/// before it was queued, or a lost message), it is queued again.
async fn replay(
    deps: &Deps,
    key: &ApiKey,
    mine: &IdempotencyRecord,
    existing: &IdempotencyRecord,
    fresh: BulkJob,
) -> Result<Response<Body>, HandlerError> {
    if existing.request_sha256 != mine.request_sha256 {
        return Err(HttpError::unprocessable(vec![FieldError {
            field: "Idempotency-Key".into(),
            message: "this key was used with a different request body".into(),
        }])
        .into());
    }
    // The first request may still be writing its job.
    let mut found = None;
    for _ in 0..20 {
        found = deps.jobs.get_job(&key.tenant, &existing.job_id).await?;
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = match found {
        Some(job) => job,
        None => {
            let job = BulkJob {
                id: existing.job_id.clone(),
                ..fresh
            };
            match deps.jobs.create_job(&key.tenant, &job).await {
                Ok(()) => job,
                Err(StoreError::AlreadyExists(_)) => deps
                    .jobs
                    .get_job(&key.tenant, &existing.job_id)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("job {} vanished", existing.job_id))
                    })?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    if job.status == JobStatus::Pending {
        enqueue(deps, key, &job.id).await?;
    }
    let link = file_link(deps, key, &job).await?;
    json_response(201, &export_resource(&job, link.as_ref()))
}
