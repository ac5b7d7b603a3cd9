//! `POST /api/exports/{entity}` driven by the sample events of `events/`:
//! the seed's two examples, every error row, and tenant isolation.

use calamine::{Data, DataType};
use exports_shared::model::{TenantId, TenantSettings};
use exports_shared::store::TenantConfigStore;
use exports_tests::*;
use serde_json::json;

fn header<'a>(resp: &'a lambda_http::Response<lambda_http::Body>, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn seed_example_1_exports_active_contacts_to_csv() {
    // GIVEN tenant A's contacts and the seed's first curl example as an event
    let fx = Fixture::new().await;
    // WHEN it is handled
    let resp = fx.call(event("sync-export-contacts-csv")).await;
    // THEN a CSV file comes back with the seed's headers
    assert_eq!(
        resp.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(&bytes(&resp))
    );
    assert_eq!(header(&resp, "content-type"), "text/csv;charset=UTF-8");
    let disposition = header(&resp, "content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"contacts_2"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".csv\""), "{disposition}");
    let rows = csv_rows(&resp);
    // AND the columns are in request order with labels as headers
    assert_eq!(
        rows[0],
        ["First Name", "Last Name", "Email", "Stage", "Created"]
    );
    // AND only ACTIVE contacts, newest first, ties by id, empty createdAt last,
    // stage shown by its display name, times in New York (EDT in May, EST in March)
    let body: Vec<Vec<&str>> = rows[1..]
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        body,
        vec![
            vec![
                "'=cmd|' /C calc'!A0",
                "Muñoz",
                "hostile@a.test",
                "Prospect",
                "2024-04-30T23:30:00-04:00"
            ],
            vec![
                "María",
                "Soto",
                "maria@a.test",
                "Prospect",
                "2024-04-30T23:30:00-04:00"
            ],
            vec![
                "Ana",
                "González",
                "ana@a.test",
                "Client",
                "2024-03-10T08:00:00-04:00"
            ],
            vec!["Zoë", "Díaz", "zoe@a.test", "Client", ""],
        ]
    );
    assert_eq!(header(&resp, "x-export-rows"), "4");
}

