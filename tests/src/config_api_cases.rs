//! Handler tests of `config-api` (lookups and v2 lists), written once over a
//! [`ConfigFixture`] and run on every backend: `tests/config_api.rs` on the
//! embedded store, `tests/config_api_aws.rs` on DynamoDB (moto).

use crate::*;
use exports_shared::model::{ConfigOption, OptionKind, ReferenceData, TenantId};
use exports_shared::store::ReferenceStore;
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

/// Stages, sources and segments in the seed's shape, disabled ones flagged.
pub async fn option_lists_have_the_seed_shape(fx: &ConfigFixture) {
    // GIVEN the demo configuration, WHEN the stages are fetched
    let stages = fx.ok(event("config-api-stages")).await;
    // THEN each has exactly the seed's fields, ordered by sortOrder
    assert_eq!(
        stages[0],
        json!({"code": "lead", "displayName": "Lead", "enabled": true, "deleted": false,
            "sortOrder": 1, "createdAt": "2024-01-10T08:00:00Z", "updatedAt": "2024-01-10T08:00:00Z"})
    );
    let codes: Vec<&str> = stages
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["lead", "prospect", "client", "inactive"]);
    assert_eq!(stages[3]["enabled"], false);
    // AND sources and segments the same way
    for (kind, first) in [("sources", "referral"), ("segments", "retail")] {
        let list = fx
            .ok(at(
                "config-api-stages",
                &format!("/api/core/platformconfigs/v1/contacts/{kind}"),
            ))
            .await;
        assert_eq!(list[0]["code"], first, "{kind}");
        assert_eq!(
            list[0].as_object().unwrap().len(),
            7,
            "{kind}: the seed's seven fields"
        );
    }
}

/// Each tenant sees its own options only.
pub async fn options_are_per_tenant(fx: &ConfigFixture) {
    // GIVEN a stage only tenant B has
    let won = ConfigOption {
        code: "won_b".into(),
        display_name: "Won (B)".into(),
        enabled: true,
        deleted: false,
        sort_order: 9,
        created_at: "2024-01-10T08:00:00Z".into(),
        updated_at: "2024-01-10T08:00:00Z".into(),
    };
    fx.base
        .store
        .put_option(&TenantId::new(TENANT_B), OptionKind::Stages, &won)
        .await
        .expect("put");
    // WHEN each tenant's user fetches the stages
    let b = fx
        .ok(as_user(event("config-api-stages"), &claims_b(), TENANT_B))
        .await;
    let a = fx.ok(event("config-api-stages")).await;
    // THEN only B sees it
    assert!(b.as_array().unwrap().iter().any(|s| s["code"] == "won_b"));
    assert!(!a.as_array().unwrap().iter().any(|s| s["code"] == "won_b"));
    // AND A's user naming tenant B is refused
    let (status, code, _) = fx
        .err(as_user(event("config-api-stages"), &claims_a(), TENANT_B))
        .await;
    assert_eq!((status, code.as_str()), (403, "BE0004"));
}

/// Industries, countries (with `fields`), cities and phone codes.
pub async fn reference_lookups_have_the_seed_shapes(fx: &ConfigFixture) {
    // Industries: name/displayName pairs
    let industries = fx.ok(event("config-api-industries")).await;
    let list = industries.as_array().unwrap();
    assert!(list.contains(&json!({"name": "TECHNOLOGY", "displayName": "Technology"})));
    assert!(list.iter().all(|i| i.as_object().unwrap().len() == 2));
    // Countries with the seed's projection: exactly {cca3, name: {common}}
    let countries = fx.ok(event("config-api-countries")).await;
    let list = countries.as_array().unwrap();
    assert_eq!(list.len(), 249);
    assert!(list.contains(&json!({"cca3": "CHL", "name": {"common": "Chile"}})));
    assert!(list.contains(&json!({"cca3": "USA", "name": {"common": "United States"}})));
    assert!(list
        .iter()
        .all(|c| c.as_object().unwrap().len() == 2 && c["name"].as_object().unwrap().len() == 1));
    // Without fields: whole objects
    let full = fx
        .ok(at("config-api-countries", "/api/core/geo/v1/countries"))
        .await;
    let chl = full
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cca3"] == "CHL")
        .unwrap()
        .clone();
    assert_eq!(chl["cca2"], "CL");
    assert_eq!(chl["name"]["official"], "Republic of Chile");
    assert_eq!(chl["idd"], json!({"root": "+5", "suffixes": ["6"]}));
    // Cities by alpha-3 or alpha-2, in any case
    let by3 = fx.ok(event("config-api-cities")).await;
    let by2 = fx
        .ok(at(
            "config-api-cities",
            "/api/core/geo/v1/cities?country=cl",
        ))
        .await;
    assert_eq!(by3, by2);
    assert!(by3
        .as_array()
        .unwrap()
        .contains(&json!({"name": "Santiago", "country": "CHL"})));
    // A country without shipped cities has none
    let none = fx
        .ok(at(
            "config-api-cities",
            "/api/core/geo/v1/cities?country=ISL",
        ))
        .await;
    assert_eq!(none, json!([]));
    // Phone codes
    let phones = fx.ok(event("config-api-phone-codes")).await;
    assert!(phones.as_array().unwrap().contains(
        &json!({"cca2": "CL", "cca3": "CHL", "name": "Chile", "code": "+56", "flag": "🇨🇱"})
    ));
}

