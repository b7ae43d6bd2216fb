//! Reading a function's Lambda proxy response.

use serde_json::Value;

/// What API Gateway takes from a proxy response.
#[derive(Debug, Default, PartialEq)]
pub struct ProxyResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body to send back where the route has a route response.
    pub body: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BadResponse {
    #[error("the function's response is not JSON: {0}")]
    NotJson(String),
    #[error("the function's statusCode {0} is not an HTTP status")]
    BadStatus(String),
}

impl ProxyResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Parses a response. An object with `statusCode`, `body` or `headers` is a proxy
/// response; `null` (a handler that returned nothing) is a bare 200; any other
/// JSON value is taken as the body itself.
pub fn parse(payload: &[u8]) -> Result<ProxyResponse, BadResponse> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| {
        let shown: String = String::from_utf8_lossy(payload).chars().take(200).collect();
        BadResponse::NotJson(shown)
    })?;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let proxy = value.as_object().filter(|o| {
        o.contains_key("statusCode") || o.contains_key("body") || o.contains_key("headers")
    });
    let Some(obj) = proxy else {
        return Ok(ProxyResponse {
            status: 200,
            headers: vec![],
            body: (!value.is_null()).then(|| text(&value)),
        });
    };
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(v) => text(v)
            .parse::<u16>()
            .ok()
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| BadResponse::BadStatus(text(v)))?,
    };
    let mut headers = Vec::new();
    if let Some(Value::Object(h)) = obj.get("headers") {
        headers.extend(h.iter().map(|(k, v)| (k.clone(), text(v))));
    }
    if let Some(Value::Object(h)) = obj.get("multiValueHeaders") {
        for (k, vs) in h {
            for v in vs.as_array().into_iter().flatten() {
                headers.push((k.clone(), text(v)));
            }
        }
    }
    let body = obj.get("body").filter(|b| !b.is_null()).map(text);
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_and_plain_responses() {
        let r =
            parse(br#"{"statusCode":401,"headers":{"Sec-WebSocket-Protocol":"chat"},"body":"no"}"#)
                .unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.header("sec-websocket-protocol"), Some("chat"));
        assert_eq!(r.body.as_deref(), Some("no"));
        assert_eq!(parse(b"null").unwrap().status, 200);
        assert_eq!(parse(b"null").unwrap().body, None);
        assert_eq!(parse(br#""hi""#).unwrap().body.as_deref(), Some("hi"));
        assert_eq!(
            parse(br#"{"a":1}"#).unwrap().body.as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(parse(br#"{"statusCode":"204"}"#).unwrap().status, 204);
        assert_eq!(
            parse(br#"{"body":{"x":1}}"#).unwrap().body.as_deref(),
            Some(r#"{"x":1}"#)
        );
        assert!(parse(b"garbage").is_err());
        assert!(parse(br#"{"statusCode":"abc"}"#).is_err());
        assert!(parse(br#"{"statusCode":1000}"#).is_err());
    }
}
