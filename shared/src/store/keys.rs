//! The key schema of the design's data model, shared by every backend.

use crate::model::{EntityKind, OptionKind, TenantId};

/// `T#{tenant}#{CONTACT|ORG|HOUSEHOLD}#{shard}`
pub fn entity_pk(tenant: &TenantId, entity: EntityKind, shard: u32) -> String {
    format!("T#{}#{}#{}", tenant.as_str(), entity.key_name(), shard)
}

/// `T#{tenant}`
pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("T#{}", tenant.as_str())
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