/// Bad query parameters, unknown countries and unknown fields: 400 with details.
pub async fn lookup_errors_are_precise(fx: &ConfigFixture) {
    let cases = [
        (
            "/api/core/geo/v1/cities?country=XX",
            "BE0308",
            "country: unknown country code 'XX'",
        ),
        ("/api/core/geo/v1/cities", "BE0308", "country: required"),
        (
            "/api/core/geo/v1/cities?country=",
            "BE0308",
            "country: required",
        ),
        (
            "/api/core/geo/v1/countries?fields=cca3,capital",
            "BE0309",
            "fields: unknown field 'capital'",
        ),
        (
            "/api/core/geo/v1/countries?fields=name.nope",
            "BE0309",
            "fields: unknown field 'name.nope'",
        ),
        (
            "/api/core/geo/v1/countries?fieldz=cca3",
            "BE0201",
            "fieldz: unknown query parameter",
        ),
        (
            "/api/core/geo/v1/countries?fields=cca3&fields=cca2",
            "BE0201",
            "fields: given more than once",
        ),
        (
            "/api/industries?page=1",
            "BE0201",
            "page: this endpoint takes no query parameters",
        ),
    ];
    for (path, code, detail) in cases {
        let (status, got, details) = fx.err(at("config-api-cities", path)).await;
        assert_eq!((status, got.as_str()), (400, code), "{path}: {details:?}");
        assert!(details[0].starts_with(detail), "{path}: {details:?}");
    }
    let long = format!("/api/core/geo/v1/countries?fields={}", "a".repeat(600));
    let (status, _, details) = fx.err(at("config-api-cities", &long)).await;
    assert_eq!(status, 400, "{details:?}");
}

/// The seed's v2 filter example: a stage by display name, newest first.
pub async fn v2_filter_pages_through_the_selected_rows(fx: &ConfigFixture) {
    // GIVEN the seed's example body (isActive = true, stageName in Prospect/Client)
    let body = fx.ok(event("config-api-contacts-filter")).await;
    // THEN the envelope holds the matching contacts, newest first, empty createdAt last
    assert_eq!(body["page"], 0);
    assert_eq!(body["size"], 20);
    assert_eq!(body["totalElements"], 3);
    assert_eq!(body["totalPages"], 1);
    let content = body["content"].as_array().unwrap();
    let ids: Vec<&str> = content.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c-004", "c-001", "c-005"]);
    // AND each row holds every standard column, typed, and the custom fields
    let ana = &content[1];
    assert_eq!(ana["firstName"], "Ana");
    assert_eq!(ana["stage"], "client");
    assert_eq!(ana["netWorth"], 1500.5);
    assert_eq!(ana["isActive"], true);
    assert_eq!(ana["birthDate"], "1986-09-04");
    assert_eq!(ana["createdAt"], "2024-03-10T12:00:00Z");
    assert_eq!(ana[format!("custom:cf_{CF_SCORE}")], 80.0);
    assert_eq!(ana["middleName"], Value::Null);
    // WHEN paged one row at a time, THEN the same rows come in the same order
    let (paged, total) = preview_ids(
        fx,
        "contacts",
        &body_json(&event("config-api-contacts-filter"))["filters"],
        &json!(["createdAt,desc"]),
        1,
    )
    .await;
    assert_eq!(total, 3);
    assert_eq!(paged, ids);
    // AND a page past the end is empty with the same totals
    let past = fx
        .ok(filter_req("contacts", &json!({"page": 7, "size": 2})))
        .await;
    assert_eq!(past["content"], json!([]));
    assert_eq!(
        (past["totalElements"].as_u64(), past["totalPages"].as_u64()),
        (Some(5), Some(3))
    );
}

