//! The AWS backend: the storage traits over DynamoDB, through the official
//! `aws-sdk-dynamodb` client.
//!
//! The key schema is the design's data model, built by [`crate::store::keys`]
//! exactly as the embedded backend builds it:
//!
//! | table | `pk` (S) | `sk` (S) | `data` (S) |
//! |---|---|---|---|
//! | Entities | `T#{tenant}#CONTACT#{shard}` (ORG, HOUSEHOLD) | `{id}` | the record's JSON object |
//! | Exports | `T#{tenant}` | `LOG#{id}` | the export log's JSON |
//! | TenantConfig | `T#{tenant}` | `SETTINGS`, `CF#{entity}#{uuid}`, `STAGE#{code}`, ... | the value's JSON |
//!
//! `data` is a JSON **string**, not a DynamoDB map. It is the same text the
//! SQLite backend stores, so both backends read and write identical values; it
//! keeps JSON's numbers, nulls and nesting exactly (a DynamoDB map would turn
//! every number into a 38-digit decimal and has no empty sets); and an export
//! reads whole records anyway, so nothing needs the fields as attributes. The
//! price is that DynamoDB cannot filter or project on record fields, which no
//! caller asks of it.
//!
//! Reads are strongly consistent, as the embedded backend's are.
//!
//! Conversions between items and domain values live in [`item`]; the store
//! itself is [`DynamoStore`].

mod bulk;
mod config;
mod dynamodb;
mod export_logs;
pub mod item;
mod s3;
mod sqs;

pub use bulk::DynamoBulkJobs;
pub use dynamodb::{DynamoStore, UnprocessedItems};
pub use export_logs::DynamoExportLogs;
pub use s3::S3Files;
pub use sqs::SqsQueue;
