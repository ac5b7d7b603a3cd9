//! Authentication and tenancy for the JWT-protected APIs.
//!
//! [`JwtVerifier`] checks the bearer token (algorithm pinned, `exp`, `iss` and
//! `aud` required, `nbf` checked, `crit` refused) and [`authenticate`] checks
//! the tenant context headers against its claims and the user type and roles.
//! The result is a [`Principal`], whose tenant only ever comes from the
//! verified claims.

pub mod api_key;
mod error;
mod jwt;
mod principal;
pub mod rate_limit;

pub use error::AuthError;
/// The error of [`mint_hs256`].
pub use jsonwebtoken::errors::Error as TokenError;
pub use jwt::{
    mint_hs256, Audience, Claims, JwksError, JwtConfig, JwtVerifier, VerifyingKey,
    CLOCK_LEEWAY_SECS,
};
pub use principal::{authenticate, Principal, Role, UserType};