/// The preview's ids over all pages equal the export's rows, for several
/// filters, sorts and entities.
pub async fn the_preview_and_the_export_select_the_same_rows(fx: &ConfigFixture) {
    let cases = [
        ("contacts", json!([]), "createdAt,desc"),
        (
            "contacts",
            json!([{"field": "stage", "operator": "equals", "value": "prospect"}]),
            "createdAt,desc",
        ),
        (
            "contacts",
            json!([{"field": "stageName", "operator": "in", "values": ["Client", "lead"]}]),
            "paternalLastName,asc",
        ),
        (
            "contacts",
            json!([{"field": "stage", "operator": "notIn", "values": ["client"]}, {"field": "netWorth", "operator": "greaterThanOrEqual", "value": 0}]),
            "netWorth,desc",
        ),
        (
            "contacts",
            json!([{"field": "createdAt", "operator": "between", "values": ["2024-03-01", "2024-05-31"]}]),
            "createdAt,asc",
        ),
        (
            "contacts",
            json!([{"field": format!("custom:cf_{CF_RISK_ONBOARDING}"), "operator": "isNotEmpty"}]),
            "firstName,asc",
        ),
        (
            "contacts",
            json!([{"field": "firstName", "operator": "contains", "value": "ZZZ"}]),
            "createdAt,desc",
        ),
        (
            "organisations",
            json!([{"field": "isActive", "operator": "equals", "value": true}]),
            "name,asc",
        ),
        (
            "households",
            json!([{"field": "memberCount", "operator": "lessThan", "value": 4}]),
            "createdAt,desc",
        ),
    ];
    for (entity, filters, sort) in cases {
        // WHEN the same filters are previewed page by page and exported
        let (preview, _) = preview_ids(fx, entity, &filters, &json!([sort]), 2).await;
        let export = export_ids(fx, entity, &filters, &json!(sort)).await;
        // THEN the rows and their order agree
        assert_eq!(preview, export, "{entity} {filters} {sort}");
    }
    // AND at least one case selected several rows (the check is not vacuous)
    let (all, _) = preview_ids(fx, "contacts", &json!([]), &json!(["createdAt,desc"]), 2).await;
    assert_eq!(all.len(), 5);
}

/// New filters may name enabled, undeleted options only; the preview and
/// the export refuse the same values the same way.
pub async fn disabled_and_unknown_stages_are_refused_by_preview_and_export(fx: &ConfigFixture) {
    // GIVEN the demo's disabled stage "inactive" and a deleted segment
    let tenant = TenantId::new(TENANT_A);
    let mut retail = fx
        .base
        .store
        .options(&tenant, OptionKind::Segments)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.code == "retail")
        .unwrap();
    retail.deleted = true;
    retail.enabled = false;
    fx.base
        .store
        .put_option(&tenant, OptionKind::Segments, &retail)
        .await
        .unwrap();
    let cases = [
        (
            json!({"field": "stage", "operator": "equals", "value": "inactive"}),
            "filters[0].value: stage 'inactive' is disabled",
        ),
        (
            json!({"field": "stageName", "operator": "notIn", "values": ["Inactive"]}),
            "filters[0].values: stage 'inactive' is disabled",
        ),
        (
            json!({"field": "stage", "operator": "in", "values": ["won"]}),
            "filters[0].values: unknown stage 'won'; expected one of lead, prospect, client",
        ),
        (
            json!({"field": "segment", "operator": "equals", "value": "Retail"}),
            "filters[0].value: segment 'retail' has been deleted",
        ),
    ];
    for (condition, detail) in cases {
        // WHEN previewed, THEN 400 naming the value
        let (status, code, details) = fx
            .err(filter_req("contacts", &json!({"filters": [condition]})))
            .await;
        assert_eq!((status, code.as_str()), (400, "BE0304"), "{details:?}");
        assert!(details[0].starts_with(detail), "{details:?}");
        // AND the export says the same
        let req = with_json(
            event("sync-export-contacts-csv"),
            &json!({"format": "CSV", "filters": [condition],
                "viewState": {"columns": [{"id": "id"}]}}),
        );
        let resp = fx.base.call(req).await;
        let body = json_body(&resp);
        assert_eq!(resp.status(), 400);
        assert_eq!(body["errorCode"], "BE0304");
        assert_eq!(body["details"][0], details[0].as_str());
    }
    // AND free-text operators on a stage are not checked
    let body = fx
        .ok(filter_req(
            "contacts",
            &json!({"filters": [{"field": "stage", "operator": "startsWith", "value": "inac"}]}),
        ))
        .await;
    assert_eq!(body["totalElements"], 0);
}

