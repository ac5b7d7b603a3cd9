//! Deterministic synthetic CRM data: the same seed always gives the same
//! records, byte for byte (ChaCha8, which is stable across platforms).
//!
//! A few records carry hostile or unusual text on purpose (formula starts,
//! quotes, line breaks, accents) so exports are exercised on them.

use exports_shared::model::{EntityKind, Record, TenantId};
use exports_shared::store::{EntityWriter, StoreError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

/// How many records of each entity to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub contacts: u64,
    pub organisations: u64,
    pub households: u64,
}

/// Stage codes and display names.
pub const STAGES: [(&str, &str); 4] = [
    ("lead", "Lead"),
    ("prospect", "Prospect"),
    ("client", "Client"),
    ("inactive", "Inactive"),
];
pub const SOURCES: [(&str, &str); 3] = [
    ("referral", "Referral"),
    ("event", "Event"),
    ("website", "Website"),
];
pub const SEGMENTS: [(&str, &str); 3] = [
    ("retail", "Retail"),
    ("institutional", "Institutional"),
    ("private_banking", "Private Banking"),
];
pub const CONTACT_TYPES: [&str; 3] = ["ACTIVE", "INACTIVE", "LEAD"];
pub const INDUSTRIES: [&str; 4] = ["TECHNOLOGY", "FINANCIAL_SERVICES", "HEALTHCARE", "RETAIL"];

pub const CF_RISK_ONBOARDING: &str = "5d2f7c1e-8a3b-4c9d-b1e2-f3a4b5c6d7e8";
pub const CF_RISK_REVIEW: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
pub const CF_SCORE: &str = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
pub const CF_KYC: &str = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b";
pub const CF_TIER: &str = "2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b";

