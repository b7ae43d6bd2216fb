//! Signed, expiring tokens: HS256 JSON Web Tokens whose subject is the user id.
//!
//! `jsonwebtoken` signs and checks them (its RustCrypto HMAC compares signatures in
//! constant time). Expiry is checked here, against the `now` the caller passes,
//! so tests and callers control the clock.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is not an HS256 JWT")]
    WrongAlgorithm,
    #[error("the token's signature is wrong")]
    BadSignature,
    #[error("the token expired")]
    Expired,
    #[error("the token has no user")]
    NoSubject,
}

/// A token for `user`, valid for `ttl_secs` from `now` (seconds since the epoch).
pub fn mint(secret: &[u8], user: &str, now: i64, ttl_secs: i64) -> String {
    let claims = Claims {
        sub: user.to_string(),
        iat: now,
        exp: now + ttl_secs,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 takes any key and the claims always serialize")
}

/// Checks the signature (in constant time) and the expiry; returns the claims.
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Claims, TokenError> {
    // jsonwebtoken splits from the right and would read `a.b.c.d` as header `a.b`:
    // exactly three parts, or it is not a JWT at all.
    if token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    // The header first, so that a token of another algorithm (or `none`, which
    // jsonwebtoken cannot even represent) says so instead of "malformed".
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        // JSON, but no header jsonwebtoken can read: no `alg`, one it does not
        // know (`none`), or a standard field of the wrong type.
        ErrorKind::Json(json) if json.is_data() => TokenError::WrongAlgorithm,
        _ => TokenError::Malformed,
    })?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::WrongAlgorithm);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    // Only the signature: `exp` is checked below against the caller's `now`, and
    // an `aud` claim is ignored, as it always was.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(secret);
    let claims: Claims = jsonwebtoken::decode(token, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm,
            // A signature that is not base64, or claims that are not ours.
            _ => TokenError::Malformed,
        })?
        .claims;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.sub.trim().is_empty() {
        return Err(TokenError::NoSubject);
    }
    Ok(claims)
}

/// Now, in seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_failures() {
        let t = mint(b"s3cret", "1234", 1000, 60);
        assert_eq!(verify(b"s3cret", &t, 1010).unwrap().sub, "1234");
        assert_eq!(verify(b"other", &t, 1010), Err(TokenError::BadSignature));
        assert_eq!(verify(b"s3cret", &t, 1060), Err(TokenError::Expired));
        assert_eq!(verify(b"s3cret", "a.b", 0), Err(TokenError::Malformed));
        assert_eq!(verify(b"s3cret", "", 0), Err(TokenError::Malformed));
        // A payload swapped for another user's breaks the signature.
        let other = mint(b"s3cret", "9999", 1000, 60);
        let forged = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            other.split('.').nth(1).unwrap(),
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(
            verify(b"s3cret", &forged, 1010),
            Err(TokenError::BadSignature)
        );
        let none_alg = format!(
            "{}.{}.",
            // base64url of `{"alg":"none"}`
            "eyJhbGciOiJub25lIn0",
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(
            verify(b"s3cret", &none_alg, 1010),
            Err(TokenError::WrongAlgorithm)
        );
    }
}
