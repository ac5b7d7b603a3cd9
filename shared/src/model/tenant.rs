//! Tenants, their settings and their configured option lists.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A tenant id. Only constructed from verified credentials or trusted
/// configuration; never from a request header alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TenantId(String);

impl TenantId {
    /// Wraps a tenant id that has already been verified (claims, config, CLI).
    pub fn new(id: impl Into<String>) -> Self {
        TenantId(id.into().to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Per-tenant settings (TenantConfig `SETTINGS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantSettings {
    /// The most rows a synchronous export may hold.
    pub sync_row_limit: u64,
    /// How many partitions each entity of the tenant is spread over.
    pub shards: u32,
    /// Default locale for exports that do not name one.
    pub locale: Option<String>,
    /// Default timezone for exports that do not name one.
    pub timezone: Option<String>,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            sync_row_limit: 100_000,
            shards: 4,
            locale: None,
            timezone: None,
        }
    }
}

/// The tenant-configured option lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    Stages,
    Sources,
    Segments,
}

impl OptionKind {
    /// The TenantConfig sort-key prefix (`STAGE`, `SOURCE`, `SEGMENT`).
    pub fn key_name(self) -> &'static str {
        match self {
            OptionKind::Stages => "STAGE",
            OptionKind::Sources => "SOURCE",
            OptionKind::Segments => "SEGMENT",
        }
    }
}

/// One configured option, in the conventions' response shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigOption {
    pub code: String,
    pub display_name: String,
    pub enabled: bool,
    pub deleted: bool,
    pub sort_order: i64,
    pub created_at: String,
    pub updated_at: String,
}
