//! The key schema of the design's data model, shared by every backend.
//!
//! Bulk export keys (both backends):
//!
//! | table | pk | sk | holds |
//! |---|---|---|---|
//! | Exports | `T#{tenant}` | `JOB#{uuidv7}` | a [`BulkJob`](crate::model::bulk::BulkJob); newest first = reverse sort-key order |
//! | Exports | `T#{tenant}` | `IDEM#{sha256(key)}` | an [`IdempotencyRecord`](crate::store::bulk::IdempotencyRecord) |
//! | TenantConfig | `T#{tenant}` | `APIKEY#{sha256}` | an [`ApiKey`](crate::model::bulk::ApiKey) |
//! | TenantConfig | `APIKEY#{sha256}` | `APIKEY` | pointer: the key's tenant, to find a key by hash alone |
//! | TenantConfig | `T#{tenant}` | `BLOCKED` | present when the account is blocked |
//! | TenantConfig | `T#{tenant}` | `RATE#{key id}` | the key's token bucket |
//! | Entities | `T#{tenant}#ACT#{yyyy-mm-dd}` | `{occurredAt}#{id}` | an activity |

use crate::model::{EntityKind, OptionKind, Record, TenantId};
use crate::store::{PageCursor, StoreError};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// `T#{tenant}#{CONTACT|ORG|HOUSEHOLD}#{shard}`
pub fn entity_pk(tenant: &TenantId, entity: EntityKind, shard: u32) -> String {
    format!("T#{}#{}#{}", tenant.as_str(), entity.key_name(), shard)
}

/// `T#{tenant}`
pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("T#{}", tenant.as_str())
}

/// `LOG#{id}`: an export log in the Exports table.
pub fn export_log_sk(id: &str) -> String {
    format!("LOG#{id}")
}

/// `SETTINGS`
pub const SETTINGS_SK: &str = "SETTINGS";

/// `CF#{entity}#{uuid}`
pub fn custom_field_sk(entity: EntityKind, uuid: &str) -> String {
    format!("CF#{}#{}", entity.key_name(), uuid)
}

/// `CF#{entity}#`, the prefix of one entity's custom fields.
pub fn custom_field_prefix(entity: EntityKind) -> String {
    format!("CF#{}#", entity.key_name())
}

/// `STAGE#{code}`, `SOURCE#{code}`, `SEGMENT#{code}`
pub fn option_sk(kind: OptionKind, code: &str) -> String {
    format!("{}#{}", kind.key_name(), code)
}

/// `STAGE#` etc.
pub fn option_prefix(kind: OptionKind) -> String {
    format!("{}#", kind.key_name())
}

/// `GLOBAL`: the partition of the reference data every tenant shares.
pub const GLOBAL_PK: &str = "GLOBAL";

/// `INDUSTRY#`, `COUNTRY#`, `PHONE#`: the prefixes of the reference lists.
pub const INDUSTRY_PREFIX: &str = "INDUSTRY#";
pub const COUNTRY_PREFIX: &str = "COUNTRY#";
pub const PHONE_PREFIX: &str = "PHONE#";

/// `INDUSTRY#{name}`
pub fn industry_sk(name: &str) -> String {
    format!("{INDUSTRY_PREFIX}{name}")
}

/// `COUNTRY#{cca3}`
pub fn country_sk(cca3: &str) -> String {
    format!("{COUNTRY_PREFIX}{cca3}")
}

/// `CITY#{cca3}#`, the prefix of one country's cities.
pub fn city_prefix(cca3: &str) -> String {
    format!("CITY#{cca3}#")
}

/// `CITY#{cca3}#{name}`
pub fn city_sk(cca3: &str, name: &str) -> String {
    format!("{}{name}", city_prefix(cca3))
}

/// `PHONE#{cca2}`
pub fn phone_sk(cca2: &str) -> String {
    format!("{PHONE_PREFIX}{cca2}")
}

/// `JOB#{id}`
pub fn job_sk(id: &str) -> String {
    format!("JOB#{id}")
}
/// `JOB#`
pub const JOB_PREFIX: &str = "JOB#";
/// `TASK#{job}#{index:05}`: a fan-out task of a job (never under
/// [`JOB_PREFIX`], so listing jobs does not see tasks).
pub fn task_sk(job: &str, index: u32) -> String {
    format!("{}{index:05}", task_prefix(job))
}
/// `TASK#{job}#`
pub fn task_prefix(job: &str) -> String {
    format!("TASK#{job}#")
}
/// `TASKSDONE#{job}`: the set of a job's finished tasks.
pub fn tasks_done_sk(job: &str) -> String {
    format!("TASKSDONE#{job}")
}
/// `IDEM#{sha256 of the client's key}`
pub fn idempotency_sk(key_sha256: &str) -> String {
    format!("IDEM#{key_sha256}")
}
/// `APIKEY#{sha256}`: the key in its tenant's partition, and the pointer's pk.
pub fn api_key_sk(sha256: &str) -> String {
    format!("APIKEY#{sha256}")
}
/// `APIKEY#`
pub const API_KEY_PREFIX: &str = "APIKEY#";
/// The pointer item's sort key.
pub const API_KEY_POINTER_SK: &str = "APIKEY";
/// `BLOCKED`
pub const BLOCKED_SK: &str = "BLOCKED";
/// `RATE#{key id}`
pub fn rate_sk(key_id: &str) -> String {
    format!("RATE#{key_id}")
}
/// `T#{tenant}#ACT#{yyyy-mm-dd}`
pub fn activity_pk(tenant: &TenantId, day: NaiveDate) -> String {
    format!("T#{}#ACT#{}", tenant.as_str(), day.format("%Y-%m-%d"))
}

