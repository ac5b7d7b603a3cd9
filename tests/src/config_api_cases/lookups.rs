//! Cases of the lookups: option lists, reference data, their errors, and
//! auth on every route.

use super::*;
use exports_shared::model::{ConfigOption, OptionKind, TenantId};
use serde_json::json;

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
    assert_eq!(chl["name"]["official"], "Chile");
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
