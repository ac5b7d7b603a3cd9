//! Export services: the logic behind the handlers, over the store traits.

pub mod bulk;
pub mod delivery;
pub mod export_logs;
pub mod listing;
pub mod lookups;
pub mod plan;
pub mod select;
pub mod tabular;
