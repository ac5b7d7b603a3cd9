//! Bearer JWT verification (and minting, for local development and tests).

use super::principal::AuthError;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims the exports APIs read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub email: String,
    pub user_type: String,
    pub tenant_uuids: Vec<String>,
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
}

/// How tokens are verified.
#[derive(Clone)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    pub key: DecodingKey,
    /// The one algorithm accepted; a token signed otherwise is rejected.
    pub algorithm: Algorithm,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtConfig {
    /// HS256 with a shared secret (local mode).
    pub fn hs256(secret: &[u8], issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        JwtConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            key: DecodingKey::from_secret(secret),
            algorithm: Algorithm::HS256,
        }
    }
}

/// Verifies bearer tokens against one [`JwtConfig`]. Built once per cold start.
#[derive(Debug, Clone)]
pub struct JwtVerifier {
    config: JwtConfig,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(config: JwtConfig) -> Self {
        let mut validation = Validation::new(config.algorithm);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        JwtVerifier { config, validation }
    }

    /// Verifies a token and returns its claims.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] or [`AuthError::ExpiredToken`]; the reason
    /// is logged, never sent to the client.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        decode::<Claims>(token, &self.config.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::info!(reason = %e, "bearer token rejected");
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::ExpiredToken,
                    _ => AuthError::InvalidToken,
                }
            })
    }
}

/// Signs claims with HS256 (for `exports-local token`, the demo and tests).
///
/// # Errors
/// When the claims cannot be encoded.
pub fn mint_hs256(claims: &Claims, secret: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u1".into(),
            email: "a@b.c".into(),
            user_type: "TENANT_STAFF".into(),
            tenant_uuids: vec!["t1".into()],
            roles: vec!["TENANT_STAFF".into()],
            iss: "iss".into(),
            aud: "aud".into(),
            exp,
            iat: 0,
        }
    }

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(JwtConfig::hs256(b"secret", "iss", "aud"))
    }

    fn future() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn a_valid_token_yields_its_claims() {
        let token = mint_hs256(&claims(future()), b"secret").unwrap();
        assert_eq!(verifier().verify(&token).unwrap().sub, "u1");
    }

    #[test]
    fn expired_wrong_secret_issuer_audience_and_algorithm_are_rejected() {
        let expired =
            mint_hs256(&claims(chrono::Utc::now().timestamp() - 3600), b"secret").unwrap();
        assert_eq!(verifier().verify(&expired), Err(AuthError::ExpiredToken));

        let wrong_secret = mint_hs256(&claims(future()), b"other").unwrap();
        assert_eq!(
            verifier().verify(&wrong_secret),
            Err(AuthError::InvalidToken)
        );

        let mut c = claims(future());
        c.iss = "someone-else".into();
        let wrong_iss = mint_hs256(&c, b"secret").unwrap();
        assert_eq!(verifier().verify(&wrong_iss), Err(AuthError::InvalidToken));

        let mut c = claims(future());
        c.aud = "other-api".into();
        let wrong_aud = mint_hs256(&c, b"secret").unwrap();
        assert_eq!(verifier().verify(&wrong_aud), Err(AuthError::InvalidToken));

        // HS384 with the right secret: the algorithm is pinned to HS256.
        let hs384 = encode(
            &Header::new(Algorithm::HS384),
            &claims(future()),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(verifier().verify(&hs384), Err(AuthError::InvalidToken));

        // alg=none, hand-made.
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(serde_json::to_vec(&claims(future())).unwrap())
        );
        assert_eq!(verifier().verify(&none), Err(AuthError::InvalidToken));
        assert_eq!(verifier().verify("garbage"), Err(AuthError::InvalidToken));
    }
}
