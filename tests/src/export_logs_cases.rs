//! Handler cases of the export-logs API, written once over a
//! [`LogsFixture`] and run on the embedded backend (`tests/export_logs.rs`)
//! and on DynamoDB in moto (`tests/export_logs_aws.rs`).

use crate::{
    as_user, claims_a, claims_b, csv_rows, event, json_body, with_body, with_header, xlsx_rows,
    LogsFixture, EVENT_LOG_ID, TENANT_A, TENANT_B,
};
use exports_local::demo::DEMO_USER_ID;
use exports_shared::model::TenantId;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

/// The header of a response, as text.
pub fn header<'a>(resp: &'a Response<Body>, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A GET of `path` by the demo user of tenant A (the get event, re-pointed).
pub fn get(path: &str) -> Request {
    let req = event("export-logs-get");
    let (mut parts, body) = req.into_parts();
    parts.uri = path.parse().expect("path");
    http::Request::from_parts(parts, body)
}

/// Asserts a JSON:API error answer and returns its one error object.
pub fn assert_error(resp: &Response<Body>, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "body: {:?}", resp.body());
    assert_eq!(
        header(resp, "content-type"),
        "application/vnd.api+json; charset=utf-8"
    );
    let doc = json_body(resp);
    let errors = doc["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1);
    let err = errors[0].clone();
    assert_eq!(err["status"], json!(status.to_string()));
    assert_eq!(err["code"], json!(code));
    assert!(err["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(err["detail"].as_str().is_some_and(|t| !t.is_empty()));
    err
}

fn is_utc_second(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 20 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

/// The seed's POST, then a GET of its `Location`: the seed's shapes field by field.
pub async fn the_seed_request_creates_a_log_that_can_be_fetched(fx: &LogsFixture) {
    // GIVEN the seed's request body (events/export-logs-create.json)
    let req = event("export-logs-create");
    // WHEN it is posted
    let resp = fx.call(req).await;
    // THEN 201 with the JSON:API media type and a Location
    assert_eq!(resp.status(), 201, "{:?}", resp.body());
    assert_eq!(
        header(&resp, "content-type"),
        "application/vnd.api+json; charset=utf-8"
    );
    let doc = json_body(&resp);
    let data = &doc["data"];
    let id = data["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(
        header(&resp, "location"),
        format!("/api/v2/contacts/exports/{id}")
    );
    assert_eq!(data["type"], json!("export_logs"));
    let attrs = data["attributes"].as_object().expect("attributes");
    let mut names: Vec<&str> = attrs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "created_at",
            "export_at",
            "params",
            "type",
            "updated_at",
            "updated_in_db_at"
        ]
    );
    assert_eq!(
        attrs["params"],
        json!({"filter": "{\"status\":\"active\"}"})
    );
    assert_eq!(attrs["type"], json!("Contacts"));
    for t in ["created_at", "export_at", "updated_at", "updated_in_db_at"] {
        assert!(is_utc_second(&attrs[t]), "{t}: {}", attrs[t]);
        assert_eq!(attrs[t], attrs["created_at"], "{t}");
    }
    assert_eq!(
        data["relationships"],
        json!({"user": {"data": {"id": DEMO_USER_ID, "type": "users"}}})
    );
    // AND the log is stored under tenant A
    assert!(fx
        .logs
        .get_log(&TenantId::new(TENANT_A), id)
        .await
        .expect("get")
        .is_some());

    // WHEN the Location is fetched
    let got = fx.call(get(header(&resp, "location"))).await;
    // THEN the same document comes back
    assert_eq!(got.status(), 200);
    assert_eq!(
        header(&got, "content-type"),
        "application/vnd.api+json; charset=utf-8"
    );
    assert_eq!(json_body(&got), doc);
}

/// Emails of the data rows of a file's rows (header first, email in column 4).
fn emails(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter().skip(1).map(|r| r[4].clone()).collect()
}

/// The CSV and XLSX downloads of the event's log: exactly the active
/// contacts, newest first, headers in the asked language; export_at updated
/// on every download.
pub async fn downloads_hold_exactly_the_selected_contacts(fx: &LogsFixture) {
    // GIVEN the events' log, selecting active contacts, last exported in 2022
    fx.seed_log(
        TENANT_A,
        EVENT_LOG_ID,
        DEMO_USER_ID,
        json!("{\"status\":\"active\"}"),
    )
    .await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    // WHEN its CSV is downloaded in English
    let req = with_header(
        event("export-logs-download-csv"),
        "accept-language",
        "en-US,en;q=0.9",
    );
    let resp = fx.call(req).await;
    // THEN the file holds the active contacts, newest first
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    assert_eq!(header(&resp, "content-type"), "text/csv;charset=UTF-8");
    let today = chrono::Utc::now().format("%Y%m%d");
    assert_eq!(
        header(&resp, "content-disposition"),
        format!("attachment; filename=\"contacts-{today}.csv\"")
    );
    let rows = csv_rows(&resp);
    assert_eq!(
        rows[0],
        [
            "First name",
            "Middle name",
            "Paternal last name",
            "Maternal last name",
            "Email",
            "Phone",
            "Stage",
            "Source",
            "Segment",
            "City",
            "Country",
            "Created"
        ]
    );
    assert_eq!(
        emails(&rows),
        ["jose@a.test", "maria@a.test", "ana@a.test", "zoe@a.test"]
    );
    assert_eq!(rows[3][0], "Ana");
    // (a leading `+` is neutralised against formula injection)
    assert_eq!(rows[3][5], "'+56 9 1111 2222");
    // AND export_at records the download
    let tenant = TenantId::new(TENANT_A);
    let first = fx
        .logs
        .get_log(&tenant, EVENT_LOG_ID)
        .await
        .expect("get")
        .expect("log");
    assert!(first.export_at >= before, "{}", first.export_at);
    assert_eq!(first.created_at.to_rfc3339(), "2022-01-12T17:18:07+00:00");

    // WHEN the XLSX is downloaded, in Spanish (a second download of the same log)
    let req = with_header(
        event("export-logs-download-xlsx"),
        "accept-language",
        "es-CL",
    );
    let resp = fx.call(req).await;
    // THEN it opens with the same contacts and Spanish headers
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    assert_eq!(
        header(&resp, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        header(&resp, "content-disposition"),
        format!("attachment; filename=\"contacts-{today}.xlsx\"")
    );
    let rows: Vec<Vec<String>> = xlsx_rows(&resp)
        .iter()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(rows[0][0], "Nombre");
    assert_eq!(rows[0][4], "Correo electrónico");
    assert_eq!(
        emails(&rows),
        ["jose@a.test", "maria@a.test", "ana@a.test", "zoe@a.test"]
    );
    // AND export_at moved on again (downloads may repeat)
    let second = fx
        .logs
        .get_log(&tenant, EVENT_LOG_ID)
        .await
        .expect("get")
        .expect("log");
    assert!(second.export_at >= first.export_at);
    // AND the GET event shows the new export_at
    let got = json_body(&fx.call(event("export-logs-get")).await);
    assert_eq!(
        got["data"]["attributes"]["export_at"],
        json!(second
            .export_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert_eq!(
        got["data"]["attributes"]["params"],
        json!({"filter": "{\"status\":\"active\"}"})
    );
}

/// Another tenant's log is 404, another user's 403 unless admin.
pub async fn tenancy_and_ownership_are_enforced(fx: &LogsFixture) {
    // GIVEN the events' log, owned by the demo user of tenant A
    fx.seed_log(
        TENANT_A,
        EVENT_LOG_ID,
        DEMO_USER_ID,
        json!({"status": "active"}),
    )
    .await;
    // WHEN a user of tenant B asks for it (with their own, valid tenant)
    let b = claims_b();
    for name in ["export-logs-get", "export-logs-download-csv"] {
        let resp = fx.call(as_user(event(name), &b, TENANT_B)).await;
        // THEN it does not exist for them
        assert_error(&resp, 404, "not_found");
    }
    // WHEN another staff user of tenant A asks
    let mut other = claims_a();
    other.sub = "0e0e0e0e-0000-4000-8000-00000000000e".into();
    other.email = "other@exports.local".into();
    for name in ["export-logs-get", "export-logs-download-xlsx"] {
        let resp = fx.call(as_user(event(name), &other, TENANT_A)).await;
        // THEN it is forbidden
        assert_error(&resp, 403, "forbidden");
    }
    // WHEN a tenant admin of tenant A asks
    let mut admin = other.clone();
    admin.roles = vec!["TENANT_ADMIN".into()];
    let resp = fx
        .call(as_user(event("export-logs-get"), &admin, TENANT_A))
        .await;
    // THEN it is allowed, and the log still names its owner
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json_body(&resp)["data"]["relationships"]["user"]["data"]["id"],
        json!(DEMO_USER_ID)
    );
    let resp = fx
        .call(as_user(event("export-logs-download-csv"), &admin, TENANT_A))
        .await;
    assert_eq!(resp.status(), 200);
}

/// A create request with `body`, content type `content_type`.
pub fn create(body: &Value, content_type: &str) -> Request {
    let req = with_body(event("export-logs-create"), body.to_string());
    with_header(req, "content-type", content_type)
}

/// An object filter with ranges and lists, sent as application/json, with
/// updated_in_db_at: stored, returned, and selecting exactly its contacts.
pub async fn object_filters_select_exactly_their_contacts(fx: &LogsFixture) {
    // GIVEN a filter on stage and a creation window, and a client timestamp
    let body = json!({"data": {"type": "export_logs", "attributes": {
        "params": {"filter": {"stage": ["prospect", "Client"], "created_from": "2024-03-10", "created_to": "2024-05-01"}},
        "updated_in_db_at": "2021-06-30T08:00:00+02:00"
    }}});
    // WHEN it is created as application/json
    let resp = fx.call(create(&body, "application/json")).await;
    // THEN it is stored with the client's timestamp, normalised to UTC
    assert_eq!(resp.status(), 201, "{:?}", resp.body());
    let doc = json_body(&resp);
    assert_eq!(
        doc["data"]["attributes"]["updated_in_db_at"],
        json!("2021-06-30T06:00:00Z")
    );
    assert_eq!(
        doc["data"]["attributes"]["params"],
        body["data"]["attributes"]["params"]
    );
    let location = header(&resp, "location").to_string();
    let got = json_body(&fx.call(get(&location)).await);
    assert_eq!(
        got["data"]["attributes"]["updated_in_db_at"],
        json!("2021-06-30T06:00:00Z")
    );
    // WHEN its CSV is downloaded
    let resp = fx.call(get(&format!("{location}.csv"))).await;
    // THEN exactly the prospects and clients created 2024-03-10 .. 2024-05-01 (whole days)
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let rows = csv_rows(&resp);
    assert_eq!(
        emails(&rows),
        ["hostile@a.test", "maria@a.test", "ana@a.test"]
    );
    // AND the hostile first name is neutralised in CSV
    assert_eq!(rows[1][0], "'=cmd|' /C calc'!A0");

    // GIVEN a filter that selects nobody
    let body = json!({"data": {"type": "export_logs", "attributes": {"params": {"filter": {"city": "Atlantis"}}}}});
    let resp = fx.call(create(&body, "application/vnd.api+json")).await;
    let location = header(&resp, "location").to_string();
    // WHEN downloaded, THEN the file has only its header
    let resp = fx.call(get(&format!("{location}.csv"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(csv_rows(&resp).len(), 1);
}
