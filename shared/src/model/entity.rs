//! The kinds of CRM record the service exports.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An exportable entity. The path segment of `POST /api/exports/{entity}` is
/// [`EntityKind::path_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Contacts,
    Organisations,
    Households,
}

impl EntityKind {
    pub const ALL: [EntityKind; 3] = [
        EntityKind::Contacts,
        EntityKind::Organisations,
        EntityKind::Households,
    ];

    /// The plural name used in paths and file names.
    pub fn path_name(self) -> &'static str {
        match self {
            EntityKind::Contacts => "contacts",
            EntityKind::Organisations => "organisations",
            EntityKind::Households => "households",
        }
    }

    /// The key prefix of the design's data model (`CONTACT`, `ORG`, `HOUSEHOLD`).
    pub fn key_name(self) -> &'static str {
        match self {
            EntityKind::Contacts => "CONTACT",
            EntityKind::Organisations => "ORG",
            EntityKind::Households => "HOUSEHOLD",
        }
    }

    /// Reads a path segment; `None` for anything else.
    pub fn from_path(s: &str) -> Option<Self> {
        EntityKind::ALL.into_iter().find(|k| k.path_name() == s)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path_name())
    }
}