/// Distinct values with counts under base filters, paginated.
pub async fn filter_values_count_distinct_values(fx: &ConfigFixture) {
    // GIVEN the seed's example (stageName under isActive = true)
    let body = fx.ok(event("config-api-contacts-filter-values")).await;
    // THEN the active contacts' stages are counted, most frequent first
    assert_eq!(
        body,
        json!({"content": [
            {"value": "client", "displayName": "Client", "count": 2},
            {"value": "lead", "displayName": "Lead", "count": 1},
            {"value": "prospect", "displayName": "Prospect", "count": 1}
        ], "page": 0, "size": 20, "totalElements": 3, "totalPages": 1})
    );
    // WHEN a field with empty values is asked, page by page
    let req = |page: u64| {
        with_json(
            event("config-api-contacts-filter-values"),
            &json!({"field": "createdAt", "page": page, "size": 3}),
        )
    };
    let first = fx.ok(req(0)).await;
    let second = fx.ok(req(1)).await;
    // THEN the empty bucket is last, and the pages split the values
    assert_eq!(first["totalElements"], 4);
    assert_eq!(first["totalPages"], 2);
    assert_eq!(
        first["content"][0],
        json!({"value": "2024-05-01T03:30:00Z", "count": 2})
    );
    assert_eq!(second["content"], json!([{"value": null, "count": 1}]));
    // AND on organisations, a number field
    let orgs = fx
        .ok(with_json(
            at("config-api-contacts-filter-values", "/api/organisations/filter-values"),
            &json!({"field": "industry", "baseFilters": [{"field": "isActive", "operator": "equals", "value": true}]}),
        ))
        .await;
    assert_eq!(
        orgs["content"],
        json!([{"value": "HEALTHCARE", "count": 1}, {"value": "TECHNOLOGY", "count": 1}])
    );
}

/// Every field of the v2 bodies has a precise 4xx.
pub async fn v2_errors_are_precise(fx: &ConfigFixture) {
    let filter = |b: Value| filter_req("contacts", &b);
    let values = |b: Value| with_json(event("config-api-contacts-filter-values"), &b);
    let cases: Vec<(Request, u16, &str, &str)> = vec![
        (
            filter(json!({"filters": [{"field": "shoeSize", "operator": "equals", "value": 1}]})),
            400,
            "BE0304",
            "filters[0].field: unknown column 'shoeSize'",
        ),
        (
            filter(json!({"filters": [{"field": "stage", "operator": "like", "value": "x"}]})),
            400,
            "BE0304",
            "filters[0].operator: unknown operator 'like'",
        ),
        (
            filter(
                json!({"filters": [{"field": "netWorth", "operator": "contains", "value": "1"}]}),
            ),
            400,
            "BE0304",
            "filters[0].operator: operator 'contains' does not apply",
        ),
        (
            filter(
                json!({"filters": [{"field": "netWorth", "operator": "equals", "value": "lots"}]}),
            ),
            400,
            "BE0304",
            "filters[0].value: expected a number",
        ),
        (
            filter(json!({"sort": ["shoeSize,desc"]})),
            400,
            "BE0303",
            "sort[0]: unknown column 'shoeSize'",
        ),
        (
            filter(json!({"sort": ["createdAt,sideways"]})),
            400,
            "BE0303",
            "sort[0]: direction must be asc or desc",
        ),
        (
            filter(json!({"sort": ["createdAt,desc", "id,asc"]})),
            400,
            "BE0303",
            "sort: at most 1 sort order",
        ),
        (
            filter(json!({"sort": "createdAt,desc"})),
            400,
            "BE0201",
            "sort: invalid type",
        ),
        (
            filter(json!({"page": -1})),
            400,
            "BE0307",
            "page: must be between 0 and 1000000",
        ),
        (
            filter(json!({"size": 0})),
            400,
            "BE0307",
            "size: must be between 1 and 200, got 0",
        ),
        (
            filter(json!({"size": 201})),
            400,
            "BE0307",
            "size: must be between 1 and 200, got 201",
        ),
        (
            filter(json!({"page": "1"})),
            400,
            "BE0201",
            "page: invalid type",
        ),
        (
            filter(json!({"page": 1.5})),
            400,
            "BE0201",
            "page: invalid type",
        ),
        (
            filter(json!({"filter": []})),
            400,
            "BE0201",
            "filter: unknown field",
        ),
        (
            filter(json!({"timezone": "Mars/Olympus"})),
            400,
            "BE0306",
            "timezone:",
        ),
        (
            filter(json!([1])),
            400,
            "BE0201",
            "body: expected a JSON object",
        ),
        (
            with_body(event("config-api-contacts-filter"), "{\"page\":"),
            400,
            "BE0202",
            "",
        ),
        (
            values(json!({"baseFilters": []})),
            400,
            "BE0201",
            "body: missing field `field`",
        ),
        (
            values(json!({"field": "shoeSize"})),
            400,
            "BE0304",
            "field: unknown column 'shoeSize'",
        ),
        (
            values(
                json!({"field": "stage", "baseFilters": [{"field": "x", "operator": "equals", "value": 1}]}),
            ),
            400,
            "BE0304",
            "baseFilters[0].field: unknown column 'x'",
        ),
        (
            values(json!({"field": "stage", "size": 500})),
            400,
            "BE0307",
            "size: must be between 1 and 200",
        ),
        (
            with_body(
                event("config-api-contacts-filter"),
                "x".repeat(1024 * 1024 + 1),
            ),
            413,
            "BE0413",
            "body: at most",
        ),
        (
            with_header(
                event("config-api-contacts-filter"),
                "content-type",
                "text/plain",
            ),
            415,
            "BE0415",
            "Content-Type",
        ),
        (
            at("config-api-contacts-filter", "/api/activities/filter"),
            404,
            "BE0404",
            "",
        ),
    ];
    for (req, status, code, detail) in cases {
        let (got_status, got_code, details) = fx.err(req).await;
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "{detail}: {details:?}"
        );
        if !detail.is_empty() {
            assert!(
                details.first().is_some_and(|d| d.starts_with(detail)),
                "{detail}: {details:?}"
            );
        }
    }
}

