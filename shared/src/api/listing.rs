//! The v2 list endpoints of the conventions: `POST /api/{entity}/filter`
//! (a page of the rows a filter selects) and `POST /api/{entity}/filter-values`
//! (the distinct values of one field). Request bodies, their validation, and
//! the page envelope ([`crate::service::page`]). Errors use the standard
//! body ([`ApiError`]).

use super::tabular::{ApiError, ErrorCode};
pub use crate::service::page::{
    parse_sort, PageOf, PageSpec, SortSpec, DEFAULT_SIZE, MAX_PAGE, MAX_SIZE, MAX_SORTS, MAX_WINDOW,
};
pub use crate::service::request::{FilterPageRequest, FilterValuesRequest};

/// Parses a JSON body into `T`, with the tabular API's error rules: syntax
/// errors are [`ErrorCode::MalformedJson`]; wrong types, unknown or missing
/// fields are [`ErrorCode::ValidationFailed`] naming the path.
///
/// # Errors
/// As above.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let json = crate::api::tabular::parse_json_object(body)?;
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = match e.path().to_string() {
            p if p == "." => "body".to_string(),
            p => p,
        };
        ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
            .with_details(vec![format!("{path}: {}", e.into_inner())])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_report_the_path_at_fault() {
        let e = parse_body::<FilterPageRequest>(br#"{"page":"x"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert!(e.details.unwrap()[0].starts_with("page: invalid type"));
        let e = parse_body::<FilterPageRequest>(br#"{"pag":1}"#).unwrap_err();
        assert!(e.details.unwrap()[0].starts_with("pag: unknown field"));
        let e = parse_body::<FilterValuesRequest>(b"{}").unwrap_err();
        assert!(e.details.unwrap()[0].contains("missing field `field`"));
        let e = parse_body::<FilterPageRequest>(b"{").unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedJson);
    }
}
