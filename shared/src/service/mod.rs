//! Export services: the logic behind the handlers, over the store traits.

pub mod bulk;
pub mod delivery;
pub mod error;
pub mod export_logs;
pub mod listing;
pub mod lookups;
pub mod page;
pub mod plan;
pub mod request;
pub mod select;
pub mod tabular;

pub use error::ServiceError;
