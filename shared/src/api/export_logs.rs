//! The export-logs JSON:API (`/api/v2/contacts/exports`): the request body,
//! the filter keys mapped onto the v2 filter engine, the resource document,
//! and the JSON:API error document.
//!
//! Every error of this API becomes a [`JsonApiError`], and
//! [`JsonApiError::to_response`] is the one place that turns it into HTTP.

use crate::api::json::JsonBodyError;
use crate::auth::AuthError;
use crate::filter::FilterCondition;
use crate::service::ServiceError;
use crate::store::ExportLog;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value as Json};

/// The media type of every JSON:API answer.
pub const JSONAPI_CONTENT_TYPE: &str = "application/vnd.api+json; charset=utf-8";
/// The resource type of an export log.
pub const RESOURCE_TYPE: &str = "export_logs";
/// `attributes.type` of every log: the only export this API performs.
pub const EXPORT_TYPE: &str = "Contacts";

/// The attributes a client may send.
const ATTRIBUTES: [&str; 4] = ["params", "created_at", "updated_at", "updated_in_db_at"];

/// One JSON:API error object, and the status of the whole answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct JsonApiError {
    pub status: u16,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// A JSON pointer into the request document, when the fault is in it.
    pub pointer: Option<String>,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl JsonApiError {
    pub fn new(
        status: u16,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        JsonApiError {
            status,
            code,
            title,
            detail: detail.into(),
            pointer: None,
            allow: None,
        }
    }

    #[must_use]
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn not_found() -> Self {
        JsonApiError::new(404, "not_found", "Not found", "no export log with this id")
    }

    /// 503 with `Retry-After`: the storage is full for now.
    pub fn storage_full() -> Self {
        JsonApiError::new(
            503,
            "service_unavailable",
            "Service unavailable",
            "storage is full; retry later",
        )
    }

    pub fn internal() -> Self {
        JsonApiError::new(
            500,
            "internal_error",
            "Internal error",
            "the export could not be completed",
        )
    }

    /// `{errors:[{status, code, title, detail, source:{pointer}}]}`.
    pub fn body(&self) -> Json {
        let mut err = json!({
            "status": self.status.to_string(),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        });
        if let (Some(p), Some(obj)) = (&self.pointer, err.as_object_mut()) {
            obj.insert("source".into(), json!({ "pointer": p }));
        }
        json!({ "errors": [err] })
    }

    /// The HTTP answer: this API's one error mapping.
    pub fn to_response(&self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status)
            .header(http::header::CONTENT_TYPE, JSONAPI_CONTENT_TYPE);
        if let Some(allow) = self.allow {
            builder = builder.header(http::header::ALLOW, allow);
        }
        if self.status == 503 {
            builder = builder.header(
                http::header::RETRY_AFTER,
                crate::api::tabular::RETRY_AFTER_SECS.to_string(),
            );
        }
        builder
            .body(Body::Text(self.body().to_string()))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

impl From<AuthError> for JsonApiError {
    fn from(e: AuthError) -> Self {
        let (code, title) = match e.status() {
            401 => ("unauthorized", "Unauthorized"),
            400 => ("invalid_header", "Bad request"),
            _ => ("forbidden", "Forbidden"),
        };
        JsonApiError::new(e.status(), code, title, e.to_string())
    }
}

impl From<&ServiceError> for JsonApiError {
    /// This API's one mapping of a pipeline error: a client fault (the log's
    /// filter is invalid, or selects more rows than allowed) is a 422 at the
    /// filter; a full disk a 503; any other failure a bare 500.
    fn from(e: &ServiceError) -> Self {
        if e.is_storage_full() {
            return JsonApiError::storage_full();
        }
        if !e.is_client_fault() {
            return JsonApiError::internal();
        }
        JsonApiError::new(
            422,
            "export_rejected",
            "Export rejected",
            e.problems().join("; "),
        )
        .at(FILTER_POINTER)
    }
}

/// A validated `POST` body.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateLog {
    /// `params` as sent (stored and returned as it is).
    pub params: Json,
    /// The conditions its filter selects.
    pub filters: Vec<FilterCondition>,
    pub updated_in_db_at: Option<DateTime<Utc>>,
}

