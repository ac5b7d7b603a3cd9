//! `POST /exports` and `GET /exports[/{id}]` (bulk exports): the ExportCreation
//! body, its validation, the Export resource and the HttpError bodies.
//!
//! Validation collects every field error, so one 422 lists them all. The
//! error bodies are documented in `docs/bulk-exports.md`.

use crate::api::json::JsonBodyError;
use crate::model::bulk::{
    BulkJob, Compression, DateFormat, ExportFilters, ExportSpec, ExportType, ExportVersion,
    TaskCounts,
};
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

/// The longest activities window.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// Activity types the CRM records (and `exports-local seed` generates).
pub const ACTIVITY_TYPES: [&str; 8] = [
    "emailSent",
    "emailOpened",
    "emailClicked",
    "pageVisited",
    "formSubmitted",
    "purchase",
    "call",
    "meeting",
];

/// The most activity types one filter may list.
const MAX_ACTIVITY_TYPES: usize = 50;
/// The longest segment id.
const MAX_ID_CHARS: usize = 200;

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `filters.toDate`.
    pub field: String,
    pub message: String,
}

/// An HttpError (and, with field errors, an HttpUnprocessableEntityError).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {message}")]
pub struct HttpError {
    pub status: u16,
    pub message: String,
    pub errors: Vec<FieldError>,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
}

