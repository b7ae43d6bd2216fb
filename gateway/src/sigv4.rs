//! AWS Signature Version 4, checked as AWS checks a request: the
//! `Authorization` header parsed, the canonical request rebuilt from what
//! arrived, and the signature recomputed with the caller's secret. Pure: the
//! secrets and the clock come from the caller (`auth.rs`).

use ring::{digest, hmac};

use crate::ids::{hex, push_hex};

/// How far a request's `X-Amz-Date` may be from now, either way.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// Why a request is refused; each is one of AWS's 403s.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SigError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
    /// Signed for another region or service, or with a malformed date.
    #[error("{0}")]
    Invalid(String),
}

impl SigError {
    /// The `x-amzn-ErrorType` AWS answers with.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationTokenException",
            Self::Incomplete(_) => "IncompleteSignatureException",
            Self::UnknownKey => "UnrecognizedClientException",
            Self::Mismatch | Self::Invalid(_) => "InvalidSignatureException",
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq)]
pub struct Authorization<'a> {
    pub access_key: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    pub fn parse(header: &'a str) -> Result<Self, SigError> {
        let rest = header
            .strip_prefix("AWS4-HMAC-SHA256")
            .filter(|r| r.starts_with(' '))
            .ok_or_else(|| {
                SigError::Incomplete(format!(
                    "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization={header}"
                ))
            })?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
            match k {
                "Credential" => credential = Some(v),
                "SignedHeaders" => signed = Some(v),
                "Signature" => signature = Some(v),
                _ => {}
            }
        }
        let missing: Vec<&str> = [
            ("Credential", credential.is_none()),
            ("Signature", signature.is_none()),
            ("SignedHeaders", signed.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        if !missing.is_empty() {
            let said: Vec<String> = missing
                .iter()
                .map(|n| format!("Authorization header requires '{n}' parameter."))
                .collect();
            return Err(SigError::Incomplete(format!(
                "{} Authorization={header}",
                said.join(" ")
            )));
        }
        let credential = credential.unwrap_or_default();
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, "aws4_request"] = scope[..] else {
            return Err(SigError::Incomplete(format!(
                "Credential should be of the form AKID/yyyyMMdd/region/service/aws4_request, not '{credential}'."
            )));
        };
        Ok(Self {
            access_key,
            date,
            region,
            service,
            signed_headers: signed.unwrap_or_default().split(';').collect(),
            signature: signature.unwrap_or_default(),
        })
    }
}

/// A request as it arrived: the raw (still percent-encoded) path and query.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Every header, names in lowercase.
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    /// `X-Amz-Date` (or `Date`) as `yyyyMMddTHHmmssZ`.
    pub fn amz_date(&self) -> Option<&str> {
        self.header("x-amz-date").or_else(|| self.header("date"))
    }

    /// The canonical request over the headers the client signed.
    pub fn canonical(&self, signed_headers: &[&str]) -> String {
        let mut out = String::with_capacity(256 + self.path.len());
        out.push_str(self.method);
        out.push('\n');
        canonical_path(self.path, &mut out);
        out.push('\n');
        out.push_str(&canonical_query(self.query));
        out.push('\n');
        for name in signed_headers {
            out.push_str(name);
            out.push(':');
            let values = self.headers.iter().filter(|(k, _)| k == name);
            for (i, (_, value)) in values.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // Trimmed, inner runs of spaces as one.
                for (j, word) in value.split_whitespace().enumerate() {
                    if j > 0 {
                        out.push(' ');
                    }
                    out.push_str(word);
                }
            }
            out.push('\n');
        }
        out.push('\n');
        for (i, name) in signed_headers.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(name);
        }
        out.push('\n');
        push_hex(
            &mut out,
            digest::digest(&digest::SHA256, self.body).as_ref(),
        );
        out
    }
}

/// Checks the scope and the time; `now` is epoch seconds.
pub fn check_scope(
    auth: &Authorization,
    amz_date: Option<&str>,
    region: &str,
    service: &str,
    now: i64,
) -> Result<(), SigError> {
    let Some(amz_date) = amz_date else {
        return Err(SigError::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        ));
    };
    if auth.service != service {
        return Err(SigError::Invalid(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    if auth.region != region {
        return Err(SigError::Invalid(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    let Some(time) = basic_date_time(amz_date) else {
        return Err(SigError::Invalid(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        )));
    };
    if !amz_date.starts_with(auth.date) {
        return Err(SigError::Invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            auth.date,
            &amz_date[..8]
        )));
    }
    let at = time;
    let stamp = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_default()
    };
    if at < now - MAX_SKEW_SECS {
        return Err(SigError::Invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            stamp(now - MAX_SKEW_SECS),
            stamp(now)
        )));
    }
    if at > now + MAX_SKEW_SECS {
        return Err(SigError::Invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            stamp(now + MAX_SKEW_SECS),
            stamp(now)
        )));
    }
    Ok(())
}