fn bad_document(detail: impl Into<String>, pointer: &str) -> JsonApiError {
    JsonApiError::new(400, "invalid_document", "Invalid JSON:API document", detail).at(pointer)
}

fn invalid_attribute(detail: impl Into<String>, pointer: String) -> JsonApiError {
    JsonApiError::new(422, "invalid_attribute", "Invalid attribute", detail).at(pointer)
}

/// Parses and validates the body of `POST /api/v2/contacts/exports`.
///
/// # Errors
/// 400 for a body that is not a JSON:API document, 409 for a `data.type`
/// other than `export_logs`, 422 for an unknown or invalid attribute or filter.
pub fn parse_create(body: &[u8]) -> Result<CreateLog, JsonApiError> {
    let doc: Json = crate::api::json::parse_value(body).map_err(|e| match e {
        JsonBodyError::Syntax(e) => bad_document(format!("the body is not valid JSON: {e}"), ""),
        dup => bad_document(dup.to_string(), &dup.json_pointer()),
    })?;
    let data = doc
        .get("data")
        .and_then(Json::as_object)
        .ok_or_else(|| bad_document("the document needs a 'data' object", "/data"))?;
    if let Some(extra) = doc
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "data"))
    {
        return Err(bad_document(
            format!("unknown top-level member '{extra}'"),
            &format!("/{extra}"),
        ));
    }
    if let Some(extra) = data
        .keys()
        .find(|k| !["type", "attributes"].contains(&k.as_str()))
    {
        return Err(bad_document(
            format!("unknown member '{extra}' of data (ids are assigned by the server)"),
            &format!("/data/{extra}"),
        ));
    }
    match data.get("type") {
        Some(Json::String(t)) if t == RESOURCE_TYPE => {}
        Some(Json::String(t)) => {
            return Err(JsonApiError::new(
                409,
                "type_mismatch",
                "Resource type mismatch",
                format!("data.type is '{t}'; this endpoint creates '{RESOURCE_TYPE}'"),
            )
            .at("/data/type"))
        }
        _ => {
            return Err(bad_document(
                format!("data.type must be the string '{RESOURCE_TYPE}'"),
                "/data/type",
            ))
        }
    }
    let empty = Map::new();
    let attributes = match data.get("attributes") {
        None => &empty,
        Some(Json::Object(a)) => a,
        Some(_) => {
            return Err(bad_document(
                "data.attributes must be an object",
                "/data/attributes",
            ))
        }
    };
    if let Some(extra) = attributes
        .keys()
        .find(|k| !ATTRIBUTES.contains(&k.as_str()))
    {
        return Err(invalid_attribute(
            format!(
                "unknown attribute '{extra}'; expected one of {}",
                ATTRIBUTES.join(", ")
            ),
            format!("/data/attributes/{extra}"),
        ));
    }
    let mut updated_in_db_at = None;
    for name in ["created_at", "updated_at", "updated_in_db_at"] {
        if let Some(v) = attributes.get(name) {
            let parsed = v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| {
                    invalid_attribute(
                        format!(
                            "{name} must be an RFC 3339 timestamp such as 2022-01-12T17:18:07Z"
                        ),
                        format!("/data/attributes/{name}"),
                    )
                })?;
            if name == "updated_in_db_at" {
                updated_in_db_at = Some(parsed.with_timezone(&Utc));
            }
        }
    }
    let params = match attributes.get("params") {
        None | Some(Json::Null) => json!({}),
        Some(p @ Json::Object(_)) => p.clone(),
        Some(_) => {
            return Err(invalid_attribute(
                "params must be an object such as {\"filter\": ...}",
                "/data/attributes/params".into(),
            ))
        }
    };
    if let Some(extra) = params
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "filter"))
    {
        return Err(invalid_attribute(
            format!("unknown params member '{extra}'; only 'filter' is supported"),
            format!("/data/attributes/params/{extra}"),
        ));
    }
    let filters = filters_of(&params)?;
    Ok(CreateLog {
        params,
        filters,
        updated_in_db_at,
    })
}

