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

/// One key a token may be signed with.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The JWKS `kid`, matched against the token header's.
    pub kid: Option<String>,
    pub key: DecodingKey,
    /// The one algorithm this key accepts; a token signed otherwise is rejected.
    pub algorithm: Algorithm,
}

/// How tokens are verified.
#[derive(Clone)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: Vec<VerifyingKey>,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<(Option<&str>, Algorithm)> = self
            .keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.algorithm))
            .collect();
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("keys", &keys)
            .finish()
    }
}

/// Why a JWKS document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the JWKS is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the JWKS holds no RS256 or ES256 signing key")]
    NoUsableKey,
}

impl JwtConfig {
    /// HS256 with a shared secret (local mode, or a deployment without an
    /// identity provider).
    pub fn hs256(secret: &[u8], issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        JwtConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: vec![VerifyingKey {
                kid: None,
                key: DecodingKey::from_secret(secret),
                algorithm: Algorithm::HS256,
            }],
        }
    }

    /// The RS256 and ES256 keys of a JWKS document (an identity provider's
    /// `/.well-known/jwks.json`). Other keys are skipped.
    ///
    /// # Errors
    /// [`JwksError`] when the document is not a JWKS or has no usable key.
    pub fn from_jwks(
        jwks: &str,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, JwksError> {
        use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
        let set: JwkSet = serde_json::from_str(jwks)?;
        let keys: Vec<VerifyingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                    (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                    (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(_)) => {
                        Algorithm::ES256
                    }
                    (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                    (None, AlgorithmParameters::EllipticCurve(ec))
                        if ec.curve == EllipticCurve::P256 =>
                    {
                        Algorithm::ES256
                    }
                    _ => return None,
                };
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some(VerifyingKey {
                    kid: jwk.common.key_id.clone(),
                    key,
                    algorithm,
                })
            })
            .collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(JwtConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            keys,
        })
    }
}

/// Verifies bearer tokens against a [`JwtConfig`]. Built once per cold start.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Vec<(VerifyingKey, Validation)>,
    issuer: String,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl JwtVerifier {
    pub fn new(config: JwtConfig) -> Self {
        let keys = config
            .keys
            .into_iter()
            .map(|k| {
                let mut validation = Validation::new(k.algorithm);
                validation.set_issuer(&[config.issuer.as_str()]);
                validation.set_audience(&[config.audience.as_str()]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                validation.leeway = 30;
                (k, validation)
            })
            .collect();
        JwtVerifier {
            keys,
            issuer: config.issuer,
        }
    }

    /// Verifies a token and returns its claims. The key is chosen by the
    /// header's `kid` (or is the only key), and the header's `alg` must be
    /// that key's algorithm.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] or [`AuthError::ExpiredToken`]; the reason
    /// is logged, never sent to the client.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            tracing::info!(reason = %e, "bearer token rejected: bad header");
            AuthError::InvalidToken
        })?;
        let candidate = match (header.kid.as_deref(), self.keys.as_slice()) {
            (Some(kid), keys) => keys.iter().find(|(k, _)| k.kid.as_deref() == Some(kid)),
            (None, [only]) => Some(only),
            (None, _) => None,
        };
        let Some((key, validation)) = candidate else {
            tracing::info!(kid = ?header.kid, "bearer token rejected: unknown key");
            return Err(AuthError::InvalidToken);
        };
        if header.alg != key.algorithm {
            tracing::info!(alg = ?header.alg, "bearer token rejected: algorithm not allowed");
            return Err(AuthError::InvalidToken);
        }
        decode::<Claims>(token, &key.key, validation)
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

    /// A P-256 test key (generated for these tests only) and its JWK.
    const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgv5hLiZSmU+Pvm/gC
kq29lg1OoILZknk7JqmaKKn1YiOhRANCAARVNJD4R8oCqIICZcoNFljvlqNdrHiG
1qgmD+sGkko3jjumS9NvvwRO9ErEBBbrE7eb2ylUAw+8GbmK7Y1gM9vY
-----END PRIVATE KEY-----";
    const JWKS: &str = r#"{"keys":[
        {"kty":"EC","crv":"P-256","kid":"k1","use":"sig","alg":"ES256",
         "x":"VTSQ-EfKAqiCAmXKDRZY75ajXax4htaoJg_rBpJKN44","y":"O6ZL02-_BE70SsQEFusTt5vbKVQDD7wZuYrtjWAz29g"},
        {"kty":"oct","kid":"sym","k":"c2VjcmV0"}
    ]}"#;

    fn es256(kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(Into::into);
        encode(
            &header,
            &claims(future()),
            &EncodingKey::from_ec_pem(EC_KEY.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn jwks_keys_verify_es256_tokens_by_kid() {
        // GIVEN a JWKS with one EC key and one symmetric key
        let v = JwtVerifier::new(JwtConfig::from_jwks(JWKS, "iss", "aud").unwrap());
        // THEN a token signed by the EC key with its kid verifies
        assert_eq!(v.verify(&es256(Some("k1"))).unwrap().sub, "u1");
        // AND the only usable key is chosen when the token has no kid
        assert!(v.verify(&es256(None)).is_ok());
        // AND an unknown kid, or an HS256 token (the symmetric key is skipped), is refused
        assert_eq!(v.verify(&es256(Some("k2"))), Err(AuthError::InvalidToken));
        let hs = mint_hs256(&claims(future()), b"secret").unwrap();
        assert_eq!(v.verify(&hs), Err(AuthError::InvalidToken));
    }

    #[test]
    fn a_jwks_without_usable_keys_is_refused() {
        assert!(matches!(
            JwtConfig::from_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#, "i", "a"),
            Err(JwksError::NoUsableKey)
        ));
        assert!(matches!(
            JwtConfig::from_jwks("{", "i", "a"),
            Err(JwksError::Json(_))
        ));
    }
}
