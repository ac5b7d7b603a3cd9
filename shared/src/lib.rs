//! The exports service library: domain model, API models, formatting, auth
//! and storage, shared by every Lambda function and by `exports-local`.

pub mod api;
pub mod auth;
/// The AWS adapters (DynamoDB). Their home is `store::aws`: this declaration
/// moves there as `pub mod aws;` in `store/mod.rs`.
#[path = "store/aws/mod.rs"]
pub mod aws;
pub mod config;
pub mod filter;
pub mod model;
pub mod render;
pub mod service;
pub mod store;
