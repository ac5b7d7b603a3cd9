//! The v2 list endpoints: `POST /api/{entity}/filter` and `/filter-values`.

use crate::{json, Deps, HandlerError};
use exports_shared::api::http_util::{is_json, MAX_BODY_BYTES};
use exports_shared::api::listing::{parse_body, FilterPageRequest, FilterValuesRequest};
use exports_shared::api::tabular::{ApiError, ErrorCode};
use exports_shared::model::{EntityKind, TenantId};
use exports_shared::service::listing;
use lambda_http::Request;

/// The body of a POST, checked for media type and size.
fn body(req: &Request) -> Result<&[u8], ApiError> {
    if !is_json(req.headers()) {
        return Err(
            ApiError::new(ErrorCode::UnsupportedMediaType, "Unsupported media type")
                .with_details(vec!["Content-Type: must be application/json".into()]),
        );
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(
            ApiError::new(ErrorCode::PayloadTooLarge, "Request body too large")
                .with_details(vec![format!("body: at most {MAX_BODY_BYTES} bytes")]),
        );
    }
    Ok(body)
}

/// `POST /api/{entity}/filter`: a page of the rows the filters select.
pub(crate) async fn filter(
    deps: &Deps,
    req: &Request,
    tenant: &TenantId,
    entity: EntityKind,
) -> Result<String, HandlerError> {
    let request: FilterPageRequest = parse_body(body(req)?)?;
    let page = listing::preview(
        deps.entities.as_ref(),
        deps.config.as_ref(),
        tenant,
        entity,
        request,
    )
    .await?;
    Ok(json(&page))
}

/// `POST /api/{entity}/filter-values`: distinct values of one field.
pub(crate) async fn filter_values(
    deps: &Deps,
    req: &Request,
    tenant: &TenantId,
    entity: EntityKind,
) -> Result<String, HandlerError> {
    let request: FilterValuesRequest = parse_body(body(req)?)?;
    let page = listing::filter_values(
        deps.entities.as_ref(),
        deps.config.as_ref(),
        tenant,
        entity,
        request,
    )
    .await?;
    Ok(json(&page))
}
