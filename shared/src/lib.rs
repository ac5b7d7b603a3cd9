//! The exports service library: domain model, API models, formatting, auth
//! and storage, shared by every Lambda function and by `exports-local`.

pub mod api;
pub mod auth;
pub mod config;
pub mod filter;
pub mod model;
pub mod query;
pub mod render;
pub mod service;
pub mod store;
