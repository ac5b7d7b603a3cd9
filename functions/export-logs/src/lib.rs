//! `/api/v2/contacts/exports`: export logs (JSON:API) and their files.
//!
//! - `POST /api/v2/contacts/exports` records a log holding a contact filter;
//! - `GET /api/v2/contacts/exports/{id}` returns it;
//! - `GET /api/v2/contacts/exports/{id}.csv` or `.xlsx` produces the file of
//!   the contacts the filter selects, and records `export_at`.
//!
//! [`handle`] takes its dependencies as arguments, so the Lambda entry point,
//! `exports-local serve` and the tests all call the same code. Every error
//! becomes a JSON:API error document through [`to_json_api`].

use exports_shared::api::delivery::deliver;
use exports_shared::api::export_logs::{
    filters_of, log_document, parse_create, JsonApiError, JSONAPI_CONTENT_TYPE,
};
use exports_shared::api::gateway::RouteKey;
use exports_shared::api::http_util::{is_json, normalised_path, MAX_BODY_BYTES};
use exports_shared::auth::{authenticate, JwtVerifier, Principal};
use exports_shared::render::ExportFormat;
pub use exports_shared::service::delivery::Delivery;
use exports_shared::service::export_logs::{render_contacts, ContactsFile};
use exports_shared::service::ServiceError;
use exports_shared::store::{
    EntitySource, ExportLog, ExportLogStore, FileStore, StoreError, TenantConfigStore,
};
use lambda_http::{Body, Request, Response};
use std::sync::Arc;

/// What the handler needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub entities: Arc<dyn EntitySource>,
    pub config: Arc<dyn TenantConfigStore>,
    pub logs: Arc<dyn ExportLogStore>,
    pub verifier: Arc<JwtVerifier>,
    /// Where files too large to return inline are stored.
    pub files: Arc<dyn FileStore>,
    pub delivery: Delivery,
    /// The deployment's cap on every tenant's row limit
    /// (`EXPORTS_MAX_SYNC_ROWS`).
    pub max_sync_rows: Option<u64>,
}

/// The path this function serves, and everything under it.
pub const PREFIX: &str = "/api/v2/contacts/exports";

/// The API Gateway routes this function is mounted on (`template.yaml`).
pub const ROUTES: &[RouteKey] = &[
    RouteKey::new("POST", "/api/v2/contacts/exports"),
    RouteKey::new("GET", "/api/v2/contacts/exports/{id}"),
];

/// Why a request failed, before it becomes a JSON:API error.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Api(#[from] JsonApiError),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("export failed")]
    Service(#[from] ServiceError),
}

/// The one mapping of this API's errors: client faults as they are, the
/// pipeline's through [`JsonApiError::from`], internal failures logged in
/// full and answered with a bare 500 (503 for a full disk).
pub fn to_json_api(err: HandlerError, path: &str) -> JsonApiError {
    let log_failure = |e: &dyn std::error::Error, full: bool| {
        if full {
            tracing::error!(error = ?e, path = %path, "export log request failed: storage full");
        } else {
            tracing::error!(error = ?e, source = ?e.source(), path = %path, "export log request failed");
        }
    };
    let api = match err {
        HandlerError::Api(api) => api,
        HandlerError::Service(e) => {
            if !e.is_client_fault() {
                log_failure(&e, e.is_storage_full());
            }
            JsonApiError::from(&e)
        }
        HandlerError::Store(e) => {
            log_failure(&e, e.is_storage_full());
            if e.is_storage_full() {
                JsonApiError::storage_full()
            } else {
                JsonApiError::internal()
            }
        }
    };
    if api.status < 500 {
        tracing::info!(status = api.status, code = api.code, path = %path, "export log request rejected");
    }
    api
}

enum Route<'a> {
    Collection,
    Log(&'a str),
    File(&'a str, ExportFormat),
}

fn route(path: &str) -> Option<Route<'_>> {
    let rest = path.strip_prefix(PREFIX)?;
    if rest.is_empty() {
        return Some(Route::Collection);
    }
    let segment = rest.strip_prefix('/').filter(|s| !s.contains('/'))?;
    let (id, format) = match segment.rsplit_once('.') {
        Some((id, "csv")) => (id, Some(ExportFormat::Csv)),
        Some((id, "xlsx")) => (id, Some(ExportFormat::Xlsx)),
        Some(_) => return None,
        None => (segment, None),
    };
    // Ids are server-made UUIDs; anything else cannot exist.
    uuid::Uuid::parse_str(id).ok()?;
    Some(match format {
        Some(f) => Route::File(id, f),
        None => Route::Log(id),
    })
}

/// Handles one request. Never fails: every error becomes a JSON:API error
/// document.
pub async fn handle(deps: &Deps, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = normalised_path(req.uri().path()).to_string();
    match handle_inner(deps, &req, &path).await {
        Ok(resp) => Ok(resp),
        Err(err) => Ok(to_json_api(err, &path).to_response()),
    }
}

