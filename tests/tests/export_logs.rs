//! The export-logs handler on the embedded backend, driven by the
//! `events/export-logs-*.json` events: the shared cases
//! (`exports_tests::export_logs_cases`) and every error path.

use exports_tests::export_logs_cases::{self as cases, assert_error, create, get, header};
use exports_tests::{
    as_user, claims_b, event, with_body, with_header, without_header, LogsFixture, EVENT_LOG_ID,
    TENANT_A,
};
use serde_json::json;

#[tokio::test]
async fn the_seed_request_creates_a_log_that_can_be_fetched() {
    cases::the_seed_request_creates_a_log_that_can_be_fetched(&LogsFixture::new().await).await;
}

#[tokio::test]
async fn downloads_hold_exactly_the_selected_contacts() {
    cases::downloads_hold_exactly_the_selected_contacts(&LogsFixture::new().await).await;
}

#[tokio::test]
async fn tenancy_and_ownership_are_enforced() {
    cases::tenancy_and_ownership_are_enforced(&LogsFixture::new().await).await;
}

#[tokio::test]
async fn object_filters_select_exactly_their_contacts() {
    cases::object_filters_select_exactly_their_contacts(&LogsFixture::new().await).await;
}

#[tokio::test]
async fn invalid_documents_get_json_api_errors_with_pointers() {
    // GIVEN a fixture
    let fx = LogsFixture::new().await;
    let doc =
        |attrs: serde_json::Value| json!({"data": {"type": "export_logs", "attributes": attrs}});
    let cases = [
        // wrong resource type: 409 per JSON:API
        (
            json!({"data": {"type": "contacts", "attributes": {}}}),
            409,
            "type_mismatch",
            "/data/type",
        ),
        // missing data
        (json!({"meta": {}}), 400, "invalid_document", "/data"),
        // client-chosen id
        (
            json!({"data": {"type": "export_logs", "id": "x"}}),
            400,
            "invalid_document",
            "/data/id",
        ),
        // unknown attribute
        (
            doc(json!({"colour": "red"})),
            422,
            "invalid_attribute",
            "/data/attributes/colour",
        ),
        // malformed filter string
        (
            doc(json!({"params": {"filter": "{\"status\":"}})),
            400,
            "malformed_filter",
            "/data/attributes/params/filter",
        ),
        // a filter that is not an object
        (
            doc(json!({"params": {"filter": [1, 2]}})),
            400,
            "malformed_filter",
            "/data/attributes/params/filter",
        ),
        // unknown filter key
        (
            doc(json!({"params": {"filter": {"planet": "mars"}}})),
            422,
            "unknown_filter_key",
            "/data/attributes/params/filter/planet",
        ),
        // bad filter value
        (
            doc(json!({"params": {"filter": "{\"created_from\":\"last week\"}"}})),
            422,
            "invalid_filter_value",
            "/data/attributes/params/filter/created_from",
        ),
        // bad timestamp
        (
            doc(json!({"updated_in_db_at": 5})),
            422,
            "invalid_attribute",
            "/data/attributes/updated_in_db_at",
        ),
    ];
    for (body, status, code, pointer) in cases {
        // WHEN it is posted
        let resp = fx.call(create(&body, "application/vnd.api+json")).await;
        // THEN the JSON:API error names the status, code and pointer
        let err = assert_error(&resp, status, code);
        assert_eq!(err["source"]["pointer"], json!(pointer), "{body}");
    }
    // AND a body that is not JSON is a 400 at the document root
    let resp = fx
        .call(with_body(event("export-logs-create"), "{not json"))
        .await;
    let err = assert_error(&resp, 400, "invalid_document");
    assert_eq!(err["source"]["pointer"], json!(""));
    // AND a non-JSON content type is 415
    let resp = fx.call(create(&json!({}), "text/plain")).await;
    assert_error(&resp, 415, "unsupported_media_type");
}

#[tokio::test]
async fn auth_errors_use_the_json_api_shape() {
    // GIVEN the create event
    let fx = LogsFixture::new().await;
    // WHEN the token is missing, THEN 401
    let resp = fx
        .call(without_header(event("export-logs-create"), "authorization"))
        .await;
    assert_error(&resp, 401, "unauthorized");
    // WHEN the token is garbage, THEN 401
    let resp = fx
        .call(with_header(
            event("export-logs-get"),
            "authorization",
            "Bearer nope",
        ))
        .await;
    assert_error(&resp, 401, "unauthorized");
    // WHEN a context header is missing, THEN 400
    let resp = fx
        .call(without_header(
            event("export-logs-download-csv"),
            "x-user-id",
        ))
        .await;
    assert_error(&resp, 400, "invalid_header");
    // WHEN the tenant header names a tenant the token does not grant, THEN 403
    let resp = fx
        .call(as_user(event("export-logs-create"), &claims_b(), TENANT_A))
        .await;
    assert_error(&resp, 403, "forbidden");
    // AND nothing was stored for any of them
    assert!(fx
        .logs
        .get_log(
            &exports_shared::model::TenantId::new(TENANT_A),
            EVENT_LOG_ID
        )
        .await
        .expect("get")
        .is_none());
}

#[tokio::test]
async fn unknown_paths_ids_and_methods() {
    // GIVEN a fixture with no logs
    let fx = LogsFixture::new().await;
    // WHEN an absent log, its file, or a non-uuid id is asked for, THEN 404
    for path in [
        "/api/v2/contacts/exports/00000000-0000-4000-8000-000000000000",
        "/api/v2/contacts/exports/00000000-0000-4000-8000-000000000000.xlsx",
        "/api/v2/contacts/exports/not-a-uuid",
        "/api/v2/contacts/exports/d7905e44-37ff-4f78-9f99-21f26baf3c5f.pdf",
        "/api/v2/contacts/exports/a/b",
    ] {
        let resp = fx.call(get(path)).await;
        assert_error(&resp, 404, "not_found");
    }
    // WHEN the collection is read with GET, THEN 405 naming POST
    let resp = fx.call(get("/api/v2/contacts/exports")).await;
    assert_error(&resp, 405, "method_not_allowed");
    assert_eq!(header(&resp, "allow"), "POST");
    // WHEN a log is posted to, THEN 405
    let req = event("export-logs-create");
    let (mut parts, body) = req.into_parts();
    parts.uri = format!("/api/v2/contacts/exports/{EVENT_LOG_ID}")
        .parse()
        .expect("uri");
    let resp = fx.call(http::Request::from_parts(parts, body)).await;
    assert_error(&resp, 405, "method_not_allowed");
    assert_eq!(header(&resp, "allow"), "GET");
}