const FILTER_POINTER: &str = "/data/attributes/params/filter";

/// The filter keys and the contact field each selects on.
pub const FILTER_KEYS: [(&str, &str); 12] = [
    ("status", "isActive"),
    ("contact_type", "contactType"),
    ("stage", "stage"),
    ("source", "contactSource"),
    ("segment", "segment"),
    ("city", "city"),
    ("country", "country"),
    ("email", "preferredEmail"),
    ("created_from", "createdAt"),
    ("created_to", "createdAt"),
    ("updated_from", "updatedAt"),
    ("updated_to", "updatedAt"),
];

/// The conditions a stored `params` selects. `params.filter` is a JSON
/// object, or a string holding one (as in the seed); absent means every contact.
///
/// # Errors
/// 400 `malformed_filter` when the filter is not an object (or a string that
/// parses to one); 422 for an unknown key or a value of the wrong shape.
pub fn filters_of(params: &Json) -> Result<Vec<FilterCondition>, JsonApiError> {
    let malformed = |detail: String| {
        JsonApiError::new(400, "malformed_filter", "Malformed filter", detail).at(FILTER_POINTER)
    };
    let filter = match params.get("filter") {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::String(s)) => crate::api::json::parse_value(s.as_bytes())
            .map_err(|e| malformed(format!("filter is not a JSON object: {e}")))?,
        Some(other) => other.clone(),
    };
    let Json::Object(map) = filter else {
        return Err(malformed(
            "filter must be a JSON object such as {\"status\":\"active\"}".into(),
        ));
    };
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in &map {
        let pointer = format!("{FILTER_POINTER}/{key}");
        let invalid = |detail: String| {
            JsonApiError::new(422, "invalid_filter_value", "Invalid filter value", detail)
                .at(pointer.clone())
        };
        let Some((_, field)) = FILTER_KEYS.iter().find(|(k, _)| k == key) else {
            return Err(JsonApiError::new(
                422,
                "unknown_filter_key",
                "Unknown filter key",
                format!(
                    "unknown filter key '{key}'; expected one of {}",
                    FILTER_KEYS.map(|(k, _)| k).join(", ")
                ),
            )
            .at(pointer));
        };
        let condition = |operator: &str, value: Json| FilterCondition {
            field: (*field).to_string(),
            operator: operator.to_string(),
            value: Some(value),
            values: None,
        };
        match key.as_str() {
            "status" => {
                let active = match value.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("active") => true,
                    Some("inactive") => false,
                    _ => return Err(invalid("status must be \"active\" or \"inactive\"".into())),
                };
                out.push(condition("equals", Json::Bool(active)));
            }
            "created_from" | "updated_from" | "created_to" | "updated_to" => {
                let text = value.as_str().unwrap_or_default();
                let to = key.ends_with("_to");
                if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                    // A date covers the whole UTC day, on both ends.
                    let bound = if to {
                        day.succ_opt().unwrap_or(day)
                    } else {
                        day
                    };
                    let op = if to { "lessThan" } else { "greaterThanOrEqual" };
                    out.push(condition(op, Json::String(format!("{bound}T00:00:00Z"))));
                } else if DateTime::parse_from_rfc3339(text).is_ok() {
                    let op = if to {
                        "lessThanOrEqual"
                    } else {
                        "greaterThanOrEqual"
                    };
                    out.push(condition(op, Json::String(text.to_string())));
                } else {
                    return Err(invalid(format!(
                        "{key} must be a date (YYYY-MM-DD) or an RFC 3339 timestamp"
                    )));
                }
            }
            _ => match value {
                Json::String(s) if !s.trim().is_empty() => {
                    out.push(condition("equals", value.clone()))
                }
                Json::Array(items)
                    if !items.is_empty()
                        && items.len() <= crate::filter::MAX_VALUES
                        && items
                            .iter()
                            .all(|i| i.as_str().is_some_and(|s| !s.trim().is_empty())) =>
                {
                    out.push(FilterCondition {
                        field: (*field).to_string(),
                        operator: "in".into(),
                        value: None,
                        values: Some(items.clone()),
                    });
                }
                _ => {
                    return Err(invalid(format!(
                        "{key} must be a non-empty string or an array of 1 to {} non-empty strings",
                        crate::filter::MAX_VALUES
                    )))
                }
            },
        }
    }
    Ok(out)
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The resource document of a log, as the seed shows it.
pub fn log_document(log: &ExportLog) -> Json {
    json!({
        "data": {
            "id": log.id,
            "type": RESOURCE_TYPE,
            "attributes": {
                "created_at": ts(&log.created_at),
                "export_at": ts(&log.export_at),
                "params": log.params,
                "type": EXPORT_TYPE,
                "updated_at": ts(&log.updated_at),
                "updated_in_db_at": ts(&log.updated_in_db_at),
            },
            "relationships": {
                "user": { "data": { "id": log.user_id, "type": "users" } }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_body_parses_to_an_active_filter() {
        // GIVEN the seed's request body
        let body = br#"{"data":{"type":"export_logs","attributes":{"params":{"filter":"{\"status\":\"active\"}"}}}}"#;
        // WHEN it is parsed
        let req = parse_create(body).expect("valid");
        // THEN params are kept as sent and the filter selects active contacts
        assert_eq!(req.params, json!({"filter": "{\"status\":\"active\"}"}));
        assert_eq!(req.filters.len(), 1);
        assert_eq!(req.filters[0].field, "isActive");
        assert_eq!(req.filters[0].value, Some(Json::Bool(true)));
    }

    #[test]
    fn dates_cover_whole_days_and_arrays_become_in() {
        // GIVEN an object filter with ranges and a list
        let f = filters_of(
            &json!({"filter": {"created_to": "2024-05-01", "stage": ["client", "lead"]}}),
        )
        .expect("valid");
        // THEN created_to is exclusive of the next midnight and stage is an `in`
        let to = f
            .iter()
            .find(|c| c.field == "createdAt")
            .expect("createdAt");
        assert_eq!(
            (to.operator.as_str(), to.value.clone()),
            ("lessThan", Some(json!("2024-05-02T00:00:00Z")))
        );
        let stage = f.iter().find(|c| c.field == "stage").expect("stage");
        assert_eq!(stage.operator, "in");
    }

    #[test]
    fn errors_have_the_prescribed_status_and_pointer() {
        let cases: [(&[u8], u16, &str); 7] = [
            (b"{", 400, ""),
            (br#"{"data":{"type":"users"}}"#, 409, "/data/type"),
            (br#"{"data":{"type":"export_logs","attributes":{"colour":1}}}"#, 422, "/data/attributes/colour"),
            (br#"{"data":{"type":"export_logs","attributes":{"params":{"filter":"{nope"}}}}"#, 400, FILTER_POINTER),
            (br#"{"data":{"type":"export_logs","attributes":{"params":{"filter":{"planet":"x"}}}}}"#, 422, "/data/attributes/params/filter/planet"),
            (br#"{"data":{"type":"export_logs","attributes":{"params":{"filter":{"status":"maybe"}}}}}"#, 422, "/data/attributes/params/filter/status"),
            (br#"{"data":{"type":"export_logs","attributes":{"updated_in_db_at":"yesterday"}}}"#, 422, "/data/attributes/updated_in_db_at"),
        ];
        for (body, status, pointer) in cases {
            let err = parse_create(body).expect_err("invalid");
            assert_eq!(err.status, status, "{}", String::from_utf8_lossy(body));
            assert_eq!(err.pointer.as_deref().unwrap_or(""), pointer);
            let doc = err.body();
            assert_eq!(doc["errors"][0]["status"], json!(status.to_string()));
        }
    }
}
