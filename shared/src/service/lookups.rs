//! The configuration lookups of the conventions: the `fields` projection of
//! countries and the country code of the cities lookup.

use super::error::ServiceError;
use crate::model::reference::COUNTRY_FIELDS;
use crate::model::Country;
use serde_json::{Map, Value as Json};

/// The longest `fields` or `country` query value.
pub const MAX_QUERY_VALUE: usize = 500;

/// Parses `fields` (`cca3,name.common`): comma-separated paths from
/// [`COUNTRY_FIELDS`]. `None` or blank keeps every field.
///
/// # Errors
/// [`ServiceError::InvalidFields`] naming each unknown path.
pub fn parse_fields(fields: Option<&str>) -> Result<Option<Vec<String>>, ServiceError> {
    let Some(raw) = fields.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let invalid = ServiceError::InvalidFields;
    if raw.len() > MAX_QUERY_VALUE {
        return Err(invalid(vec![format!(
            "fields: at most {MAX_QUERY_VALUE} characters"
        )]));
    }
    let mut paths = Vec::new();
    let mut unknown = Vec::new();
    for path in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if COUNTRY_FIELDS.contains(&path) {
            if !paths.iter().any(|p| p == path) {
                paths.push(path.to_string());
            }
        } else {
            unknown.push(format!(
                "fields: unknown field '{}'; expected some of {}",
                path.chars().take(60).collect::<String>(),
                COUNTRY_FIELDS.join(", ")
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(invalid(unknown));
    }
    Ok(Some(paths))
}

/// A country as JSON, keeping only `paths` (all fields when `None`). Nested
/// paths keep their nesting: `name.common` gives `{"name":{"common":..}}`.
/// A path the country lacks (a territory without `idd`) is left out.
pub fn project(country: &Country, paths: Option<&[String]>) -> Json {
    let full = serde_json::to_value(country).unwrap_or(Json::Null);
    let Some(paths) = paths else {
        return full;
    };
    let mut out = Map::new();
    for path in paths {
        let parts: Vec<&str> = path.split('.').collect();
        let Some(value) = parts.iter().try_fold(&full, |v, p| v.get(*p)) else {
            continue;
        };
        let mut target = &mut out;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                target.insert((*part).to_string(), value.clone());
            } else {
                let entry = target
                    .entry((*part).to_string())
                    .or_insert_with(|| Json::Object(Map::new()));
                if !entry.is_object() {
                    break;
                }
                let Json::Object(next) = entry else { break };
                target = next;
            }
        }
    }
    Json::Object(out)
}

/// The country a `country` query value names (alpha-2, alpha-3 or numeric).
///
/// # Errors
/// [`ServiceError::UnknownCountry`] when it is missing or names no country.
pub fn find_country<'a>(
    countries: &'a [Country],
    code: Option<&str>,
) -> Result<&'a Country, ServiceError> {
    let unknown = ServiceError::UnknownCountry;
    let code = code
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            unknown(
                "country: required; an ISO 3166-1 alpha-2 or alpha-3 code such as CL or CHL".into(),
            )
        })?;
    countries.iter().find(|c| c.has_code(code)).ok_or_else(|| {
        unknown(format!(
            "country: unknown country code '{}'; use an ISO 3166-1 alpha-2 or alpha-3 code such as CL or CHL",
            code.chars().take(20).collect::<String>()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReferenceData;
    use serde_json::json;

    #[test]
    fn the_projection_keeps_nested_paths() {
        // GIVEN Chile, WHEN projected on the seed's fields
        let data = ReferenceData::bundled().unwrap();
        let chl = find_country(&data.countries, Some("chl")).unwrap();
        let fields = parse_fields(Some("cca3,name.common")).unwrap();
        // THEN only those paths remain, nested
        assert_eq!(
            project(chl, fields.as_deref()),
            json!({"cca3": "CHL", "name": {"common": "Chile"}})
        );
        let both = parse_fields(Some("name.common, name.official,idd.root")).unwrap();
        assert_eq!(
            project(chl, both.as_deref()),
            json!({"name": {"common": "Chile", "official": "Chile"}, "idd": {"root": "+5"}})
        );
        assert_eq!(project(chl, None)["cca2"], "CL");
    }

    #[test]
    fn unknown_fields_and_countries_are_named() {
        let e = parse_fields(Some("cca3,capital,name.x")).unwrap_err();
        assert!(
            matches!(&e, ServiceError::InvalidFields(p) if p.len() == 2),
            "{e}"
        );
        let data = ReferenceData::bundled().unwrap();
        let e = find_country(&data.countries, Some("XX")).unwrap_err();
        assert!(
            matches!(&e, ServiceError::UnknownCountry(p) if p.contains("'XX'")),
            "{e}"
        );
        assert!(find_country(&data.countries, None).is_err());
        assert_eq!(
            find_country(&data.countries, Some("152")).unwrap().cca3,
            "CHL"
        );
    }
}
