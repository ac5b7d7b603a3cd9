//! `TabularExportRequest` ([`crate::service::request`]), parsed from the
//! body with field paths in every error.

use super::error::{ApiError, ErrorCode};
pub use crate::render::ExportFormat;
pub use crate::service::request::{
    ColumnRequest, SortDirection, SortRequest, TabularExportRequest, TypeHint, ViewState,
};

/// The most columns one export may have.
pub const MAX_COLUMNS: usize = 500;
/// The longest label, locale, timezone or screen name.
pub const MAX_TEXT: usize = 255;

/// Parses and validates the shape of a body. Semantic checks (do the columns
/// exist, is the locale valid) happen in the service, against the tenant.
///
/// # Errors
/// [`ErrorCode::MalformedJson`] for syntax errors, [`ErrorCode::ValidationFailed`]
/// with `path: problem` details for wrong types, unknown or missing fields.
pub fn parse_request(body: &[u8]) -> Result<TabularExportRequest, ApiError> {
    // Syntax first, so a type error is never reported as malformed JSON.
    let json = parse_json_object(body)?;
    let mut ignored = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
    let read = serde_ignored::Deserializer::new(json, &mut note);
    let req: TabularExportRequest = serde_path_to_error::deserialize(read).map_err(|e| {
        let path = match e.path().to_string() {
            p if p == "." => "body".to_string(),
            p => p,
        };
        ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
            .with_details(vec![format!("{path}: {}", e.into_inner())])
    })?;
    if !ignored.is_empty() {
        tracing::debug!(?ignored, "view state properties the export does not use");
    }
    validate_lengths(&req)?;
    Ok(req)
}

/// A body as a JSON object, in the tabular API's error shape: syntax errors
/// are [`ErrorCode::MalformedJson`]; a repeated key or a body that is not an
/// object is [`ErrorCode::ValidationFailed`] naming the path.
///
/// # Errors
/// As above.
pub fn parse_json_object(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let json = crate::api::json::parse_value(body).map_err(|e| match e.dotted_path() {
        Some(path) => ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
            .with_details(vec![format!("{path}: duplicate key")]),
        None => ApiError::new(ErrorCode::MalformedJson, "Malformed JSON body")
            .with_details(vec![e.to_string()]),
    })?;
    if !json.is_object() {
        return Err(
            ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
                .with_details(vec!["body: expected a JSON object".into()]),
        );
    }
    Ok(json)
}

