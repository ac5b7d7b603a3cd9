//! Authentication and tenancy for the JWT-protected APIs.
//!
//! [`JwtVerifier`] checks the bearer token (algorithm pinned, `exp`, `iss` and
//! `aud` required) and [`authenticate`] checks the tenant context headers
//! against its claims. The result is a [`Principal`], whose tenant only ever
//! comes from the verified claims.

pub mod api_key;
mod jwt;
mod principal;

/// The error of [`mint_hs256`].
pub use jsonwebtoken::errors::Error as TokenError;
pub use jwt::{mint_hs256, Claims, JwksError, JwtConfig, JwtVerifier, VerifyingKey};
pub use principal::{authenticate, AuthError, Principal, Role, UserType};