/// The key a secret derives for one day, region and service.
/// `YYYYMMDDTHHMMSSZ` as seconds since the epoch (by hand: chrono's format
/// parser costs more than the rest of a signature check).
fn basic_date_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?)?;
    let time = date.and_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
    Some(time.and_utc().timestamp())
}

pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let mut key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    hmac::Key::new(hmac::HMAC_SHA256, &key)
}

/// The signature of a canonical request, as hex. The string to sign goes into
/// the HMAC piece by piece: no string is built for it.
pub fn signature(key: &hmac::Key, auth: &Authorization, amz_date: &str, canonical: &str) -> String {
    let hashed = digest::digest(&digest::SHA256, canonical.as_bytes());
    let mut mac = hmac::Context::with_key(key);
    for piece in [
        "AWS4-HMAC-SHA256\n",
        amz_date,
        "\n",
        auth.date,
        "/",
        auth.region,
        "/",
        auth.service,
        "/aws4_request\n",
    ] {
        mac.update(piece.as_bytes());
    }
    let mut hashed_hex = String::with_capacity(64);
    push_hex(&mut hashed_hex, hashed.as_ref());
    mac.update(hashed_hex.as_bytes());
    hex(mac.sign().as_ref())
}

/// Compares in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn encode_into(bytes: &[u8], keep_slash: bool, out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(DIGITS[(b >> 4) as usize] as char);
            out.push(DIGITS[(b & 15) as usize] as char);
        }
    }
}

/// The path as every SDK but S3's signs it: the path as sent (already
/// percent-encoded once) encoded once more.
fn canonical_path(path: &str, out: &mut String) {
    if path.is_empty() {
        out.push('/');
    } else {
        encode_into(path.as_bytes(), true, out);
    }
}

/// Parameters decoded, encoded strictly, and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let strict = |s: &str| {
                let decoded = percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
                let mut out = String::new();
                encode_into(&decoded, false, &mut out);
                out
            };
            (strict(k), strict(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example (the IAM ListUsers GET in the SigV4 guide).
    #[test]
    fn the_guides_example_signs_as_documented() {
        let request = Request {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: vec![
                (
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("host", "iam.amazonaws.com"),
                ("x-amz-date", "20150830T123600Z"),
            ],
            body: b"",
        };
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let auth = Authorization::parse(header).unwrap();
        let canonical = request.canonical(&auth.signed_headers);
        assert_eq!(
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        let sig = signature(&key, &auth, "20150830T123600Z", &canonical);
        assert!(same(&sig, auth.signature), "{sig}");
    }

    #[test]
    fn paths_are_encoded_again_and_queries_sorted() {
        let mut out = String::new();
        canonical_path("/local/@connections/abc%3D", &mut out);
        assert_eq!(out, "/local/%40connections/abc%253D");
        assert_eq!(canonical_query("b=2&a=x%20y&a=1&c"), "a=1&a=x%20y&b=2&c=");
    }

    #[test]
    fn headers_missing_parts_are_incomplete() {
        assert!(matches!(
            Authorization::parse("Bearer abc"),
            Err(SigError::Incomplete(_))
        ));
        let e = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=A/20200101/us-east-1/execute-api/aws4_request",
        )
        .unwrap_err();
        assert!(e.to_string().contains("requires 'Signature'"), "{e}");
    }

    #[test]
    fn scope_and_time_are_checked() {
        let auth = Authorization::parse("AWS4-HMAC-SHA256 Credential=A/20200101/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=00").unwrap();
        let now = chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        let date = Some("20200101T120000Z");
        let wrong_region = check_scope(&auth, date, "us-east-1", "execute-api", now);
        assert!(
            wrong_region
                .unwrap_err()
                .to_string()
                .contains("not 'eu-west-1'")
        );
        let wrong_service = check_scope(&auth, date, "eu-west-1", "lambda", now);
        assert!(wrong_service.unwrap_err().to_string().contains("'lambda'"));
        assert!(check_scope(&auth, date, "eu-west-1", "execute-api", now).is_ok());
        let late = check_scope(&auth, date, "eu-west-1", "execute-api", now + 600);
        assert!(
            late.unwrap_err()
                .to_string()
                .starts_with("Signature expired")
        );
    }
}
