//! `POST /api/exports/{entity}` driven by the sample events of `events/`:
//! the seed's two examples, every error row, and tenant isolation.

use exports_tests::sync_export_cases::{self as cases, decode, error_of, header};
use exports_tests::*;
use serde_json::json;

#[tokio::test]
async fn seed_example_1_exports_active_contacts_to_csv() {
    cases::seed_example_1_exports_active_contacts_to_csv(&Fixture::new().await).await;
}

#[tokio::test]
async fn seed_example_2_exports_households_to_xlsx_in_es_cl_and_santiago_time() {
    cases::seed_example_2_exports_households_to_xlsx_in_es_cl_and_santiago_time(
        &Fixture::new().await,
    )
    .await;
}

#[tokio::test]
async fn es_cl_csv_shows_day_month_year_and_decimal_commas() {
    cases::es_cl_csv_shows_day_month_year_and_decimal_commas(&Fixture::new().await).await;
}

#[tokio::test]
async fn an_omitted_locale_formats_iso_8601_whatever_the_tenant_default() {
    cases::an_omitted_locale_formats_iso_8601_whatever_the_tenant_default(&Fixture::new().await)
        .await;
}

#[tokio::test]
async fn custom_fields_by_uuid_by_form_and_all_of_them() {
    cases::custom_fields_by_uuid_by_form_and_all_of_them(&Fixture::new().await).await;
}

#[tokio::test]
async fn sort_by_any_column_either_way_is_stable() {
    cases::sort_by_any_column_either_way_is_stable(&Fixture::new().await).await;
}

/// An edit of a request body.
type Edit = fn(&mut serde_json::Value);

#[tokio::test]
async fn every_error_row_of_the_seed() {
    cases::every_error_row_of_the_seed(&Fixture::new().await).await;
}

