//! `exports-local token`: mint a development JWT.

use crate::DEV_JWT_SECRET;
use exports_shared::auth::{mint_hs256, Claims, TokenError};
use exports_shared::config::Settings;

/// What goes into a development token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub tenant: String,
    pub user: String,
    pub email: String,
    pub user_type: String,
    pub roles: Vec<String>,
    pub ttl_secs: i64,
    pub issuer: String,
    pub audience: String,
}

/// Signs a token with HS256.
///
/// # Errors
/// When the claims cannot be encoded.
pub fn mint(req: &TokenRequest, secret: &str) -> Result<String, TokenError> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: req.user.clone(),
        email: req.email.clone(),
        user_type: req.user_type.clone(),
        tenant_uuids: vec![req.tenant.clone()],
        roles: req.roles.clone(),
        iss: req.issuer.clone(),
        aud: req.audience.clone().into(),
        exp: now + req.ttl_secs,
        iat: now,
    };
    mint_hs256(&claims, secret.as_bytes())
}

/// The HS256 secret development tokens are signed with: the configured
/// `EXPORTS_JWT_SECRET`, else the development secret.
pub fn signing_secret(settings: &Settings) -> String {
    settings
        .jwt_secret
        .clone()
        .unwrap_or_else(|| DEV_JWT_SECRET.to_string())
}
