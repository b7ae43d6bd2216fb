//! Identifiers shaped like AWS's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;

/// A connection, request or message id as API Gateway makes them: base64 of
/// 11 random bytes in the URL-safe alphabet, e.g. `d4NsecoByQ0CH-Q=`, so an id
/// put into `/@connections/{id}` unencoded still names the connection.
pub fn aws_id() -> String {
    URL_SAFE.encode(rand::random::<[u8; 11]>())
}

/// A Lambda request id: a random (version 4) UUID.
pub fn uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// An X-Ray trace header: `Root=1-{epoch hex}-{96 bit hex};Parent=…;Sampled=0`.
pub fn trace_id() -> String {
    let secs = chrono::Utc::now().timestamp();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        hex(&rand::random::<[u8; 12]>()),
        hex(&rand::random::<[u8; 8]>())
    )
}

/// An API id like AWS's: ten lowercase letters and digits.
pub fn api_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    rand::random::<[u8; 10]>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Lowercase hex, as AWS writes ids and digests.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` as lowercase hex.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = aws_id();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('='));
        assert_ne!(aws_id(), id);
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(trace_id().starts_with("Root=1-"));
        assert_eq!(api_id().len(), 10);
    }
}