#[tokio::test]
async fn bad_input_of_every_field_is_a_precise_4xx() {
    let fx = Fixture::new().await;
    let cases: Vec<(Edit, u16, &str, &str)> = vec![
        (
            |b| b["format"] = json!("PDF"),
            400,
            "BE0201",
            "format: unknown variant `PDF`",
        ),
        (
            |b| b["format"] = json!(1),
            400,
            "BE0201",
            "format: invalid type",
        ),
        (
            |b| {
                b.as_object_mut().unwrap().remove("format");
            },
            400,
            "BE0201",
            "body: missing field `format`",
        ),
        (
            |b| b["locale"] = json!("es_CL!"),
            400,
            "BE0305",
            "locale: locale 'es_CL!' is not a valid BCP 47 tag",
        ),
        (
            |b| b["locale"] = json!(42),
            400,
            "BE0201",
            "locale: invalid type",
        ),
        (
            |b| b["timezone"] = json!("Mars/Olympus"),
            400,
            "BE0306",
            "timezone: timezone 'Mars/Olympus' is not a known IANA zone",
        ),
        (
            |b| b["viewState"]["sort"] = json!({"field": "shoeSize"}),
            400,
            "BE0303",
            "viewState.sort.field: unknown column 'shoeSize'",
        ),
        (
            |b| b["viewState"]["sort"] = json!({"field": "id", "direction": "SIDEWAYS"}),
            400,
            "BE0201",
            "viewState.sort.direction: unknown variant",
        ),
        (
            |b| b["viewState"]["columns"][0]["label"] = json!(["x"]),
            400,
            "BE0201",
            "viewState.columns[0].label: invalid type",
        ),
        (
            |b| b["viewState"]["columns"][0]["formUuid"] = json!(7),
            400,
            "BE0201",
            "viewState.columns[0].formUuid: invalid type",
        ),
        (
            |b| {
                b["filters"] =
                    json!([{"field": "netWorth", "operator": "greaterThan", "value": "rich"}])
            },
            400,
            "BE0304",
            "filters[0].value: expected a number",
        ),
        (
            |b| b["filters"] = json!([{"field": "nope", "operator": "equals", "value": "x"}]),
            400,
            "BE0304",
            "filters[0].field: unknown column 'nope'",
        ),
        (
            |b| b["filters"] = json!([{"field": "firstName", "operator": "regex", "value": "x"}]),
            400,
            "BE0304",
            "filters[0].operator: unknown operator 'regex'",
        ),
        (
            |b| b["filters"] = json!("contactType=ACTIVE"),
            400,
            "BE0201",
            "filters: invalid type",
        ),
        (
            |b| b["includeAllCustomFields"] = json!("true"),
            400,
            "BE0201",
            "includeAllCustomFields: invalid type",
        ),
        (
            |b| b["uiScreenName"] = json!("<script>"),
            400,
            "BE0201",
            "uiScreenName: only letters",
        ),
        (
            |b| b["surprise"] = json!(true),
            400,
            "BE0201",
            "surprise: unknown field `surprise`",
        ),
    ];
    for (edit, status, code, detail) in cases {
        let (s, c, d) = error_of(&fx, edit).await;
        assert_eq!((s, c.as_str()), (status, code), "{detail}: {d:?}");
        assert!(
            d.iter().any(|x| x.starts_with(detail)),
            "expected a detail starting {detail:?}, got {d:?}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_methods_paths_media_types_and_sizes() {
    let fx = Fixture::new().await;
    let resp = fx
        .call(with_body(
            event("sync-export-contacts-csv"),
            "{\"format\": \"CSV\",",
        ))
        .await;
    assert_eq!(decode(resp).1, "BE0202");
    let resp = fx
        .call(with_body(event("sync-export-contacts-csv"), ""))
        .await;
    assert_eq!(decode(resp).1, "BE0202");
    let resp = fx
        .call(with_body(event("sync-export-contacts-csv"), "[]"))
        .await;
    assert_eq!(decode(resp).1, "BE0201");

    let resp = fx
        .call(with_header(
            event("sync-export-contacts-csv"),
            "content-type",
            "text/plain",
        ))
        .await;
    assert_eq!(
        decode(resp),
        (
            415,
            "BE0415".into(),
            vec!["Content-Type: must be application/json".into()]
        )
    );

    let huge = format!(
        "{{\"format\":\"CSV\",\"uiScreenName\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let resp = fx
        .call(with_body(event("sync-export-contacts-csv"), huge))
        .await;
    assert_eq!(decode(resp).0, 413);

    let mut req = event("sync-export-contacts-csv");
    *req.method_mut() = http::Method::GET;
    let resp = fx.call(req).await;
    assert_eq!(header(&resp, "allow"), "POST");
    assert_eq!(decode(resp).1, "BE0405");

    for path in [
        "/api/exports/activities",
        "/api/exports/contacts/extra",
        "/api/exports",
    ] {
        let mut req = event("sync-export-contacts-csv");
        *req.uri_mut() = path.parse().unwrap();
        let (s, c, _) = decode(fx.call(req).await);
        assert_eq!((s, c.as_str()), (404, "BE0404"), "{path}");
    }
    // A trailing slash is the same route.
    let mut req = event("sync-export-contacts-csv");
    *req.uri_mut() = "/api/exports/contacts/".parse().unwrap();
    assert_eq!(fx.call(req).await.status(), 200);
}

#[tokio::test]
async fn context_headers_are_required_and_must_match_the_token() {
    let fx = Fixture::new().await;
    for name in ["x-tenant-uuid", "x-user-email", "x-user-id", "x-user-type"] {
        let (s, c, _) = decode(
            fx.call(without_header(event("sync-export-contacts-csv"), name))
                .await,
        );
        assert_eq!((s, c.as_str()), (400, "BE0010"), "{name}");
    }
    let (s, c, _) = decode(
        fx.call(with_header(
            event("sync-export-contacts-csv"),
            "x-user-type",
            "ROBOT",
        ))
        .await,
    );
    assert_eq!((s, c.as_str()), (400, "BE0011"));
    let (s, c, _) = decode(
        fx.call(with_header(
            event("sync-export-contacts-csv"),
            "x-user-email",
            "eve@evil.test",
        ))
        .await,
    );
    assert_eq!((s, c.as_str()), (403, "BE0005"));
    let (s, c, _) = decode(
        fx.call(with_header(
            event("sync-export-contacts-csv"),
            "x-user-type",
            "PARTNER_STAFF",
        ))
        .await,
    );
    assert_eq!((s, c.as_str()), (403, "BE0005"));
}

#[tokio::test]
async fn a_contact_user_is_refused_even_with_a_staff_role() {
    // GIVEN a CONTACT user of tenant A whose token also holds TENANT_STAFF,
    // and an x-user-type that agrees with the token
    let fx = Fixture::new().await;
    let mut contact = claims_a();
    contact.user_type = "CONTACT".into();
    let req = with_header(
        as_user(event("sync-export-contacts-csv"), &contact, TENANT_A),
        "x-user-type",
        "CONTACT",
    );
    // WHEN it asks for an export
    let resp = fx.call(req).await;
    // THEN it is forbidden, as a user without an export role is
    assert_eq!(resp.status(), 403);
    let (_, c, _) = decode(resp);
    assert_eq!(c, "BE0003");
}

#[tokio::test]
async fn a_user_of_tenant_a_gets_nothing_of_tenant_b_whatever_headers_they_send() {
    cases::a_user_of_tenant_a_gets_nothing_of_tenant_b_whatever_headers_they_send(
        &Fixture::new().await,
    )
    .await;
}

#[tokio::test]
async fn hostile_json_never_causes_a_5xx() {
    // GIVEN many odd bodies, WHEN each is sent, THEN every answer is 200 or 4xx.
    let fx = Fixture::new().await;
    let odd = [
        "null", "true", "\"CSV\"", "{}", "{\"format\":null}", "{\"format\":\"CSV\",\"viewState\":null}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":null}}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[null]}}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{}]}}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"\"}]}}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"id\"}]},\"filters\":[{}]}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"id\"}]},\"filters\":[{\"field\":\"netWorth\",\"operator\":\"between\",\"values\":[null,1]}]}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"id\"}]},\"filters\":[{\"field\":\"createdAt\",\"operator\":\"in\",\"values\":[\"2024-01-01T00:00:00+99:00\"]}]}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"id\"}]},\"locale\":\"\"}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"id\"}]},\"timezone\":\"\"}",
        "{\"format\":\"XLSX\",\"viewState\":{\"columns\":[{\"id\":\"birthDate\",\"type\":\"STRING\"},{\"id\":\"createdAt\",\"type\":\"DATE\"}]},\"locale\":\"ar-EG\"}",
        "{\"format\":\"CSV\",\"viewState\":{\"columns\":[{\"id\":\"id\"}]},\"filters\":[{\"field\":\"netWorth\",\"operator\":\"equals\",\"value\":1e400}]}",
        "\u{0}\u{1}", "{\"format\":\"CSV\"\u{0}}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
    ];
    for body in odd {
        let resp = fx
            .call(with_body(event("sync-export-contacts-csv"), body))
            .await;
        let s = resp.status().as_u16();
        assert!(s == 200 || (400..500).contains(&s), "{body} gave {s}");
    }
}

#[tokio::test]
async fn the_deployment_cap_bounds_every_tenants_row_limit() {
    // GIVEN tenant A's default limit (100,000) and a deployment cap of 3
    let mut fx = Fixture::new().await;
    fx.deps.max_sync_rows = Some(3);
    let mut body = body_json(&event("sync-export-contacts-csv"));
    body["filters"] = json!([]);
    // WHEN 5 rows match, THEN the cap applies
    let resp = fx
        .call(with_json(event("sync-export-contacts-csv"), &body))
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(json_body(&resp)["errorCode"], "BE0311");
    // AND a cap above the match count changes nothing
    fx.deps.max_sync_rows = Some(5);
    let resp = fx
        .call(with_json(event("sync-export-contacts-csv"), &body))
        .await;
    assert_eq!(resp.status(), 200);
}
