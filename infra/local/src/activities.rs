//! Deterministic synthetic activities, spread over UTC days and types, for
//! bulk activities exports.
//!
//! Activity types ([`ACTIVITY_TYPES`]): `emailSent`, `emailOpened`,
//! `emailClicked`, `pageVisited`, `formSubmitted`, `purchase`, `call`,
//! `meeting`. Each activity belongs to a seeded contact and carries that
//! contact's email and segment (`segmentId`, the contact's segment when the
//! activity happened). `purchase` activities have an `amount` and a
//! `currency`; every activity has a `channel` and a small `metadata` object.

use exports_shared::api::bulk::ACTIVITY_TYPES;
use exports_shared::model::{EntityKind, Record, TenantId};
use exports_shared::store::{ActivityStore, EntitySource, StoreError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map};

/// The first day of generated activities: 2026-09-01T00:00:00Z.
pub const FIRST_DAY: i64 = 1_788_220_800;
/// `exports-local seed` spreads activities over this many days (2026-09-01
/// to 2026-10-30).
pub const DAYS: i64 = 60;

/// The UTC days generated activities fall on: `days` days from `first_day`
/// (seconds since the epoch, at midnight UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first_day: i64,
    pub days: i64,
}

impl Span {
    /// What `exports-local seed` writes: [`DAYS`] days from [`FIRST_DAY`].
    pub const SEED: Span = Span {
        first_day: FIRST_DAY,
        days: DAYS,
    };
}

const CHANNELS: [&str; 4] = ["email", "web", "phone", "in_person"];

/// Owners of generated activities: up to `max` seeded contacts.
///
/// # Errors
/// When the store fails.
pub async fn owners(
    source: &dyn EntitySource,
    tenant: &TenantId,
    max: usize,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = source
            .page(tenant, EntityKind::Contacts, cursor, 500)
            .await?;
        for r in &page.records {
            let email = r
                .get("preferredEmail")
                .as_str()
                .unwrap_or_default()
                .to_string();
            let segment = r.get("segment").as_str().unwrap_or_default().to_string();
            out.push((r.id.clone(), email, segment));
            if out.len() >= max {
                return Ok(out);
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Activity `i`, for one of `owners`, at a second within `span`.
pub fn activity(
    rng: &mut ChaCha8Rng,
    i: u64,
    owners: &[(String, String, String)],
    span: Span,
) -> Record {
    let kind = ACTIVITY_TYPES[rng.random_range(0..ACTIVITY_TYPES.len())];
    let at = span.first_day + rng.random_range(0..span.days.max(1) * 86_400);
    let occurred = chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut m = Map::new();
    if let Some((id, email, segment)) = owners.get(rng.random_range(0..owners.len().max(1))) {
        m.insert("contactId".into(), json!(id));
        m.insert("contactEmail".into(), json!(email));
        m.insert("segmentId".into(), json!(segment));
    }
    m.insert("activityType".into(), json!(kind));
    m.insert("occurredAt".into(), json!(occurred));
    m.insert(
        "channel".into(),
        json!(CHANNELS[rng.random_range(0..CHANNELS.len())]),
    );
    if kind == "purchase" {
        m.insert(
            "amount".into(),
            json!(rng.random_range(100..100_000) as f64 / 100.0),
        );
        m.insert(
            "currency".into(),
            json!(["USD", "CLP", "EUR"][rng.random_range(0..3)]),
        );
    }
    m.insert(
        "metadata".into(),
        json!({"campaign": format!("c-{}", rng.random_range(0..20))}),
    );
    Record::new(format!("act-{i:08}"), m)
}

/// Generates and writes `n` activities of the tenant's contacts, spread
/// over `span`: [`LOAD_ROWS`] to a load ([`ActivityStore::begin_activity_load`],
/// one transaction on SQLite), 5,000 to a batch. A crash keeps the loads
/// committed before it.
///
/// # Errors
/// When the store fails.
pub async fn write_activities(
    source: &dyn EntitySource,
    store: &dyn ActivityStore,
    tenant: &TenantId,
    n: u64,
    seed: u64,
    span: Span,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(), StoreError> {
    let owners = owners(source, tenant, 10_000).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xAC71_0000);
    let mut start = 0;
    while start < n {
        let load_end = (start + LOAD_ROWS).min(n);
        let mut load = store.begin_activity_load(tenant).await?;
        while start < load_end {
            let end = (start + 5_000).min(load_end);
            let batch: Vec<Record> = (start..end)
                .map(|i| activity(&mut rng, i, &owners, span))
                .collect();
            load.write(batch).await?;
            if let Some(p) = progress {
                p.inc(end - start);
            }
            start = end;
        }
        load.commit().await?;
    }
    Ok(())
}

/// Activities per load of [`write_activities`].
pub const LOAD_ROWS: u64 = 250_000;
