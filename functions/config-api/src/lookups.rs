//! The GET lookups that take query parameters: countries (`fields`) and
//! cities (`country`).

use crate::{json, Deps, HandlerError};
use exports_shared::api::tabular::{ApiError, ErrorCode};
use exports_shared::service::lookups::{find_country, parse_fields, project, MAX_QUERY_VALUE};

/// The query parameters of a request, each given at most once.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes a query string (`application/x-www-form-urlencoded`).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationFailed`] when a parameter is repeated or too long.
    pub(crate) fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut details = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if out.iter().any(|(seen, _)| *seen == k) {
                details.push(format!("{}: given more than once", short(&k)));
            } else if v.len() > MAX_QUERY_VALUE {
                details.push(format!(
                    "{}: at most {MAX_QUERY_VALUE} characters",
                    short(&k)
                ));
            } else {
                out.push((k.into_owned(), v.into_owned()));
            }
        }
        if details.is_empty() {
            Ok(Query(out))
        } else {
            Err(
                ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
                    .with_details(details),
            )
        }
    }

    /// Refuses parameters other than `known`.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationFailed`] naming each unknown parameter.
    pub(crate) fn allow(&self, known: &[&str]) -> Result<(), ApiError> {
        let unknown: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, _)| {
                if known.is_empty() {
                    format!("{}: this endpoint takes no query parameters", short(k))
                } else {
                    format!(
                        "{}: unknown query parameter; expected {}",
                        short(k),
                        known.join(", ")
                    )
                }
            })
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(
                ApiError::new(ErrorCode::ValidationFailed, "Validation failed")
                    .with_details(unknown),
            )
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `GET /api/core/geo/v1/countries[?fields=...]`
pub(crate) async fn countries(deps: &Deps, query: &Query) -> Result<String, HandlerError> {
    query.allow(&["fields"])?;
    let fields = parse_fields(query.get("fields"))?;
    let countries = deps.reference.countries().await?;
    let out: Vec<serde_json::Value> = countries
        .iter()
        .map(|c| project(c, fields.as_deref()))
        .collect();
    Ok(json(&out))
}

/// `GET /api/core/geo/v1/cities?country={code}`
pub(crate) async fn cities(deps: &Deps, query: &Query) -> Result<String, HandlerError> {
    query.allow(&["country"])?;
    let countries = deps.reference.countries().await?;
    let country = find_country(&countries, query.get("country"))?;
    Ok(json(&deps.reference.cities(&country.cca3).await?))
}