/// An activity's UTC time and the `{occurredAt}#{id}` sort key, from its
/// `occurredAt` (RFC 3339, normalised to UTC seconds so keys sort by time).
///
/// # Errors
/// [`StoreError::Corrupt`] when `occurredAt` is missing or not RFC 3339.
pub fn activity_key(record: &Record) -> Result<(DateTime<Utc>, String), StoreError> {
    let at = record
        .get("occurredAt")
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "activity {}: occurredAt is not RFC 3339",
                record.id
            ))
        })?;
    let sk = format!("{}#{}", activity_sk_bound(at), record.id);
    Ok((at, sk))
}

/// The activity sort key bound of the instant `at` (whole seconds): every
/// activity at or after `at` sorts at or after it, every one before sorts
/// before it.
pub fn activity_sk_bound(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The most shards a tenant may have; cursors naming more are refused.
pub const MAX_SHARDS: u32 = 256;

/// Encodes a paged read's position: `{shards}|{shard}|{last sort key}`.
pub fn encode_cursor(shards: u32, shard: u32, last_sk: &str) -> PageCursor {
    PageCursor(format!("{shards}|{shard}|{last_sk}"))
}

/// Decodes [`encode_cursor`]'s form. A cursor is client-visible, so the shard
/// count is bounded: a forged one cannot make a read walk millions of shards.
///
/// # Errors
/// [`StoreError::BadCursor`] for anything else.
pub fn decode_cursor(cursor: &PageCursor) -> Result<(u32, u32, String), StoreError> {
    let mut parts = cursor.0.splitn(3, '|');
    let shards = parts.next().and_then(|s| s.parse().ok());
    let shard = parts.next().and_then(|s| s.parse().ok());
    let last = parts.next();
    match (shards, shard, last) {
        (Some(n), Some(s), Some(l)) if s < n && n <= MAX_SHARDS => Ok((n, s, l.to_string())),
        _ => Err(StoreError::BadCursor),
    }
}

/// The shard a record id lives in: FNV-1a of the id, modulo the shard count.
/// Stable across processes and versions, unlike `std`'s hasher.
pub fn shard_of(id: &str, shards: u32) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in id.as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % shards.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_data_model() {
        let t = TenantId::new("abc");
        assert_eq!(entity_pk(&t, EntityKind::Organisations, 3), "T#abc#ORG#3");
        assert_eq!(tenant_pk(&t), "T#abc");
        assert_eq!(custom_field_sk(EntityKind::Contacts, "u1"), "CF#CONTACT#u1");
        assert_eq!(option_sk(OptionKind::Stages, "client"), "STAGE#client");
        assert_eq!(export_log_sk("l1"), "LOG#l1");
        assert_eq!(city_sk("CHL", "Santiago"), "CITY#CHL#Santiago");
        assert_eq!(country_sk("CHL"), "COUNTRY#CHL");
        assert_eq!(industry_sk("RETAIL"), "INDUSTRY#RETAIL");
        assert_eq!(phone_sk("CL"), "PHONE#CL");
    }

    #[test]
    fn activity_keys_sort_by_utc_time() {
        let mut m = serde_json::Map::new();
        m.insert("occurredAt".into(), "2026-01-02T01:30:00-03:00".into());
        let r = Record::new("a1", m);
        let (at, sk) = activity_key(&r).unwrap();
        assert_eq!(sk, "2026-01-02T04:30:00Z#a1");
        assert_eq!(at.date_naive().to_string(), "2026-01-02");
        assert!(activity_key(&Record::new("a2", serde_json::Map::new())).is_err());
    }

    #[test]
    fn cursors_round_trip_and_forged_ones_are_refused() {
        let c = encode_cursor(4, 2, "c-9|x");
        assert_eq!(decode_cursor(&c).unwrap(), (4, 2, "c-9|x".to_string()));
        for bad in ["", "4|4|x", "4294967295|0|x", "a|0|x", "4|0"] {
            assert!(decode_cursor(&PageCursor(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        assert_eq!(shard_of("contact-1", 4), shard_of("contact-1", 4));
        assert!((0..1000).all(|i| shard_of(&format!("c{i}"), 4) < 4));
        let used: std::collections::HashSet<u32> =
            (0..1000).map(|i| shard_of(&format!("c{i}"), 4)).collect();
        assert_eq!(used.len(), 4);
    }
}
