//! Reference data shared by every tenant (TenantConfig `GLOBAL`):
//! industries, ISO 3166-1 countries, cities per country and phone codes.
//!
//! The data ships with the project in `data/reference/*.json` and is compiled
//! into the binary ([`ReferenceData::bundled`]), so `exports-local seed` and
//! `exports-local load-reference` load the same set on every backend.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One industry (`GET /api/industries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Industry {
    /// The value of an organisation's `industry` field (`FINANCIAL_SERVICES`).
    pub name: String,
    pub display_name: String,
}

/// A country's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryName {
    pub common: String,
    pub official: String,
}

/// International direct dialling: `root` + one of `suffixes` is a calling code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idd {
    pub root: String,
    pub suffixes: Vec<String>,
}

/// One ISO 3166-1 country (`GET /api/core/geo/v1/countries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    pub cca2: String,
    pub cca3: String,
    pub ccn3: String,
    pub name: CountryName,
    pub flag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idd: Option<Idd>,
}

impl Country {
    /// Whether `code` is this country's alpha-2, alpha-3 or numeric code
    /// (letters in any case).
    pub fn has_code(&self, code: &str) -> bool {
        let code = code.trim();
        self.cca2.eq_ignore_ascii_case(code)
            || self.cca3.eq_ignore_ascii_case(code)
            || self.ccn3 == code
    }
}

/// The paths a `fields` projection of countries may name.
pub const COUNTRY_FIELDS: [&str; 10] = [
    "cca2",
    "cca3",
    "ccn3",
    "name",
    "name.common",
    "name.official",
    "flag",
    "idd",
    "idd.root",
    "idd.suffixes",
];

/// One city (`GET /api/core/geo/v1/cities?country=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    pub name: String,
    /// The country's ISO alpha-3 code.
    pub country: String,
}

/// One dialling code (`GET /api/core/geo/v1/phone-codes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneCode {
    pub cca2: String,
    pub cca3: String,
    /// The country's common name.
    pub name: String,
    /// `+` and the E.164 country calling code (`+56`).
    pub code: String,
    pub flag: String,
}

/// Every reference list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReferenceData {
    pub industries: Vec<Industry>,
    pub countries: Vec<Country>,
    pub cities: Vec<City>,
    pub phone_codes: Vec<PhoneCode>,
}

/// A reference file that does not parse or does not hang together.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("{file}: {source}")]
    Parse {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ReferenceData {
    /// The data of `data/reference/`, compiled in.
    ///
    /// # Errors
    /// [`ReferenceError`] when a file does not parse or a city names an
    /// unknown country (a test keeps the shipped files valid).
    pub fn bundled() -> Result<Self, ReferenceError> {
        Self::parse(
            include_str!("../../../data/reference/industries.json"),
            include_str!("../../../data/reference/countries.json"),
            include_str!("../../../data/reference/cities.json"),
            include_str!("../../../data/reference/phone-codes.json"),
        )
    }

    /// Parses the four files: `cities` maps an alpha-3 code to city names.
    ///
    /// # Errors
    /// As [`ReferenceData::bundled`].
    pub fn parse(
        industries: &str,
        countries: &str,
        cities: &str,
        phone_codes: &str,
    ) -> Result<Self, ReferenceError> {
        fn read<T: serde::de::DeserializeOwned>(
            file: &'static str,
            text: &str,
        ) -> Result<T, ReferenceError> {
            serde_json::from_str(text).map_err(|source| ReferenceError::Parse { file, source })
        }
        let industries: Vec<Industry> = read("industries.json", industries)?;
        let countries: Vec<Country> = read("countries.json", countries)?;
        let by_country: BTreeMap<String, Vec<String>> = read("cities.json", cities)?;
        let phone_codes: Vec<PhoneCode> = read("phone-codes.json", phone_codes)?;
        let mut cities = Vec::new();
        for (code, names) in by_country {
            if !countries.iter().any(|c| c.cca3 == code) {
                return Err(ReferenceError::Invalid(format!(
                    "cities.json: '{code}' is not the alpha-3 code of a country"
                )));
            }
            cities.extend(names.into_iter().map(|name| City {
                name,
                country: code.clone(),
            }));
        }
        Ok(ReferenceData {
            industries,
            countries,
            cities,
            phone_codes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_files_parse_and_hang_together() {
        // GIVEN the shipped reference files, WHEN they are parsed
        let data = ReferenceData::bundled().expect("valid reference data");
        // THEN every ISO country is there with unique codes
        assert_eq!(data.countries.len(), 249);
        let mut codes = std::collections::HashSet::new();
        for c in &data.countries {
            assert!(codes.insert(c.cca3.clone()), "{} twice", c.cca3);
            assert_eq!(c.cca2.len(), 2);
            assert_eq!(c.cca3.len(), 3);
        }
        let chl = data.countries.iter().find(|c| c.has_code("cl")).unwrap();
        assert_eq!(chl.cca3, "CHL");
        assert_eq!(chl.name.common, "Chile");
        // AND CLDR's short/variant form is the common name where it is the
        // one people use, its default name the official one
        let civ = data.countries.iter().find(|c| c.has_code("CIV")).unwrap();
        assert_eq!(civ.name.common, "Ivory Coast");
        assert_eq!(civ.name.official, "Côte d’Ivoire");
        let hkg = data.countries.iter().find(|c| c.has_code("HK")).unwrap();
        assert_eq!(hkg.name.common, "Hong Kong");
        // AND NANP members other than the US and Canada keep their area code
        let code = |cca3: &str| {
            data.phone_codes
                .iter()
                .find(|p| p.cca3 == cca3)
                .map(|p| p.code.as_str())
        };
        assert_eq!(code("USA"), Some("+1"));
        assert_eq!(code("AIA"), Some("+1264"));
        assert_eq!(code("KOR"), Some("+82"));
        // AND phone codes and cities point at real countries
        assert!(data
            .phone_codes
            .iter()
            .any(|p| p.cca3 == "CHL" && p.code == "+56"));
        assert!(data
            .cities
            .iter()
            .any(|c| c.country == "CHL" && c.name == "Santiago"));
        assert!(data.industries.iter().any(|i| i.name == "TECHNOLOGY"));
    }

    #[test]
    fn a_city_of_an_unknown_country_is_refused() {
        let err = ReferenceData::parse("[]", "[]", r#"{"XXX": ["Nowhere"]}"#, "[]").unwrap_err();
        assert!(err.to_string().contains("'XXX'"), "{err}");
    }
}
