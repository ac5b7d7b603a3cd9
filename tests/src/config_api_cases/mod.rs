//! Handler tests of `config-api` (lookups and v2 lists), written once over a
//! [`ConfigFixture`] and run on every backend: `tests/config_api.rs` on the
//! embedded store, `tests/config_api_aws.rs` on DynamoDB (moto). The fixture
//! and helpers are here; the cases are in [`lookups`] and [`lists`].

use crate::*;

mod lists;
mod lookups;
use exports_shared::model::ReferenceData;
use exports_shared::store::ReferenceStore;
pub use lists::*;
pub use lookups::*;
use serde_json::{json, Value};

/// [`Fixture`] (both tenants seeded) plus the reference data and the
/// config-api handler over the same store.
pub struct ConfigFixture {
    pub base: Fixture,
    pub deps: config_api::Deps,
}

impl ConfigFixture {
    /// Over a fresh embedded store.
    pub async fn new() -> ConfigFixture {
        ConfigFixture::with(Fixture::new().await).await
    }

    /// Over fresh DynamoDB tables in moto; `None` when AWS tests are skipped.
    pub async fn aws() -> Option<ConfigFixture> {
        Some(ConfigFixture::with(Fixture::aws().await?).await)
    }

    /// Entities in PostgreSQL, the rest embedded; `None` when PostgreSQL
    /// tests are skipped.
    pub async fn postgres() -> Option<ConfigFixture> {
        Some(ConfigFixture::with(Fixture::postgres().await?).await)
    }

    async fn with(base: Fixture) -> ConfigFixture {
        let reference: std::sync::Arc<dyn ReferenceStore> = base.store.clone();
        reference
            .put_reference(&ReferenceData::bundled().expect("bundled"))
            .await
            .expect("load reference");
        let deps = config_api::Deps {
            entities: base.deps.entities.clone(),
            config: base.deps.config.clone(),
            reference,
            verifier: base.deps.verifier.clone(),
        };
        ConfigFixture { base, deps }
    }

    /// Calls the config-api handler.
    pub async fn call(&self, req: Request) -> Response<Body> {
        match config_api::handle(&self.deps, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    /// Calls it and expects 200 with a JSON body.
    pub async fn ok(&self, req: Request) -> Value {
        let resp = self.call(req).await;
        assert_eq!(
            resp.status(),
            200,
            "{}",
            String::from_utf8_lossy(&bytes(&resp))
        );
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "content type"
        );
        json_body(&resp)
    }

    /// Calls it and expects an error: returns (status, errorCode, details).
    pub async fn err(&self, req: Request) -> (u16, String, Vec<String>) {
        let resp = self.call(req).await;
        let body = json_body(&resp);
        assert_eq!(body["status"], resp.status().as_u16(), "{body}");
        let details = body["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|s| s.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        (
            resp.status().as_u16(),
            body["errorCode"].as_str().unwrap_or("").to_string(),
            details,
        )
    }
}

/// An event with another path (and query), keeping its method and headers.
pub fn at(event_name: &str, path_and_query: &str) -> Request {
    let req = event(event_name);
    let (mut parts, body) = req.into_parts();
    parts.uri = path_and_query.parse().expect("uri");
    http::Request::from_parts(parts, body)
}

/// The filter event with `body` at `/api/{entity}/filter`.
pub fn filter_req(entity: &str, body: &Value) -> Request {
    with_json(
        at(
            "config-api-contacts-filter",
            &format!("/api/{entity}/filter"),
        ),
        body,
    )
}

/// Every id a preview returns, page by page with `size`, and the envelope
/// totals of the first page.
pub async fn preview_ids(
    fx: &ConfigFixture,
    entity: &str,
    filters: &Value,
    sort: &Value,
    size: u64,
) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    let mut page = 0;
    loop {
        let body = fx
            .ok(filter_req(
                entity,
                &json!({"filters": filters, "sort": sort, "page": page, "size": size}),
            ))
            .await;
        assert_eq!(body["page"], page);
        assert_eq!(body["size"], size);
        let total = body["totalElements"].as_u64().expect("totalElements");
        let pages = body["totalPages"].as_u64().expect("totalPages");
        assert_eq!(pages, total.div_ceil(size));
        let content = body["content"].as_array().expect("content");
        ids.extend(
            content
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_string()),
        );
        page += 1;
        if page >= pages {
            assert_eq!(ids.len() as u64, total);
            return (ids, total);
        }
        assert_eq!(content.len() as u64, size, "a full page before the last");
    }
}

/// The ids of an export of `filters` through `POST /api/exports/{entity}`, in
/// file order; empty when it answers "no rows".
pub async fn export_ids(
    fx: &ConfigFixture,
    entity: &str,
    filters: &Value,
    sort: &Value,
) -> Vec<String> {
    let mut body = json!({"format": "CSV", "filters": filters,
        "viewState": {"columns": [{"id": "id", "label": "id"}]}});
    if let Some((field, dir)) = sort.as_str().and_then(|s| s.split_once(',')) {
        body["viewState"]["sort"] = json!({"field": field, "direction": dir.to_uppercase()});
    }
    let req = event("sync-export-contacts-csv");
    let (mut parts, b) = req.into_parts();
    parts.uri = format!("/api/exports/{entity}").parse().expect("uri");
    let req = with_json(http::Request::from_parts(parts, b), &body);
    let resp = fx.base.call(req).await;
    if resp.status() == 400 && json_body(&resp)["errorCode"] == "BE0310" {
        return Vec::new();
    }
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(&bytes(&resp))
    );
    csv_rows(&resp)[1..].iter().map(|r| r[0].clone()).collect()
}
