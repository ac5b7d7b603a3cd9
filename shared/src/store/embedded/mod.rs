//! The embedded backend: SQLite (through `rusqlite`, bundled) in the data
//! directory. Tables mirror the DynamoDB key schema (`pk`, `sk`, JSON `data`),
//! so both backends share [`super::keys`].
//!
//! SQLite calls block, so each runs on tokio's blocking pool.

mod bulk;
mod config;
mod entities;
mod files;
mod load;
mod queue;
mod rows;
mod sqlite;

pub use files::{DownloadError, EmbeddedFiles};
pub use queue::Received;
pub use sqlite::EmbeddedStore;
