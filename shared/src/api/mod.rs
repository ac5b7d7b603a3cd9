//! Request and response types of the APIs, and their error bodies.
//!
//! Each API keeps its own error shape; each maps its errors to HTTP in one
//! place.

pub mod bulk;
pub mod delivery;
pub mod export_logs;
pub mod gateway;
pub mod http_util;
pub mod json;
pub mod listing;
pub mod tabular;
