//! `exports-local`: run the service on the embedded backend, seed
//! deterministic data, mint development tokens and import JSON lines.
//!
//! The binary (`main.rs`) only parses the command line; each command lives in
//! its own module so tests can call it (`cli.rs`, private to the binary,
//! declares the commands and their flags).

pub mod activities;
pub mod api_keys;
pub mod demo;
pub mod generate;
pub mod import;
pub mod lock;
pub mod openapi;
pub mod options;
pub mod serve;
pub mod start;
pub mod token;
pub mod worker;

/// The development HS256 secret, used only by `exports-local` when
/// `EXPORTS_JWT_SECRET` is not set. It is printed at start-up; never deploy it.
pub const DEV_JWT_SECRET: &str = "exports-local-dev-secret-0123456789";
