//! Handler tests of `POST /api/exports/{entity}` that depend on storage,
//! written once over a [`Fixture`] and run on every backend:
//! `tests/sync_export.rs` runs them on the embedded store and
//! `tests/sync_export_aws.rs` on DynamoDB (moto).

use crate::*;
use calamine::{Data, DataType};
use exports_shared::model::{TenantId, TenantSettings};
use serde_json::json;

/// A response header, `""` when absent.
pub fn header<'a>(resp: &'a lambda_http::Response<lambda_http::Body>, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The seed's first example: active contacts to CSV, in request column order.
pub async fn seed_example_1_exports_active_contacts_to_csv(fx: &Fixture) {
    // GIVEN tenant A's contacts and the seed's first curl example as an event
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

/// The seed's second example: households to XLSX in `es-CL` and Santiago time.
pub async fn seed_example_2_exports_households_to_xlsx_in_es_cl_and_santiago_time(fx: &Fixture) {
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

/// `es-CL` CSV: day/month/year dates and decimal commas.
pub async fn es_cl_csv_shows_day_month_year_and_decimal_commas(fx: &Fixture) {
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

/// An omitted `locale` is ISO 8601, as the API document says, whatever the
/// tenant's default locale; the tenant default still gives the timezone.
pub async fn an_omitted_locale_formats_iso_8601_whatever_the_tenant_default(fx: &Fixture) {
    // GIVEN tenant A's default locale is es-CL
    let a = TenantId::new(TENANT_A);
    fx.store
        .put_settings(
            &a,
            &TenantSettings {
                locale: Some("es-CL".into()),
                ..TenantSettings::default()
            },
        )
        .await
        .unwrap();
    let mut body = body_json(&event("sync-export-contacts-csv"));
    body["viewState"]["columns"] =
        json!([{"id": "birthDate", "label": "Born", "type": "DATE"}, {"id": "netWorth"}]);
    body["viewState"]["sort"] = json!({"field": "netWorth", "direction": "ASC"});
    for locale in [None, Some("en")] {
        // WHEN a request omits the locale (or says en)
        match locale {
            None => body.as_object_mut().unwrap().remove("locale"),
            Some(l) => body
                .as_object_mut()
                .unwrap()
                .insert("locale".into(), json!(l)),
        };
        let rows = csv_rows(
            &fx.call(with_json(event("sync-export-contacts-csv"), &body))
                .await,
        );
        // THEN dates are ISO 8601 and numbers use a decimal point
        assert_eq!(rows[1], ["1990-01-31", "-20"], "locale {locale:?}");
        assert_eq!(rows[2], ["1986-09-04", "1500.5"], "locale {locale:?}");
    }
    fx.store
        .put_settings(&a, &TenantSettings::default())
        .await
        .unwrap();
}

/// Custom field columns by uuid, by key and form, and `includeAllCustomFields`.
pub async fn custom_fields_by_uuid_by_form_and_all_of_them(fx: &Fixture) {
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

/// Sorting by any column, either way, is stable.
pub async fn sort_by_any_column_either_way_is_stable(fx: &Fixture) {
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

/// Sends the contacts event with an edited body and returns (status, errorCode, details).
pub async fn error_of(
    fx: &Fixture,
    edit: impl FnOnce(&mut serde_json::Value),
) -> (u16, String, Vec<String>) {
    let req = event("sync-export-contacts-csv");
    let mut body = body_json(&req);
    edit(&mut body);
    let resp = fx.call(with_json(req, &body)).await;
    decode(resp)
}

/// The conventions' error body of a response: (status, errorCode, details), checking
/// that `status`, `timestamp`, `path` and `message` are there.
pub fn decode(resp: lambda_http::Response<lambda_http::Body>) -> (u16, String, Vec<String>) {
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

/// Every error row of the seed, including the row limit from the tenant's settings.
pub async fn every_error_row_of_the_seed(fx: &Fixture) {
    // No rows to export.
    let (s, c, _) =
        error_of(
            fx,
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
    let (s, c, d) = error_of(fx, |b| b["filters"] = json!([])).await;
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
    let (_, c, d) = error_of(fx, |b| {
        b["viewState"]["columns"] = json!([{"id": "name"}, {"id": "firstName", "type": "NUMBER"}, {"id": "firstName", "custom": true}])
    })
    .await;
    // (the NUMBER hint on a text column is only a hint: it never fails)
    assert_eq!(c, "BE0302");
    assert_eq!(d.len(), 2, "{d:?}");

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
        let (s, c, _) = error_of(fx, edit).await;
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

/// Tenant isolation: a user of tenant A gets nothing of tenant B, whatever headers they send.
pub async fn a_user_of_tenant_a_gets_nothing_of_tenant_b_whatever_headers_they_send(fx: &Fixture) {
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
