//! Bearer JWT verification (and minting, for local development and tests).

use super::error::AuthError;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on both `exp` and `nbf`, in seconds.
pub const CLOCK_LEEWAY_SECS: u64 = 30;

/// The `aud` claim: one audience, or several (RFC 7519 section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is, or is one of, the token's audiences.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

impl From<&str> for Audience {
    fn from(audience: &str) -> Self {
        Audience::One(audience.to_string())
    }
}

impl From<String> for Audience {
    fn from(audience: String) -> Self {
        Audience::One(audience)
    }
}

/// The claims the exports APIs read. `nbf`, when present, is checked by
/// [`JwtVerifier::verify`] but not kept.
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
    pub aud: Audience,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
}

/// One key a token may be signed with.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The key's `kid`. A key with a kid verifies tokens that name it (or
    /// name none, when it is the only key); a key without one verifies
    /// tokens whatever kid they name.
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
    /// identity provider). The key has no kid, so a token's `kid` is not
    /// matched.
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
    /// One [`Validation`] per key: its algorithm only; `exp`, `iss`, `aud`
    /// and `sub` required; `nbf` checked when present; `aud` may be a string
    /// or an array holding the configured audience; [`CLOCK_LEEWAY_SECS`] of
    /// clock skew on `exp` and `nbf`.
    pub fn new(config: JwtConfig) -> Self {
        let keys = config
            .keys
            .into_iter()
            .map(|k| {
                let mut validation = Validation::new(k.algorithm);
                validation.set_issuer(&[config.issuer.as_str()]);
                validation.set_audience(&[config.audience.as_str()]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                validation.validate_nbf = true;
                validation.leeway = CLOCK_LEEWAY_SECS;
                (k, validation)
            })
            .collect();
        JwtVerifier {
            keys,
            issuer: config.issuer,
        }
    }

    /// The key for a token naming `kid`: the key with that kid, else the one
    /// key configured without a kid. A token naming no kid gets the only key,
    /// else the one key without a kid.
    fn key_for(&self, kid: Option<&str>) -> Option<&(VerifyingKey, Validation)> {
        let unnamed = || {
            let mut unnamed = self.keys.iter().filter(|(k, _)| k.kid.is_none());
            match (unnamed.next(), unnamed.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        };
        match (kid, self.keys.as_slice()) {
            (Some(kid), keys) => keys
                .iter()
                .find(|(k, _)| k.kid.as_deref() == Some(kid))
                .or_else(unnamed),
            (None, [only]) => Some(only),
            (None, _) => unnamed(),
        }
    }

    /// Verifies a token and returns its claims. The key is chosen by the
    /// header's `kid` (see [`VerifyingKey::kid`]), the header's `alg` must be
    /// that key's algorithm, and a header with `crit` is refused: this
    /// service understands no critical extension (RFC 7515 section 4.1.11).
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] or [`AuthError::ExpiredToken`]; the reason
    /// is logged, never sent to the client.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            tracing::info!(reason = %e, "bearer token rejected: bad header");
            AuthError::InvalidToken
        })?;
        if let Some(crit) = &header.crit {
            // Even an empty list is refused: the RFC forbids it.
            tracing::info!(
                ?crit,
                "bearer token rejected: critical extension not understood"
            );
            return Err(AuthError::InvalidToken);
        }
        let Some((key, validation)) = self.key_for(header.kid.as_deref()) else {
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

    /// Signs any JSON claims with HS256 and the given header, so a test can
    /// send claims [`Claims`] does not model (`nbf`, an `aud` array).
    fn mint_json(header: &Header, claims: &serde_json::Value) -> String {
        encode(header, claims, &EncodingKey::from_secret(b"secret")).unwrap()
    }

    fn claims_json() -> serde_json::Value {
        serde_json::to_value(claims(future())).unwrap()
    }

    #[test]
    fn a_token_is_refused_before_its_nbf_beyond_the_leeway() {
        // GIVEN tokens whose nbf is an hour ahead, within the leeway, past, or not a number
        let now = chrono::Utc::now().timestamp();
        let with_nbf = |nbf: serde_json::Value| {
            let mut c = claims_json();
            c["nbf"] = nbf;
            mint_json(&Header::new(Algorithm::HS256), &c)
        };
        // WHEN each is verified
        // THEN the one valid only in an hour is refused
        assert_eq!(
            verifier().verify(&with_nbf((now + 3600).into())),
            Err(AuthError::InvalidToken)
        );
        // AND a clock a few seconds behind the issuer's is tolerated
        assert!(verifier().verify(&with_nbf((now + 10).into())).is_ok());
        assert!(verifier().verify(&with_nbf((now - 60).into())).is_ok());
        // AND an nbf that is not a NumericDate is refused
        assert_eq!(
            verifier().verify(&with_nbf("soon".into())),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn a_crit_header_is_refused_as_no_extension_is_understood() {
        // GIVEN a valid token whose header marks an extension as critical
        let mut header = Header::new(Algorithm::HS256);
        header.crit = Some(vec!["https://example.com/ext".into()]);
        header.extras.insert("https://example.com/ext", true);
        let critical = mint_json(&header, &claims_json());
        // WHEN verified THEN it is refused (RFC 7515 section 4.1.11)
        assert_eq!(verifier().verify(&critical), Err(AuthError::InvalidToken));
        // AND so is an empty crit list, which the RFC forbids
        header.crit = Some(vec![]);
        let empty = mint_json(&header, &claims_json());
        assert_eq!(verifier().verify(&empty), Err(AuthError::InvalidToken));
    }

    #[test]
    fn an_audience_array_holding_ours_is_accepted() {
        // GIVEN tokens whose aud is an array
        let with_aud = |aud: serde_json::Value| {
            let mut c = claims_json();
            c["aud"] = aud;
            mint_json(&Header::new(Algorithm::HS256), &c)
        };
        // WHEN the array holds our audience THEN the token verifies
        let ok = verifier().verify(&with_aud(serde_json::json!(["other-api", "aud"])));
        let aud = ok.map(|c| c.aud);
        assert_eq!(
            aud,
            Ok(Audience::Many(vec!["other-api".into(), "aud".into()]))
        );
        assert!(aud.is_ok_and(|a| a.contains("aud") && !a.contains("nope")));
        // AND an array without it, or an empty one, is refused
        for aud in [serde_json::json!(["other-api"]), serde_json::json!([])] {
            assert_eq!(
                verifier().verify(&with_aud(aud.clone())),
                Err(AuthError::InvalidToken),
                "{aud}"
            );
        }
    }

    #[test]
    fn an_hs256_key_without_a_kid_accepts_any_kid_and_one_with_a_kid_must_match() {
        let with_kid = |kid: Option<&str>| {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = kid.map(Into::into);
            mint_json(&header, &claims_json())
        };
        // GIVEN the HS256 key configured without a kid
        // WHEN a token names a kid THEN it verifies
        assert_eq!(
            verifier().verify(&with_kid(Some("2024-01"))).map(|c| c.sub),
            Ok("u1".to_string())
        );
        // GIVEN an HS256 key configured with the kid "k1"
        let mut config = JwtConfig::hs256(b"secret", "iss", "aud");
        config.keys[0].kid = Some("k1".into());
        let v = JwtVerifier::new(config);
        // THEN a token naming k1, or naming none, verifies
        assert!(v.verify(&with_kid(Some("k1"))).is_ok());
        assert!(v.verify(&with_kid(None)).is_ok());
        // AND a token naming another kid is refused
        assert_eq!(
            v.verify(&with_kid(Some("k2"))),
            Err(AuthError::InvalidToken)
        );
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
