//! Signed, expiring tokens: HS256 JSON Web Tokens whose subject is the user id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

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

fn mac(secret: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(data);
    mac
}

/// A token for `user`, valid for `ttl_secs` from `now` (seconds since the epoch).
pub fn mint(secret: &[u8], user: &str, now: i64, ttl_secs: i64) -> String {
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        sub: user.to_string(),
        iat: now,
        exp: now + ttl_secs,
    };
    let payload = B64.encode(serde_json::to_vec(&claims).expect("serializable"));
    let signing_input = format!("{header}.{payload}");
    let signature = B64.encode(
        mac(secret, signing_input.as_bytes())
            .finalize()
            .into_bytes(),
    );
    format!("{signing_input}.{signature}")
}

/// Checks the signature (in constant time) and the expiry; returns the claims.
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: serde_json::Value = B64
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    if header["alg"] != "HS256" {
        return Err(TokenError::WrongAlgorithm);
    }
    let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
    mac(
        secret,
        format!("{}.{payload}", token.split('.').next().unwrap_or_default()).as_bytes(),
    )
    .verify_slice(&signature)
    .map_err(|_| TokenError::BadSignature)?;
    let claims: Claims = B64
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(TokenError::Malformed)?;
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
            B64.encode(br#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(
            verify(b"s3cret", &none_alg, 1010),
            Err(TokenError::WrongAlgorithm)
        );
    }
}