const FIRST: [&str; 12] = [
    "Ana",
    "José",
    "María",
    "Zoë",
    "Li",
    "Camila",
    "Diego",
    "Fernanda",
    "Tomás",
    "Valentina",
    "Matías",
    "Sofía",
];
const LAST: [&str; 10] = [
    "González",
    "Muñoz",
    "Rojas",
    "Díaz",
    "Pérez",
    "Soto",
    "Contreras",
    "Silva",
    "Martínez",
    "O'Brien",
];
/// Unusual values that every export path must survive.
const HOSTILE: [&str; 5] = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+1+1",
    "@SUM(A1:A9)",
    "Quote \"inside\", comma",
    "Line\nbreak",
];
const PLACES: [(&str, &str); 5] = [
    ("Santiago", "CHL"),
    ("New York", "USA"),
    ("Mexico City", "MEX"),
    ("Buenos Aires", "ARG"),
    ("Madrid", "ESP"),
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn uuid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// 2024-01-01T00:00:00Z and 2026-10-31T00:00:00Z: generated data lies between.
const FIRST_INSTANT: i64 = 1_704_067_200;
const LAST_INSTANT: i64 = 1_793_404_800;

/// An instant between [`FIRST_INSTANT`] and [`LAST_INSTANT`], as RFC 3339 UTC.
fn instant(rng: &mut ChaCha8Rng) -> (i64, String) {
    let secs = rng.random_range(FIRST_INSTANT..LAST_INSTANT);
    (secs, rfc3339(secs))
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn money(rng: &mut ChaCha8Rng, max: u64) -> f64 {
    rng.random_range(0..max * 100) as f64 / 100.0
}

fn timestamps(rng: &mut ChaCha8Rng, m: &mut Map<String, Value>) {
    let (created, created_s) = instant(rng);
    let updated = (created + rng.random_range(0..90 * 86_400)).min(LAST_INSTANT);
    m.insert("createdAt".into(), json!(created_s));
    m.insert("updatedAt".into(), json!(rfc3339(updated)));
}

/// One contact.
pub fn contact(rng: &mut ChaCha8Rng, i: u64, counts: Counts) -> Record {
    let id = uuid(rng);
    let first = if i % 97 == 13 {
        HOSTILE[(i / 97) as usize % HOSTILE.len()]
    } else {
        pick(rng, &FIRST)
    };
    let last = *pick(rng, &LAST);
    let (city, country) = *pick(rng, &PLACES);
    let mut m = Map::new();
    m.insert("firstName".into(), json!(first));
    if rng.random_bool(0.3) {
        m.insert("middleName".into(), json!(pick(rng, &FIRST)));
    }
    m.insert("paternalLastName".into(), json!(last));
    m.insert("maternalLastName".into(), json!(pick(rng, &LAST)));
    let local: String = first
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    m.insert(
        "preferredEmail".into(),
        json!(format!("{}.{}@example.com", local.to_lowercase(), i)),
    );
    m.insert(
        "phone".into(),
        json!(format!(
            "+56 9 {:04} {:04}",
            rng.random_range(0..10_000),
            rng.random_range(0..10_000)
        )),
    );
    m.insert("stage".into(), json!(pick(rng, &STAGES).0));
    m.insert("contactType".into(), json!(pick(rng, &CONTACT_TYPES)));
    m.insert("contactSource".into(), json!(pick(rng, &SOURCES).0));
    m.insert("segment".into(), json!(pick(rng, &SEGMENTS).0));
    if counts.organisations > 0 && rng.random_bool(0.6) {
        m.insert(
            "organisationId".into(),
            json!(format!(
                "org-{:06}",
                rng.random_range(0..counts.organisations)
            )),
        );
    }
    if counts.households > 0 && rng.random_bool(0.5) {
        m.insert(
            "householdId".into(),
            json!(format!("hh-{:06}", rng.random_range(0..counts.households))),
        );
    }
    m.insert("city".into(), json!(city));
    m.insert("country".into(), json!(country));
    let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()
        + chrono::Duration::days(rng.random_range(0..20_000));
    m.insert(
        "birthDate".into(),
        json!(birth.format("%Y-%m-%d").to_string()),
    );
    m.insert("netWorth".into(), json!(money(rng, 5_000_000)));
    m.insert("isActive".into(), json!(rng.random_bool(0.8)));
    timestamps(rng, &mut m);
    let risk = ["low", "medium", "high"];
    m.insert(
        format!("custom:cf_{CF_RISK_ONBOARDING}"),
        json!(pick(rng, &risk)),
    );
    if rng.random_bool(0.5) {
        m.insert(
            format!("custom:cf_{CF_RISK_REVIEW}"),
            json!(pick(rng, &risk)),
        );
    }
    m.insert(
        format!("custom:cf_{CF_SCORE}"),
        json!(rng.random_range(0..100)),
    );
    if rng.random_bool(0.7) {
        let d = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
            + chrono::Duration::days(rng.random_range(0..600));
        m.insert(
            format!("custom:cf_{CF_KYC}"),
            json!(d.format("%Y-%m-%d").to_string()),
        );
    }
    Record::new(id, m)
}

/// One organisation; ids are `org-{i:06}` so contacts can point at them.
pub fn organisation(rng: &mut ChaCha8Rng, i: u64) -> Record {
    let (city, country) = *pick(rng, &PLACES);
    let name = format!(
        "{} {}",
        pick(rng, &LAST),
        pick(rng, &["SpA", "Ltda.", "Inc.", "S.A.", "Group"])
    );
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("industry".into(), json!(pick(rng, &INDUSTRIES)));
    m.insert("email".into(), json!(format!("contact{i}@org.example")));
    m.insert(
        "phone".into(),
        json!(format!("+1 212 555 {:04}", rng.random_range(0..10_000))),
    );
    m.insert("website".into(), json!(format!("https://org{i}.example")));
    m.insert("city".into(), json!(city));
    m.insert("country".into(), json!(country));
    m.insert("employeeCount".into(), json!(rng.random_range(1..5_000)));
    m.insert("annualRevenue".into(), json!(money(rng, 50_000_000)));
    m.insert("isActive".into(), json!(rng.random_bool(0.85)));
    timestamps(rng, &mut m);
    m.insert(
        format!("custom:cf_{CF_TIER}"),
        json!(pick(rng, &["gold", "silver", "bronze"])),
    );
    Record::new(format!("org-{i:06}"), m)
}

/// One household; ids are `hh-{i:06}`.
pub fn household(rng: &mut ChaCha8Rng, i: u64) -> Record {
    let (city, country) = *pick(rng, &PLACES);
    let mut m = Map::new();
    m.insert(
        "name".into(),
        json!(format!("Familia {}", pick(rng, &LAST))),
    );
    m.insert("primaryContactId".into(), json!(uuid(rng)));
    m.insert("memberCount".into(), json!(rng.random_range(1..8)));
    m.insert("city".into(), json!(city));
    m.insert("country".into(), json!(country));
    m.insert("isActive".into(), json!(rng.random_bool(0.9)));
    timestamps(rng, &mut m);
    Record::new(format!("hh-{i:06}"), m)
}

/// Records written per transaction.
pub const BATCH: u64 = 1_000;

/// Generates and writes every entity, reporting progress as records are written.
///
/// # Errors
/// When the store fails.
pub async fn write_all(
    writer: &dyn EntityWriter,
    tenant: &TenantId,
    counts: Counts,
    seed: u64,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(), StoreError> {
    for (entity, n) in [
        (EntityKind::Organisations, counts.organisations),
        (EntityKind::Households, counts.households),
        (EntityKind::Contacts, counts.contacts),
    ] {
        // One stream per entity, so adding households does not change contacts.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (entity as u64).wrapping_mul(0x9E37_79B9));
        let mut start = 0;
        while start < n {
            let end = (start + BATCH).min(n);
            let batch: Vec<Record> = (start..end)
                .map(|i| match entity {
                    EntityKind::Contacts => contact(&mut rng, i, counts),
                    EntityKind::Organisations => organisation(&mut rng, i),
                    EntityKind::Households => household(&mut rng, i),
                })
                .collect();
            writer.put_records(tenant, entity, batch).await?;
            if let Some(p) = progress {
                p.inc(end - start);
            }
            start = end;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_records() {
        let counts = Counts {
            contacts: 10,
            organisations: 2,
            households: 2,
        };
        let a: Vec<Record> = {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            (0..10).map(|i| contact(&mut rng, i, counts)).collect()
        };
        let b: Vec<Record> = {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            (0..10).map(|i| contact(&mut rng, i, counts)).collect()
        };
        assert_eq!(a, b);
        let c: Vec<Record> = {
            let mut rng = ChaCha8Rng::seed_from_u64(8);
            (0..10).map(|i| contact(&mut rng, i, counts)).collect()
        };
        assert_ne!(a, c);
    }
}
