//! The TenantConfig `GLOBAL` items of the reference data, shared by both
//! backends: which sort key each value is stored under.

use crate::model::ReferenceData;
use crate::store::{keys, StoreError};

/// Every item of `data` as `(sk, JSON text)`, under [`keys::GLOBAL_PK`].
///
/// # Errors
/// [`StoreError::Corrupt`] when a value does not serialise.
pub fn reference_items(data: &ReferenceData) -> Result<Vec<(String, String)>, StoreError> {
    fn json<T: serde::Serialize>(sk: String, v: &T) -> Result<(String, String), StoreError> {
        serde_json::to_string(v)
            .map(|d| (sk.clone(), d))
            .map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))
    }
    let mut out = Vec::new();
    for i in &data.industries {
        out.push(json(keys::industry_sk(&i.name), i)?);
    }
    for c in &data.countries {
        out.push(json(keys::country_sk(&c.cca3), c)?);
    }
    for c in &data.cities {
        out.push(json(keys::city_sk(&c.country, &c.name), c)?);
    }
    for p in &data.phone_codes {
        out.push(json(keys::phone_sk(&p.cca2), p)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_value_has_its_own_key() {
        // GIVEN the bundled data, WHEN it becomes items
        let data = ReferenceData::bundled().expect("data");
        let items = reference_items(&data).expect("items");
        // THEN no two share a sort key, and each list has its prefix
        let keys: std::collections::HashSet<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys.len(), items.len());
        assert!(keys.contains("COUNTRY#CHL"));
        assert!(keys.contains("CITY#CHL#Santiago"));
        assert!(keys.contains("PHONE#CL"));
        assert!(keys.contains("INDUSTRY#TECHNOLOGY"));
    }
}