fn method_not_allowed(allowed: &'static str) -> JsonApiError {
    let mut err = JsonApiError::new(
        405,
        "method_not_allowed",
        "Method not allowed",
        format!("this resource allows {allowed}"),
    );
    err.allow = Some(allowed);
    err
}

async fn handle_inner(
    deps: &Deps,
    req: &Request,
    path: &str,
) -> Result<Response<Body>, HandlerError> {
    let now = chrono::Utc::now();
    let route = route(path)
        .ok_or_else(|| JsonApiError::new(404, "not_found", "Not found", "no such resource"))?;
    match (&route, req.method()) {
        (Route::Collection, &http::Method::POST) => {}
        (Route::Collection, _) => return Err(method_not_allowed("POST").into()),
        (_, &http::Method::GET) => {}
        _ => return Err(method_not_allowed("GET").into()),
    }
    let principal = authenticate(&deps.verifier, req.headers()).map_err(JsonApiError::from)?;
    match route {
        Route::Collection => create(deps, req, &principal, now).await,
        Route::Log(id) => {
            let log = owned_log(deps, &principal, id).await?;
            jsonapi(200, &log_document(&log), None)
        }
        Route::File(id, format) => download(deps, req, &principal, id, format, now).await,
    }
}

fn jsonapi(
    status: u16,
    doc: &serde_json::Value,
    location: Option<String>,
) -> Result<Response<Body>, HandlerError> {
    let mut builder = Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, JSONAPI_CONTENT_TYPE);
    if let Some(l) = location {
        builder = builder.header(http::header::LOCATION, l);
    }
    builder
        .body(Body::Text(doc.to_string()))
        .map_err(|e| StoreError::backend("build response", e).into())
}

async fn create(
    deps: &Deps,
    req: &Request,
    principal: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Response<Body>, HandlerError> {
    if !is_json(req.headers()) {
        return Err(JsonApiError::new(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            "Content-Type must be application/vnd.api+json or application/json",
        )
        .into());
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(JsonApiError::new(
            413,
            "payload_too_large",
            "Payload too large",
            format!("the body may hold at most {MAX_BODY_BYTES} bytes"),
        )
        .into());
    }
    let request = parse_create(body)?;
    let log = ExportLog {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: principal.user_id.clone(),
        params: request.params,
        created_at: now,
        updated_at: now,
        export_at: now,
        updated_in_db_at: request.updated_in_db_at.unwrap_or(now),
    };
    deps.logs.put_log(&principal.tenant, &log).await?;
    tracing::info!(tenant = %principal.tenant, user = %principal.user_id, log = %log.id, "export log created");
    jsonapi(
        201,
        &log_document(&log),
        Some(format!("{PREFIX}/{}", log.id)),
    )
}

/// The tenant's log `id`: 404 when absent (another tenant's logs are never
/// visible), 403 when another user's and the caller is not an admin.
async fn owned_log(
    deps: &Deps,
    principal: &Principal,
    id: &str,
) -> Result<ExportLog, HandlerError> {
    let log = deps
        .logs
        .get_log(&principal.tenant, id)
        .await?
        .ok_or_else(JsonApiError::not_found)?;
    if log.user_id != principal.user_id && !principal.is_admin() {
        return Err(JsonApiError::new(
            403,
            "forbidden",
            "Forbidden",
            "this export log belongs to another user",
        )
        .into());
    }
    Ok(log)
}

/// The first language tag of `Accept-Language`, if any.
fn accept_language(req: &Request) -> Option<String> {
    req.headers()
        .get(http::header::ACCEPT_LANGUAGE)?
        .to_str()
        .ok()?
        .split(',')
        .next()
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t != "*")
}

async fn download(
    deps: &Deps,
    req: &Request,
    principal: &Principal,
    id: &str,
    format: ExportFormat,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Response<Body>, HandlerError> {
    let log = owned_log(deps, principal, id).await?;
    let filters = filters_of(&log.params)?;
    let language = accept_language(req);
    let file = render_contacts(
        deps.entities.as_ref(),
        deps.config.as_ref(),
        &principal.tenant,
        ContactsFile {
            filters,
            format,
            language: language.as_deref(),
            max_rows: deps.max_sync_rows,
        },
        now,
    )
    .await?;
    deps.logs
        .mark_exported(&principal.tenant, id, now)
        .await?
        .ok_or_else(JsonApiError::not_found)?;
    tracing::info!(tenant = %principal.tenant, user = %principal.user_id, log = %id,
        format = format.extension(), rows = file.rows, "export log file served");
    Ok(deliver(
        deps.files.as_ref(),
        deps.delivery,
        &principal.tenant,
        file,
        req.headers(),
    )
    .await?)
}
