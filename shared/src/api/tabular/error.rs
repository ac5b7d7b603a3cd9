//! The conventions' standard error body and the `BE####` catalogue.
//!
//! Every error of the tabular exports API becomes an [`ApiError`], and
//! [`ApiError::to_response`] is the one place that turns it into HTTP.
//! `docs/errors.md` lists the same codes; a test keeps the two in step.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Response};
use serde::Serialize;

/// The documented error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MissingToken,
    InvalidToken,
    Forbidden,
    TenantForbidden,
    MissingHeader,
    InvalidHeader,
    HeaderMismatch,
    MalformedJson,
    ValidationFailed,
    NoColumns,
    InvalidColumn,
    InvalidSort,
    InvalidFilter,
    InvalidLocale,
    InvalidTimezone,
    NoRows,
    RowLimitExceeded,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Internal,
    Unavailable,
    InvalidPagination,
    UnknownCountry,
    InvalidFields,
}

/// `Retry-After` of a 503: storage that filled up needs an operator or a
/// clean-up, so a client waits half a minute, not a second.
pub const RETRY_AFTER_SECS: u64 = 30;

impl ErrorCode {
    /// Every code, for the documentation test.
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::MissingToken,
        ErrorCode::InvalidToken,
        ErrorCode::Forbidden,
        ErrorCode::TenantForbidden,
        ErrorCode::MissingHeader,
        ErrorCode::InvalidHeader,
        ErrorCode::HeaderMismatch,
        ErrorCode::MalformedJson,
        ErrorCode::ValidationFailed,
        ErrorCode::NoColumns,
        ErrorCode::InvalidColumn,
        ErrorCode::InvalidSort,
        ErrorCode::InvalidFilter,
        ErrorCode::InvalidLocale,
        ErrorCode::InvalidTimezone,
        ErrorCode::NoRows,
        ErrorCode::RowLimitExceeded,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::InvalidPagination,
        ErrorCode::UnknownCountry,
        ErrorCode::InvalidFields,
    ];

    /// The `BE####` string.
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::MissingToken => "BE0001",
            ErrorCode::InvalidToken => "BE0002",
            ErrorCode::Forbidden => "BE0003",
            ErrorCode::TenantForbidden => "BE0004",
            ErrorCode::HeaderMismatch => "BE0005",
            ErrorCode::MissingHeader => "BE0010",
            ErrorCode::InvalidHeader => "BE0011",
            ErrorCode::ValidationFailed => "BE0201",
            ErrorCode::MalformedJson => "BE0202",
            ErrorCode::NoColumns => "BE0301",
            ErrorCode::InvalidColumn => "BE0302",
            ErrorCode::InvalidSort => "BE0303",
            ErrorCode::InvalidFilter => "BE0304",
            ErrorCode::InvalidLocale => "BE0305",
            ErrorCode::InvalidTimezone => "BE0306",
            ErrorCode::InvalidPagination => "BE0307",
            ErrorCode::UnknownCountry => "BE0308",
            ErrorCode::InvalidFields => "BE0309",
            ErrorCode::NoRows => "BE0310",
            ErrorCode::RowLimitExceeded => "BE0311",
            ErrorCode::NotFound => "BE0404",
            ErrorCode::MethodNotAllowed => "BE0405",
            ErrorCode::PayloadTooLarge => "BE0413",
            ErrorCode::UnsupportedMediaType => "BE0415",
            ErrorCode::Internal => "BE0500",
            ErrorCode::Unavailable => "BE0503",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::MissingToken | ErrorCode::InvalidToken => 401,
            ErrorCode::Forbidden | ErrorCode::TenantForbidden | ErrorCode::HeaderMismatch => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            _ => 400,
        }
    }
}

/// An error on its way to the client: a safe message, optional details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body_<'a> {
    error_code: &'static str,
    message: &'a str,
    status: u16,
    path: &'a str,
    timestamp: String,
    details: Option<&'a [String]>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body of the conventions (`errorCode`, `message`, `status`,
    /// `path`, `timestamp`, `details`).
    pub fn body(&self, path: &str, now: DateTime<Utc>) -> serde_json::Value {
        serde_json::to_value(self.body_struct(path, now)).unwrap_or(serde_json::Value::Null)
    }

    fn body_struct<'a>(&'a self, path: &'a str, now: DateTime<Utc>) -> Body_<'a> {
        Body_ {
            error_code: self.code.code(),
            message: &self.message,
            status: self.status(),
            path,
            timestamp: now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            details: self.details.as_deref(),
        }
    }

    /// The HTTP response. 405 carries `Allow: POST`.
    pub fn to_response(&self, path: &str, now: DateTime<Utc>) -> Response<Body> {
        self.to_response_allowing(path, now, "POST")
    }

    /// The HTTP response; 405 carries `Allow: {allow}` (the methods of the
    /// resource that was asked for).
    pub fn to_response_allowing(
        &self,
        path: &str,
        now: DateTime<Utc>,
        allow: &'static str,
    ) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status())
            .header(http::header::CONTENT_TYPE, "application/json");
        if self.code == ErrorCode::MethodNotAllowed {
            builder = builder.header(http::header::ALLOW, allow);
        }
        if self.code == ErrorCode::Unavailable {
            builder = builder.header(http::header::RETRY_AFTER, RETRY_AFTER_SECS.to_string());
        }
        // Serialised from the struct, so keys keep the conventions' order.
        let body =
            Body::Text(serde_json::to_string(&self.body_struct(path, now)).unwrap_or_default());
        builder.body(body).unwrap_or_else(|_| {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError as A;
        let code = match &e {
            A::MissingToken => ErrorCode::MissingToken,
            A::InvalidToken | A::ExpiredToken => ErrorCode::InvalidToken,
            A::MissingHeader(_) => ErrorCode::MissingHeader,
            A::InvalidHeader(..) => ErrorCode::InvalidHeader,
            A::HeaderMismatch(_) => ErrorCode::HeaderMismatch,
            A::TenantNotGranted => ErrorCode::TenantForbidden,
            A::RoleNotAllowed | A::UserTypeNotAllowed => ErrorCode::Forbidden,
        };
        ApiError::new(code, capitalise(&e.to_string()))
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_conventions_shape() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 1, 15, 10, 30, 0).unwrap();
        let e = ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
            .with_details(vec!["firstName: must not be blank".into()]);
        assert_eq!(
            e.body("/api/exports/contacts", now),
            serde_json::json!({
                "errorCode": "BE0201",
                "message": "Validation failed",
                "status": 400,
                "path": "/api/exports/contacts",
                "timestamp": "2024-01-15T10:30:00",
                "details": ["firstName: must not be blank"]
            })
        );
        let r = ApiError::new(ErrorCode::MethodNotAllowed, "x").to_response("/", now);
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
    }

    #[test]
    fn codes_are_unique_and_documented() {
        let docs = include_str!("../../../../docs/errors.md");
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            let row = format!("| {} | {} |", code.code(), code.status());
            assert!(
                docs.contains(&row),
                "docs/errors.md lacks the row starting {row}"
            );
        }
    }
}