#[tokio::test]
async fn seed_example_2_exports_households_to_xlsx_in_es_cl_and_santiago_time() {
    let fx = Fixture::new().await;
    let resp = fx.call(event("sync-export-households-xlsx")).await;
    assert_eq!(
        resp.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(&bytes(&resp))
    );
    assert_eq!(
        header(&resp, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(header(&resp, "content-disposition").contains("households_"));
    assert!(header(&resp, "content-disposition").ends_with(".xlsx\""));
    let rows = xlsx_rows(&resp);
    assert_eq!(
        rows[0],
        [
            Data::String("Household".into()),
            Data::String("Active".into()),
            Data::String("Created".into())
        ]
    );
    // Default sort: createdAt DESC. Across the DST change an hour apart in UTC
    // shows the same wall-clock time in Santiago (-03 then -04).
    assert_eq!(rows[1][0], Data::String("Familia Soto".into()));
    assert_eq!(rows[1][1], Data::Bool(false));
    assert_eq!(
        rows[1][2].as_datetime().map(|d| d.to_string()),
        Some("2024-04-06 23:30:00".into())
    );
    assert_eq!(rows[2][0], Data::String("Familia González".into()));
    assert_eq!(
        rows[2][2].as_datetime().map(|d| d.to_string()),
        Some("2024-04-06 23:30:00".into())
    );
    // Text that looks like a formula is a string cell, not a formula.
    assert_eq!(rows[3][0], Data::String("@Familia Rojas".into()));
    assert_eq!(
        rows[3][2].as_datetime().map(|d| d.to_string()),
        Some("2024-01-15 10:00:00".into())
    );
    assert_eq!(rows.len(), 4);
}

#[tokio::test]
async fn es_cl_csv_shows_day_month_year_and_decimal_commas() {
    let fx = Fixture::new().await;
    let resp = fx.call(event("sync-export-organisations-csv")).await;
    assert_eq!(
        resp.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(&bytes(&resp))
    );
    let rows = csv_rows(&resp);
    assert_eq!(rows[0], ["Organisation", "Industry", "Revenue", "Tier"]);
    assert_eq!(rows[1], ["Andes SpA", "TECHNOLOGY", "1234567,5", "gold"]);
    assert_eq!(rows[2], ["Condor S.A.", "HEALTHCARE", "", ""]);
    assert_eq!(rows.len(), 3, "inactive Beta Ltda. is filtered out");

    // The same locale on a date column is day/month/year.
    let mut req = event("sync-export-contacts-csv");
    let mut body = body_json(&req);
    body["locale"] = json!("es-CL");
    body["timezone"] = json!("America/Santiago");
    body["viewState"]["columns"] =
        json!([{"id": "birthDate", "label": "Born", "type": "DATE"}, {"id": "netWorth"}]);
    body["viewState"]["sort"] = json!({"field": "netWorth", "direction": "ASC"});
    req = with_json(req, &body);
    let rows = csv_rows(&fx.call(req).await);
    assert_eq!(rows[1], ["31/01/1990", "-20"]);
    assert_eq!(rows[2], ["04/09/1986", "1500,5"]);
}

#[tokio::test]
async fn custom_fields_by_uuid_by_form_and_all_of_them() {
    let fx = Fixture::new().await;
    let req = event("sync-export-contacts-csv");
    let mut body = body_json(&req);
    body["filters"] = json!([]);
    body["viewState"]["sort"] = json!({"field": "id", "direction": "ASC"});
    // By key with formUuid: the review form's risk_profile.
    body["viewState"]["columns"] = json!([
        {"id": "id", "label": "Id"},
        {"id": "custom:cf_risk_profile", "label": "Review risk", "custom": true, "formUuid": exports_local::demo::FORM_REVIEW},
        {"id": format!("custom:cf_{CF_SCORE}"), "label": "Score", "custom": true, "type": "NUMBER"}
    ]);
    let rows = csv_rows(
        &fx.call(with_json(event("sync-export-contacts-csv"), &body))
            .await,
    );
    assert_eq!(rows[0], ["Id", "Review risk", "Score"]);
    assert_eq!(rows[1], ["c-001", "", "80"]);
    assert_eq!(rows[2], ["c-002", "high", ""]);

    // Ambiguous without formUuid.
    body["viewState"]["columns"] = json!([{"id": "custom:cf_risk_profile"}]);
    let resp = fx
        .call(with_json(event("sync-export-contacts-csv"), &body))
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(json_body(&resp)["errorCode"], "BE0302");

    // includeAllCustomFields appends every contact custom field with its label.
    body["viewState"]["columns"] = json!([{"id": "id", "label": "Id"}]);
    body["includeAllCustomFields"] = json!(true);
    let rows = csv_rows(
        &fx.call(with_json(event("sync-export-contacts-csv"), &body))
            .await,
    );
    assert_eq!(
        rows[0],
        [
            "Id",
            "KYC review",
            "Risk profile (onboarding)",
            "Risk profile (review)",
            "Score"
        ]
    );
    assert_eq!(rows[1], ["c-001", "", "low", "", "80"]);
}

#[tokio::test]
async fn sort_by_any_column_either_way_is_stable() {
    let fx = Fixture::new().await;
    let req = event("sync-export-contacts-csv");
    let mut body = body_json(&req);
    body["filters"] = json!([]);
    body["viewState"]["columns"] = json!([{"id": "id"}, {"id": "stageName", "label": "Stage"}]);
    body["viewState"]["sort"] = json!({"field": "stageName", "direction": "ASC"});
    let rows = csv_rows(&fx.call(with_json(req, &body)).await);
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["c-001", "c-005", "c-003", "c-002", "c-004"]);
    body["viewState"]["sort"] = json!({"field": "stage", "direction": "DESC"});
    let rows = csv_rows(
        &fx.call(with_json(event("sync-export-contacts-csv"), &body))
            .await,
    );
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["c-002", "c-004", "c-003", "c-001", "c-005"]);
}

/// An edit of a request body.
type Edit = fn(&mut serde_json::Value);

/// Sends the contacts event with an edited body and returns (status, errorCode, details).
async fn error_of(
    fx: &Fixture,
    edit: impl FnOnce(&mut serde_json::Value),
) -> (u16, String, Vec<String>) {
    let req = event("sync-export-contacts-csv");
    let mut body = body_json(&req);
    edit(&mut body);
    let resp = fx.call(with_json(req, &body)).await;
    decode(resp)
}

fn decode(resp: lambda_http::Response<lambda_http::Body>) -> (u16, String, Vec<String>) {
    let status = resp.status().as_u16();
    let body = json_body(&resp);
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["timestamp"].is_string() && body["path"].is_string() && body["message"].is_string()
    );
    let details = body["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (
        status,
        body["errorCode"].as_str().unwrap_or_default().to_string(),
        details,
    )
}

