//! `MOCK`: no backend. The request template's output says the status
//! (`{"statusCode": 200}`), which selects the integration response.

use serde_json::Value;

/// The status a MOCK integration answers with: the request template's
/// `statusCode`; 200 when the payload names none (an empty one included).
pub fn status(payload: &str) -> Result<u16, String> {
    if payload.trim().is_empty() {
        return Ok(200);
    }
    let value: Value = serde_json::from_str(payload).map_err(|_| {
        let shown: String = payload.chars().take(200).collect();
        format!("the MOCK request template's output is not JSON: {shown}")
    })?;
    match &value["statusCode"] {
        Value::Null => Ok(200),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| (100..600).contains(n))
            .ok_or_else(|| format!("the MOCK statusCode {n} is not an HTTP status")),
        Value::String(s) => s
            .parse()
            .ok()
            .filter(|n| (100..600).contains(n))
            .ok_or_else(|| format!("the MOCK statusCode {s:?} is not an HTTP status")),
        other => Err(format!("the MOCK statusCode {other} is not an HTTP status")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_says_the_status() {
        assert_eq!(super::status(r#"{"statusCode": 200}"#), Ok(200));
        assert_eq!(super::status(r#"{"statusCode": "403"}"#), Ok(403));
        assert_eq!(super::status(""), Ok(200));
        assert_eq!(super::status(r#"{"action":"x"}"#), Ok(200));
        assert!(super::status("not json").is_err());
        assert!(super::status(r#"{"statusCode": 99}"#).is_err());
    }
}