fn validate_lengths(req: &TabularExportRequest) -> Result<(), ApiError> {
    let mut details = Vec::new();
    let mut check = |path: String, value: Option<&str>| {
        if value.is_some_and(|v| v.chars().count() > MAX_TEXT) {
            details.push(format!("{path}: must be at most {MAX_TEXT} characters"));
        }
    };
    check("locale".into(), req.locale.as_deref());
    check("timezone".into(), req.timezone.as_deref());
    check("uiScreenName".into(), req.ui_screen_name.as_deref());
    if let Some(cols) = req.view_state.as_ref().and_then(|v| v.columns.as_ref()) {
        for (i, c) in cols.iter().enumerate() {
            check(format!("viewState.columns[{i}].label"), c.label.as_deref());
            check(format!("viewState.columns[{i}].id"), Some(&c.id));
            check(
                format!("viewState.columns[{i}].formUuid"),
                c.form_uuid.as_deref(),
            );
        }
        if cols.len() > MAX_COLUMNS {
            details.push(format!(
                "viewState.columns: at most {MAX_COLUMNS} columns are allowed"
            ));
        }
    }
    if let Some(name) = &req.ui_screen_name {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            details.push("uiScreenName: only letters, digits, '_', '-' and '.' are allowed".into());
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ValidationFailed, "Validation failed").with_details(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldType;

    fn details(body: &str) -> (ErrorCode, Vec<String>) {
        let e = parse_request(body.as_bytes()).unwrap_err();
        (e.code, e.details.unwrap_or_default())
    }

    #[test]
    fn the_seed_example_parses() {
        let body = r#"{"format":"CSV","locale":"en","timezone":"America/New_York",
          "viewState":{"columns":[{"id":"firstName","label":"First Name","custom":false,"type":"STRING"}],
          "sort":{"field":"createdAt","direction":"DESC"}},
          "filters":[{"field":"contactType","operator":"equals","value":"ACTIVE"}]}"#;
        let r = parse_request(body.as_bytes()).unwrap();
        assert_eq!(r.format, ExportFormat::Csv);
        let vs = r.view_state.unwrap();
        assert_eq!(
            vs.columns.unwrap()[0].field_type,
            Some(TypeHint::Known(FieldType::String))
        );
        assert_eq!(vs.sort.unwrap().direction, SortDirection::Desc);
    }

    #[test]
    fn a_ui_grids_whole_view_state_is_read_for_what_the_export_uses() {
        // GIVEN a grid's view state with page size, widths, pinning, hidden
        // flags and type hints the service does not know
        let body = r#"{"format":"CSV","viewState":{"pageSize":50,"density":"compact",
          "columns":[{"id":"firstName","label":"Name","width":180,"pinned":"left","hide":false,"type":"TEXT"},
                     {"id":"createdAt","type":{"kind":"date"},"flex":1}],
          "sort":{"field":"createdAt","direction":"ASC","sortIndex":0}}}"#;
        // WHEN it is parsed
        let r = parse_request(body.as_bytes()).unwrap();
        // THEN the columns, their order and the sort are read, the rest ignored
        let vs = r.view_state.unwrap();
        let cols = vs.columns.unwrap();
        assert_eq!(cols[0].id, "firstName");
        assert_eq!(cols[0].label.as_deref(), Some("Name"));
        assert_eq!(cols[0].field_type.as_ref().and_then(TypeHint::known), None);
        assert_eq!(cols[1].id, "createdAt");
        assert_eq!(vs.sort.unwrap().direction, SortDirection::Asc);
        // AND a known property of the wrong type is still an error
        let (_, d) = details(r#"{"format":"CSV","viewState":{"columns":[{"id":"a","label":5}]}}"#);
        assert!(
            d[0].starts_with("viewState.columns[0].label: invalid type"),
            "{d:?}"
        );
    }

    #[test]
    fn every_shape_error_names_its_path() {
        // GIVEN bodies with one fault each, THEN the detail names where it is.
        let (code, d) = details("{\"format\":");
        assert_eq!(code, ErrorCode::MalformedJson);
        assert!(d[0].contains("EOF"), "{d:?}");

        let (code, d) = details(r#"{"format":"PDF","viewState":{"columns":[]}}"#);
        assert_eq!(code, ErrorCode::ValidationFailed);
        assert!(d[0].starts_with("format: unknown variant `PDF`"), "{d:?}");

        let (_, d) = details(r#"{"format":"CSV","viewState":{"columns":[{"id":5}]}}"#);
        assert!(
            d[0].starts_with("viewState.columns[0].id: invalid type: integer `5`"),
            "{d:?}"
        );

        let (_, d) = details(r#"{"format":"CSV","colums":[]}"#);
        assert!(d[0].starts_with("colums: unknown field `colums`"), "{d:?}");

        let (_, d) = details(r#"{"viewState":{"columns":[]}}"#);
        assert!(d[0].starts_with("body: missing field `format`"), "{d:?}");

        let (_, d) = details(r#"{"format":"CSV","filters":{"field":"a"}}"#);
        assert!(d[0].starts_with("filters: invalid type: map"), "{d:?}");

        let (_, d) = details(r#"{"format":"CSV","includeAllCustomFields":"yes"}"#);
        assert!(
            d[0].starts_with("includeAllCustomFields: invalid type"),
            "{d:?}"
        );

        let (_, d) =
            details(r#"{"format":"CSV","viewState":{"sort":{"field":"id","direction":"UP"}}}"#);
        assert!(
            d[0].starts_with("viewState.sort.direction: unknown variant `UP`"),
            "{d:?}"
        );

        let (code, _) = details(r#"{"format":"CSV"} trailing"#);
        assert_eq!(code, ErrorCode::MalformedJson);

        let (code, d) = details(r#"[1,2]"#);
        assert_eq!(d, ["body: expected a JSON object"]);
        assert_eq!(code, ErrorCode::ValidationFailed);
    }

    #[test]
    fn oversized_strings_and_bad_screen_names_are_rejected() {
        let long = "x".repeat(MAX_TEXT + 1);
        let body = format!(r#"{{"format":"CSV","locale":"{long}","uiScreenName":"a b"}}"#);
        let (code, d) = details(&body);
        assert_eq!(code, ErrorCode::ValidationFailed);
        assert_eq!(d.len(), 2, "{d:?}");
    }
}
