//! Cases of the v2 lists: preview pages, agreement with the export, option
//! checks, filter values, errors and tenant scoping.

use super::*;
use exports_shared::model::{OptionKind, TenantId};
use serde_json::{json, Value};

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

/// Several sort keys apply in order, empty values last, the id breaking ties.
pub async fn several_sort_keys_order_the_preview(fx: &ConfigFixture) {
    // GIVEN five contacts, two sharing a stage and a createdAt, one without createdAt
    // WHEN previewed by stage ascending, then createdAt descending
    let (ids, total) = preview_ids(
        fx,
        "contacts",
        &json!([]),
        &json!(["stage,asc", "createdAt,desc"]),
        2,
    )
    .await;
    // THEN client (newest first, empty last), lead, prospect (tie broken by id)
    assert_eq!(total, 5);
    assert_eq!(ids, ["c-001", "c-005", "c-003", "c-002", "c-004"]);
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
    // AND the empty bucket stays last when it is the most frequent value
    let births = fx
        .ok(with_json(
            event("config-api-contacts-filter-values"),
            &json!({"field": "birthDate"}),
        ))
        .await;
    let content = births["content"].as_array().expect("content");
    assert!(content.len() >= 2, "{births}");
    let last = content.last().expect("an entry");
    assert_eq!(last["value"], Value::Null, "{births}");
    assert!(
        last["count"].as_u64() > content[0]["count"].as_u64(),
        "{births}"
    );
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
            filter(json!({"sort": ["stage", "createdAt,desc", "city", "country", "id", "phone"]})),
            400,
            "BE0303",
            "sort: at most 5 sort orders are supported, got 6",
        ),
        (
            filter(json!({"sort": ["stage,asc", "createdAt,up"]})),
            400,
            "BE0303",
            "sort[1]: direction must be asc or desc",
        ),
        (
            filter(json!({"sort": ["stage,asc", "shoeSize"]})),
            400,
            "BE0303",
            "sort[1]: unknown column 'shoeSize'",
        ),
        (
            filter(json!({"page": 2500, "size": 20})),
            400,
            "BE0307",
            "page: (page + 1) × size may be at most 50000",
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
