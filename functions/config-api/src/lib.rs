//! `config-api`: the conventions' configuration lookups and the v2 list
//! endpoints, with the standard `BE####` error body.
//!
//! - `GET /api/core/platformconfigs/v1/contacts/{stages|sources|segments}`
//! - `GET /api/industries`
//! - `GET /api/core/geo/v1/countries[?fields=cca3,name.common]`
//! - `GET /api/core/geo/v1/cities?country={code}`
//! - `GET /api/core/geo/v1/phone-codes`
//! - `POST /api/{contacts|organisations|households}/filter`
//! - `POST /api/{contacts|organisations|households}/filter-values`
//!
//! [`handle`] takes its dependencies as arguments, so the Lambda entry point,
//! `exports-local serve` and the tests all call the same code.

mod lists;
mod lookups;

use exports_shared::api::gateway::RouteKey;
use exports_shared::api::http_util::normalised_path;
use exports_shared::api::tabular::{ApiError, ErrorCode};
use exports_shared::auth::{authenticate, JwtVerifier};
use exports_shared::model::{EntityKind, OptionKind};
use exports_shared::service::ServiceError;
use exports_shared::store::{EntitySource, ReferenceStore, StoreError, TenantConfigStore};
use lambda_http::{Body, Request, Response};
use std::sync::Arc;

/// What the handler needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub entities: Arc<dyn EntitySource>,
    pub config: Arc<dyn TenantConfigStore>,
    pub reference: Arc<dyn ReferenceStore>,
    pub verifier: Arc<JwtVerifier>,
}

/// The tenant option lists' path prefix.
pub const OPTIONS_PREFIX: &str = "/api/core/platformconfigs/v1/contacts/";
/// The geo lookups' path prefix.
pub const GEO_PREFIX: &str = "/api/core/geo/v1/";
/// The industries lookup.
pub const INDUSTRIES_PATH: &str = "/api/industries";

/// The API Gateway routes this function is mounted on (`template.yaml`).
pub const ROUTES: &[RouteKey] = &[
    RouteKey::new("GET", "/api/core/platformconfigs/v1/contacts/{kind}"),
    RouteKey::new("GET", "/api/industries"),
    RouteKey::new("GET", "/api/core/geo/v1/countries"),
    RouteKey::new("GET", "/api/core/geo/v1/cities"),
    RouteKey::new("GET", "/api/core/geo/v1/phone-codes"),
    RouteKey::new("POST", "/api/{entity}/filter"),
    RouteKey::new("POST", "/api/{entity}/filter-values"),
];

/// One resource of this API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Options(OptionKind),
    Industries,
    Countries,
    Cities,
    PhoneCodes,
    Filter(EntityKind),
    FilterValues(EntityKind),
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        if let Some(kind) = path.strip_prefix(OPTIONS_PREFIX) {
            return Some(Route::Options(match kind {
                "stages" => OptionKind::Stages,
                "sources" => OptionKind::Sources,
                "segments" => OptionKind::Segments,
                _ => return None,
            }));
        }
        if path == INDUSTRIES_PATH {
            return Some(Route::Industries);
        }
        if let Some(geo) = path.strip_prefix(GEO_PREFIX) {
            return match geo {
                "countries" => Some(Route::Countries),
                "cities" => Some(Route::Cities),
                "phone-codes" => Some(Route::PhoneCodes),
                _ => None,
            };
        }
        let rest = path.strip_prefix("/api/")?;
        let (entity, action) = rest.split_once('/')?;
        let entity = EntityKind::from_path(entity)?;
        match action {
            "filter" => Some(Route::Filter(entity)),
            "filter-values" => Some(Route::FilterValues(entity)),
            _ => None,
        }
    }

    fn method(self) -> http::Method {
        match self {
            Route::Filter(_) | Route::FilterValues(_) => http::Method::POST,
            _ => http::Method::GET,
        }
    }
}

/// Why a request failed: a client fault with its body, or an internal failure.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{0:?}")]
    Client(ApiError),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("selection failed")]
    Service(#[source] ServiceError),
}

impl From<ApiError> for HandlerError {
    fn from(e: ApiError) -> Self {
        HandlerError::Client(e)
    }
}

/// Client faults of the pipeline become their `BE####` body
/// ([`ApiError::from`]); its internal failures stay internal (a bare 500,
/// a full disk included).
impl From<ServiceError> for HandlerError {
    fn from(e: ServiceError) -> Self {
        if e.is_client_fault() {
            HandlerError::Client(ApiError::from(&e))
        } else {
            HandlerError::Service(e)
        }
    }
}

/// Handles one request. Never fails: every error becomes a response in the
/// conventions' error body.
pub async fn handle(deps: &Deps, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let now = chrono::Utc::now();
    let path = normalised_path(req.uri().path()).to_string();
    let route = Route::parse(&path);
    let allow = if route.map(Route::method) == Some(http::Method::POST) {
        "POST"
    } else {
        "GET"
    };
    let api = match handle_inner(deps, &req, route).await {
        Ok(resp) => return Ok(resp),
        Err(HandlerError::Client(api)) => {
            tracing::info!(status = api.status(), code = api.code.code(), path = %path, "config-api request rejected");
            api
        }
        Err(other) => {
            tracing::error!(error = ?other, source = ?std::error::Error::source(&other), path = %path, "config-api request failed");
            ApiError::new(ErrorCode::Internal, "Internal error")
        }
    };
    Ok(api.to_response_allowing(&path, now, allow))
}

async fn handle_inner(
    deps: &Deps,
    req: &Request,
    route: Option<Route>,
) -> Result<Response<Body>, HandlerError> {
    let route = route.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "Not found"))?;
    if req.method() != route.method() {
        return Err(ApiError::new(ErrorCode::MethodNotAllowed, "Method not allowed").into());
    }
    let principal = authenticate(&deps.verifier, req.headers()).map_err(ApiError::from)?;
    let tenant = &principal.tenant;
    let query = lookups::Query::parse(req.uri().query())?;
    let body = match route {
        Route::Options(kind) => {
            query.allow(&[])?;
            json(&deps.config.options(tenant, kind).await?)
        }
        Route::Industries => {
            query.allow(&[])?;
            json(&deps.reference.industries().await?)
        }
        Route::Countries => lookups::countries(deps, &query).await?,
        Route::Cities => lookups::cities(deps, &query).await?,
        Route::PhoneCodes => {
            query.allow(&[])?;
            json(&deps.reference.phone_codes().await?)
        }
        Route::Filter(entity) => {
            query.allow(&[])?;
            lists::filter(deps, req, tenant, entity).await?
        }
        Route::FilterValues(entity) => {
            query.allow(&[])?;
            lists::filter_values(deps, req, tenant, entity).await?
        }
    };
    tracing::info!(tenant = %tenant, user = %principal.user_id, route = ?route, "config-api request served");
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .map_err(|e| StoreError::backend("build response", e).into())
}

/// Serialises a response body.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_exact() {
        assert_eq!(
            Route::parse("/api/core/platformconfigs/v1/contacts/stages"),
            Some(Route::Options(OptionKind::Stages))
        );
        assert_eq!(
            Route::parse("/api/households/filter-values"),
            Some(Route::FilterValues(EntityKind::Households))
        );
        for none in [
            "/api/core/platformconfigs/v1/contacts/stage",
            "/api/activities/filter",
            "/api/contacts/filter/x",
            "/api/core/geo/v1/countries/CHL",
            "/api/exports/contacts",
        ] {
            assert_eq!(Route::parse(none), None, "{none}");
        }
    }
}
