//! The OpenAPI 3.1 document of every API (`openapi/exports.yaml`), embedded
//! in the binary and served by `exports-local serve` at `/openapi.yaml` and
//! `/openapi.json`, outside the API Gateway routes (like the `/files/`
//! links), so Postman, Insomnia or a client generator can import it from
//! the running server.

use std::sync::Arc;

/// The document as written (YAML).
pub const YAML: &str = include_str!("../../../openapi/exports.yaml");

/// Where the document is served.
pub const JSON_PATH: &str = "/openapi.json";
/// Where the YAML document is served.
pub const YAML_PATH: &str = "/openapi.yaml";

/// The media type of the YAML document (RFC 9512).
pub const YAML_CONTENT_TYPE: &str = "application/yaml";

/// Why the embedded document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("openapi/exports.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_saphyr::Error),
    #[error("openapi/exports.yaml cannot be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The document in both forms, converted once when the server starts.
#[derive(Debug, Clone)]
pub struct OpenApi {
    json: Arc<str>,
}

impl OpenApi {
    /// Parses the embedded YAML and writes it as JSON.
    ///
    /// # Errors
    /// When the embedded document is not valid YAML (a test keeps it valid).
    pub fn load() -> Result<OpenApi, OpenApiError> {
        let value = parse(YAML)?;
        Ok(OpenApi {
            json: serde_json::to_string(&value)?.into(),
        })
    }

    /// The document as JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The document as YAML, as written.
    pub fn yaml(&self) -> &'static str {
        YAML
    }
}

/// A YAML document as a JSON value.
///
/// # Errors
/// When `yaml` is not valid YAML or holds what JSON cannot.
pub fn parse(yaml: &str) -> Result<serde_json::Value, serde_saphyr::Error> {
    serde_saphyr::from_str(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_document_converts_to_json() {
        let spec = OpenApi::load().expect("valid YAML");
        let json: serde_json::Value = serde_json::from_str(spec.json()).expect("JSON");
        assert_eq!(json["openapi"], "3.1.0");
        assert!(json["paths"]["/exports/{id}"]["get"].is_object());
        // Status codes are keys, quoted in the YAML.
        assert!(json["paths"]["/exports"]["post"]["responses"]["201"].is_object());
    }
}