impl HttpError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// A 422 listing field errors.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        HttpError {
            status: 422,
            message: "The export request has validation errors".into(),
            errors,
            retry_after: None,
        }
    }

    pub fn internal() -> Self {
        HttpError::new(500, "Internal error")
    }

    /// The reason phrase of the status.
    fn name(&self) -> &'static str {
        match self.status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            413 => "Payload Too Large",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Entity",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// `{status, error, message}` plus `errors` on a 422.
    pub fn body(&self) -> Json {
        let mut b = json!({"status": self.status, "error": self.name(), "message": self.message});
        if self.status == 422 {
            b["errors"] = json!(self.errors);
        }
        b
    }

    pub fn to_response(&self) -> Response<Body> {
        let mut r = Response::builder()
            .status(self.status)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(s) = self.retry_after {
            r = r.header(http::header::RETRY_AFTER, s.to_string());
        }
        if self.status == 401 {
            r = r.header(http::header::WWW_AUTHENTICATE, "apiKey");
        }
        r.body(Body::Text(self.body().to_string()))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

fn enum_field<T: Copy>(
    obj: &Map<String, Json>,
    field: &str,
    allowed: &[(&str, T)],
    default: Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let names = || {
        allowed
            .iter()
            .map(|(n, _)| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match obj.get(field) {
        None | Some(Json::Null) => {
            if default.is_none() {
                errors.push(err(field, format!("is required: one of {}", names())));
            }
            default
        }
        Some(Json::String(s)) => match allowed.iter().find(|(n, _)| n == s) {
            Some((_, v)) => Some(*v),
            None => {
                errors.push(err(field, format!("must be one of {}", names())));
                None
            }
        },
        Some(_) => {
            errors.push(err(field, format!("must be a string: one of {}", names())));
            None
        }
    }
}

fn date_field(
    obj: &Map<String, Json>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let field = format!("filters.{name}");
    match obj.get(name) {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push(err(
                    &field,
                    "must be an ISO 8601 date-time with a timezone, e.g. 2026-01-01T00:00:00Z",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(err(&field, "must be a string (ISO 8601 date-time)"));
            None
        }
    }
}

fn parse_filters(
    value: Option<&Json>,
    export_type: Option<ExportType>,
    errors: &mut Vec<FieldError>,
) -> ExportFilters {
    let mut filters = ExportFilters::default();
    let obj = match value {
        None | Some(Json::Null) => &Map::new(),
        Some(Json::Object(o)) => o,
        Some(_) => {
            errors.push(err("filters", "must be an object"));
            return filters;
        }
    };
    for key in obj.keys() {
        if !["activityTypes", "fromDate", "segmentId", "toDate"].contains(&key.as_str()) {
            errors.push(err(&format!("filters.{key}"), "is not a known filter"));
        }
    }
    match obj.get("segmentId") {
        None | Some(Json::Null) => {}
        Some(Json::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_ID_CHARS => {
            filters.segment_id = Some(s.clone());
        }
        Some(Json::String(_)) => errors.push(err(
            "filters.segmentId",
            format!("must be a non-empty string of at most {MAX_ID_CHARS} characters"),
        )),
        Some(_) => errors.push(err("filters.segmentId", "must be a string")),
    }
    match obj.get("activityTypes") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            if items.len() > MAX_ACTIVITY_TYPES {
                errors.push(err(
                    "filters.activityTypes",
                    format!("may list at most {MAX_ACTIVITY_TYPES} types"),
                ));
            } else {
                let mut types = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(t) if ACTIVITY_TYPES.contains(&t) => {
                            if !types.iter().any(|x: &String| x == t) {
                                types.push(t.to_string());
                            }
                        }
                        _ => errors.push(err(
                            &format!("filters.activityTypes[{i}]"),
                            format!("must be one of {}", ACTIVITY_TYPES.join(", ")),
                        )),
                    }
                }
                filters.activity_types = Some(types);
            }
        }
        Some(_) => errors.push(err("filters.activityTypes", "must be an array of strings")),
    }
    filters.from_date = date_field(obj, "fromDate", errors);
    filters.to_date = date_field(obj, "toDate", errors);
    match export_type {
        Some(ExportType::Contacts) => {
            for name in ["activityTypes", "fromDate", "toDate"] {
                if obj.get(name).is_some_and(|v| !v.is_null()) {
                    errors.push(err(
                        &format!("filters.{name}"),
                        "can be set only for the 'activities' export type",
                    ));
                }
            }
        }
        Some(ExportType::Activities) => {
            for name in ["fromDate", "toDate"] {
                if obj.get(name).is_none_or(Json::is_null) {
                    errors.push(err(
                        &format!("filters.{name}"),
                        "is required for the 'activities' export type",
                    ));
                }
            }
            if let (Some(from), Some(to)) = (filters.from_date, filters.to_date) {
                if from >= to {
                    errors.push(err("filters.toDate", "must be later than filters.fromDate"));
                } else if to - from > Duration::days(MAX_WINDOW_DAYS) {
                    errors.push(err(
                        "filters.toDate",
                        format!(
                            "the range between fromDate and toDate cannot be greater than {MAX_WINDOW_DAYS} days"
                        ),
                    ));
                }
            }
        }
        None => {}
    }
    filters
}

/// Parses and validates an ExportCreation body.
///
/// # Errors
/// 400 when the body is not JSON; 422 with every field error otherwise.
pub fn parse_creation(body: &[u8]) -> Result<ExportSpec, HttpError> {
    let value: Json = crate::api::json::parse_value(body).map_err(|e| match e {
        JsonBodyError::Syntax(e) => HttpError::new(
            400,
            format!("Invalid JSON at line {} column {}", e.line(), e.column()),
        ),
        dup => HttpError::new(400, format!("Invalid JSON: {dup}")),
    })?;
    let Json::Object(obj) = value else {
        return Err(HttpError::unprocessable(vec![err(
            "",
            "the body must be a JSON object (ExportCreation)",
        )]));
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if ![
            "compression",
            "dateFormat",
            "delimiter",
            "exportType",
            "filters",
            "version",
        ]
        .contains(&key.as_str())
        {
            errors.push(err(key, "is not a property of ExportCreation"));
        }
    }
    let export_type = enum_field(
        &obj,
        "exportType",
        &[
            ("contacts", ExportType::Contacts),
            ("activities", ExportType::Activities),
        ],
        None,
        &mut errors,
    );
    let date_format = enum_field(
        &obj,
        "dateFormat",
        &[
            ("ISO", DateFormat::Iso),
            ("L", DateFormat::L),
            ("LL", DateFormat::LL),
            ("LLL", DateFormat::LLL),
        ],
        None,
        &mut errors,
    );
    let delimiter = enum_field(
        &obj,
        "delimiter",
        &[(",", ','), (";", ';')],
        None,
        &mut errors,
    );
    let version = enum_field(
        &obj,
        "version",
        &[("v1", ExportVersion::V1), ("v2", ExportVersion::V2)],
        Some(ExportVersion::V1),
        &mut errors,
    );
    let compression = enum_field(
        &obj,
        "compression",
        &[("none", Compression::None), ("gzip", Compression::Gzip)],
        Some(Compression::None),
        &mut errors,
    );
    let filters = parse_filters(obj.get("filters"), export_type, &mut errors);
    match (export_type, date_format, delimiter, version, compression) {
        (
            Some(export_type),
            Some(date_format),
            Some(delimiter),
            Some(version),
            Some(compression),
        ) if errors.is_empty() => Ok(ExportSpec {
            export_type,
            date_format,
            delimiter,
            version,
            filters,
            compression,
        }),
        _ => Err(HttpError::unprocessable(errors)),
    }
}

/// A presigned download link.
#[derive(Debug, Clone)]
pub struct FileLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// The Export resource of a job (`fileUrl` only when finished and given;
/// `tasks` when the job was split into tasks).
pub fn export_resource(job: &BulkJob, link: Option<&FileLink>, tasks: Option<&TaskCounts>) -> Json {
    let spec = &job.spec;
    let mut r = json!({
        "id": job.id,
        "status": job.status,
        "exportType": spec.export_type,
        "dateFormat": spec.date_format,
        "delimiter": spec.delimiter.to_string(),
        "version": spec.version,
        "compression": spec.compression,
        "filters": spec.filters,
        "progress": job.progress,
        "total": job.total,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
    });
    if let Some(out) = &job.output {
        r["rows"] = json!(out.rows);
        r["bytes"] = json!(out.bytes);
        r["sha256"] = json!(out.sha256);
        r["finishedAt"] = json!(out.finished_at);
        if let Some(link) = link {
            r["fileUrl"] = json!(link.url);
            r["fileUrlExpiresAt"] = json!(link.expires_at);
        }
    }
    if let Some(e) = &job.error {
        r["error"] = json!(e);
    }
    if let Some(t) = tasks {
        r["tasks"] = json!(t);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Vec<String> {
        match parse_creation(body.as_bytes()) {
            Err(e) if e.status == 422 => e.errors.into_iter().map(|f| f.field).collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_contacts_export_defaults_to_v1() {
        let s = parse_creation(br#"{"exportType":"contacts","dateFormat":"ISO","delimiter":";"}"#)
            .unwrap();
        assert_eq!(s.version, ExportVersion::V1);
        assert_eq!(s.delimiter, ';');
        assert_eq!(s.filters, ExportFilters::default());
    }

    #[test]
    fn invalid_json_is_400_and_wrong_shapes_are_422() {
        assert_eq!(parse_creation(b"{nope").unwrap_err().status, 400);
        assert_eq!(fields("[]"), [""]);
        assert_eq!(
            fields(
                r#"{"exportType":1,"dateFormat":"X","delimiter":"|","version":"v3","extra":true}"#
            ),
            ["extra", "exportType", "dateFormat", "delimiter", "version"]
        );
        assert_eq!(fields("{}"), ["exportType", "dateFormat", "delimiter"]);
    }

    #[test]
    fn activity_filters_only_for_activities() {
        let body = r#"{"exportType":"contacts","dateFormat":"L","delimiter":",",
            "filters":{"activityTypes":["call"],"fromDate":"2026-01-01T00:00:00Z","toDate":"2026-01-02T00:00:00Z"}}"#;
        assert_eq!(
            fields(body),
            [
                "filters.activityTypes",
                "filters.fromDate",
                "filters.toDate"
            ]
        );
        let missing = r#"{"exportType":"activities","dateFormat":"L","delimiter":","}"#;
        assert_eq!(fields(missing), ["filters.fromDate", "filters.toDate"]);
        let unknown = r#"{"exportType":"activities","dateFormat":"L","delimiter":",",
            "filters":{"activityTypes":["call","fax"],"fromDate":"2026-01-01T00:00:00Z","toDate":"2026-01-02T00:00:00Z","x":1}}"#;
        assert_eq!(fields(unknown), ["filters.x", "filters.activityTypes[1]"]);
    }

    #[test]
    fn the_window_is_at_most_31_days() {
        let body = |to: &str| {
            format!(
                r#"{{"exportType":"activities","dateFormat":"ISO","delimiter":",","filters":{{"fromDate":"2026-01-01T00:00:00Z","toDate":"{to}"}}}}"#
            )
        };
        assert!(parse_creation(body("2026-02-01T00:00:00Z").as_bytes()).is_ok());
        let e = parse_creation(body("2026-02-01T00:00:01Z").as_bytes()).unwrap_err();
        assert_eq!(e.errors[0].field, "filters.toDate");
        assert!(e.errors[0].message.contains("31 days"));
        assert_eq!(fields(&body("2026-01-01T00:00:00Z")), ["filters.toDate"]);
        assert_eq!(fields(&body("2026-01-05")), ["filters.toDate"]);
    }
}