#[tokio::test]
async fn every_error_row_of_the_seed() {
    let fx = Fixture::new().await;

    // No rows to export.
    let (s, c, _) =
        error_of(
            &fx,
            |b| {
                b["filters"] =
                    json!([{"field": "firstName", "operator": "equals", "value": "Nobody"}])
            },
        )
        .await;
    assert_eq!((s, c.as_str()), (400, "BE0310"));

    // Row limit exceeded.
    let a = TenantId::new(TENANT_A);
    fx.store
        .put_settings(
            &a,
            &TenantSettings {
                sync_row_limit: 3,
                ..TenantSettings::default()
            },
        )
        .await
        .unwrap();
    let (s, c, d) = error_of(&fx, |b| b["filters"] = json!([])).await;
    assert_eq!((s, c.as_str()), (400, "BE0311"));
    assert_eq!(d, ["more than 3 rows match; apply tighter filters"]);
    fx.store
        .put_settings(&a, &TenantSettings::default())
        .await
        .unwrap();

    // Invalid column: every bad column is named.
    let resp = fx.call(event("sync-export-invalid-column")).await;
    let (s, c, d) = decode(resp);
    assert_eq!((s, c.as_str()), (400, "BE0302"));
    assert_eq!(
        d,
        ["viewState.columns[0].id: unknown column 'shoeSize' for contacts"]
    );
    let (_, c, d) = error_of(&fx, |b| {
        b["viewState"]["columns"] = json!([{"id": "name"}, {"id": "firstName", "type": "NUMBER"}, {"id": "firstName", "custom": true}])
    })
    .await;
    assert_eq!(c, "BE0302");
    assert_eq!(d.len(), 3, "{d:?}");

    // No columns supplied: empty, missing, or no viewState.
    for edit in [
        (|b: &mut serde_json::Value| b["viewState"]["columns"] = json!([]))
            as fn(&mut serde_json::Value),
        |b| {
            b["viewState"].as_object_mut().unwrap().remove("columns");
        },
        |b| {
            b.as_object_mut().unwrap().remove("viewState");
        },
    ] {
        let (s, c, _) = error_of(&fx, edit).await;
        assert_eq!((s, c.as_str()), (400, "BE0301"));
    }

    // Unauthorized: missing, expired, forged.
    let resp = fx
        .call(without_header(
            event("sync-export-contacts-csv"),
            "authorization",
        ))
        .await;
    assert_eq!(decode(resp).0, 401);
    let mut expired = claims_a();
    expired.exp = chrono::Utc::now().timestamp() - 120;
    let resp = fx
        .call(as_user(
            event("sync-export-contacts-csv"),
            &expired,
            TENANT_A,
        ))
        .await;
    assert_eq!(decode(resp).1, "BE0002");
    let forged = exports_shared::auth::mint_hs256(&claims_a(), b"not-the-secret-at-all").unwrap();
    let resp = fx
        .call(with_header(
            event("sync-export-contacts-csv"),
            "authorization",
            &format!("Bearer {forged}"),
        ))
        .await;
    assert_eq!(decode(resp).0, 401);

    // Forbidden: a role that may not export.
    let mut contact = claims_a();
    contact.roles = vec!["CONTACT".into()];
    let resp = fx
        .call(as_user(
            event("sync-export-contacts-csv"),
            &contact,
            TENANT_A,
        ))
        .await;
    assert_eq!(decode(resp), (403, "BE0003".into(), vec![]));
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
            |b| b["viewState"]["columns"][0]["extra"] = json!(1),
            400,
            "BE0201",
            "viewState.columns[0].extra: unknown field `extra`",
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
async fn a_user_of_tenant_a_gets_nothing_of_tenant_b_whatever_headers_they_send() {
    let fx = Fixture::new().await;
    // GIVEN a user of tenant A naming tenant B in the header
    let (s, c, _) = decode(
        fx.call(as_user(
            event("sync-export-contacts-csv"),
            &claims_a(),
            TENANT_B,
        ))
        .await,
    );
    // THEN 403, not B's rows
    assert_eq!((s, c.as_str()), (403, "BE0004"));
    // GIVEN B's user id and email in A's headers with A's token, THEN 403
    let req = with_header(event("sync-export-contacts-csv"), "x-user-id", USER_B);
    assert_eq!(decode(fx.call(req).await).0, 403);

    // WHEN A exports everything, THEN none of B's records are there
    let mut body = body_json(&event("sync-export-contacts-csv"));
    body["filters"] = json!([]);
    body["viewState"]["columns"] = json!([{"id": "id"}, {"id": "paternalLastName"}]);
    let rows = csv_rows(
        &fx.call(with_json(event("sync-export-contacts-csv"), &body))
            .await,
    );
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r[1] != "OnlyInB"));

    // AND B's user sees only B's records
    let req = as_user(
        with_json(event("sync-export-contacts-csv"), &body),
        &claims_b(),
        TENANT_B,
    );
    let rows = csv_rows(&fx.call(req).await);
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["c-b02", "c-b01"]);

    // AND B's organisations (none) are not A's: an export finds no rows
    let req = as_user(
        event("sync-export-organisations-csv"),
        &claims_b(),
        TENANT_B,
    );
    assert_eq!(decode(fx.call(req).await).1, "BE0310");
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