/// 401 without a token, 403 for another tenant, 405 with `Allow`, on every route.
pub async fn auth_and_methods_on_every_route(fx: &ConfigFixture) {
    for name in [
        "config-api-stages",
        "config-api-industries",
        "config-api-countries",
        "config-api-cities",
        "config-api-phone-codes",
        "config-api-contacts-filter",
        "config-api-contacts-filter-values",
    ] {
        let (status, code, _) = fx.err(without_header(event(name), "authorization")).await;
        assert_eq!((status, code.as_str()), (401, "BE0001"), "{name}");
        let (status, code, _) = fx
            .err(with_header(event(name), "authorization", "Bearer nope"))
            .await;
        assert_eq!((status, code.as_str()), (401, "BE0002"), "{name}");
        let (status, code, _) = fx
            .err(with_header(event(name), "x-tenant-uuid", TENANT_B))
            .await;
        assert_eq!((status, code.as_str()), (403, "BE0004"), "{name}");
        let (status, code, _) = fx.err(without_header(event(name), "x-user-id")).await;
        assert_eq!((status, code.as_str()), (400, "BE0010"), "{name}");
        // The wrong method: 405 with the resource's own Allow
        let req = event(name);
        let post = req.method() == http::Method::POST;
        let (mut parts, body) = req.into_parts();
        parts.method = if post {
            http::Method::GET
        } else {
            http::Method::DELETE
        };
        let resp = fx.call(http::Request::from_parts(parts, body)).await;
        assert_eq!(resp.status(), 405, "{name}");
        assert_eq!(
            resp.headers()["allow"],
            if post { "POST" } else { "GET" },
            "{name}"
        );
    }
}

/// Tenant B's user never sees tenant A's rows or values, and vice versa.
pub async fn previews_and_values_are_tenant_scoped(fx: &ConfigFixture) {
    // WHEN B's user previews every contact
    let b = fx
        .ok(as_user(
            filter_req("contacts", &json!({})),
            &claims_b(),
            TENANT_B,
        ))
        .await;
    // THEN only B's contacts come back
    let ids: Vec<&str> = b["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c-b02", "c-b01"]);
    // AND B's values are B's
    let values = fx
        .ok(as_user(
            with_json(
                event("config-api-contacts-filter-values"),
                &json!({"field": "paternalLastName"}),
            ),
            &claims_b(),
            TENANT_B,
        ))
        .await;
    assert_eq!(values["content"], json!([{"value": "OnlyInB", "count": 2}]));
    // AND A's preview holds no B row
    let a = fx.ok(filter_req("contacts", &json!({"size": 200}))).await;
    assert!(a["content"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| !r["id"].as_str().unwrap().starts_with("c-b")));
}
