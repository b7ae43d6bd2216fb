//! Lambda: a function invoked within API Gateway's timeout, and its proxy
//! response read as API Gateway reads it. One place for the WebSocket routes
//! (`AWS_PROXY`, and `AWS` without the proxy), the authorizer and the HTTP routes.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use std::sync::Arc;

use super::IntegrationError;
use crate::lambda::{Function, Owner};

#[derive(Debug, thiserror::Error)]
pub enum BadResponse {
    #[error("the function's response is not JSON: {0}")]
    NotJson(String),
    #[error("the function's statusCode {0} is not an HTTP status")]
    BadStatus(String),
    #[error("the function's body is marked isBase64Encoded but is not base64: {0}")]
    NotBase64(String),
}

/// Invokes a function with an event and waits at most `timeout` for its answer.
pub async fn invoke(
    function: &Arc<Function>,
    event: &Value,
    timeout: Duration,
) -> Result<Bytes, IntegrationError> {
    invoke_for(function, event, timeout, None).await
}

/// The same, for a connection whose leaving lets the invocation go unstarted.
pub async fn invoke_for(
    function: &Arc<Function>,
    event: &Value,
    timeout: Duration,
    owner: Option<&Arc<Owner>>,
) -> Result<Bytes, IntegrationError> {
    let payload = Bytes::from(event.to_string());
    let name = || function.name().to_string();
    match tokio::time::timeout(timeout, function.invoke_for(payload, owner.cloned())).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(IntegrationError::Invoke(name(), e)),
        Err(_) => Err(IntegrationError::Timeout(name())),
    }
}

/// Invokes a WebSocket route's function and reads its proxy response.
pub async fn call(
    function: &Arc<Function>,
    event: &Value,
    timeout: Duration,
    owner: Option<&Arc<Owner>>,
) -> Result<ProxyResponse, IntegrationError> {
    let response = invoke_for(function, event, timeout, owner).await?;
    parse(&response).map_err(|e| IntegrationError::BadResponse(function.name().to_string(), e))
}

/// What API Gateway takes from a WebSocket route's proxy response.
#[derive(Debug, Default, PartialEq)]
pub struct ProxyResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body to send back where the route has a route response.
    pub body: Option<String>,
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

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `statusCode`: a number, or a string holding one, as API Gateway takes it.
fn status_code(v: &Value) -> Option<u16> {
    match v {
        Value::String(s) => s.parse().ok(),
        other => other.as_u64().and_then(|n| u16::try_from(n).ok()),
    }
}

fn not_json(payload: &[u8]) -> BadResponse {
    let shown: String = String::from_utf8_lossy(payload).chars().take(200).collect();
    BadResponse::NotJson(shown)
}

/// Parses a WebSocket route's response. An object with `statusCode`, `body` or
/// `headers` is a proxy response; `null` (a handler that returned nothing) is a
/// bare 200; any other JSON value is taken as the body itself.
pub fn parse(payload: &[u8]) -> Result<ProxyResponse, BadResponse> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| not_json(payload))?;
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
        Some(v) => status_code(v)
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

/// An HTTP API (payload 2.0) function's result, ready to send.
#[derive(Debug, PartialEq)]
pub struct HttpResult {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Parses a payload 2.0 result: a `{statusCode,…}` object, or any other JSON,
/// which is sent as a 200 JSON body.
pub fn parse_http(payload: &[u8]) -> Result<HttpResult, BadResponse> {
    use base64::Engine;
    let value: Value = serde_json::from_slice(payload).map_err(|_| not_json(payload))?;
    let Some(status) = value.get("statusCode") else {
        return Ok(HttpResult {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        });
    };
    let status = status_code(status)
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| BadResponse::BadStatus(text(status)))?;
    let headers = value["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    let body = match &value["body"] {
        Value::String(s) if value["isBase64Encoded"] == true => {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| BadResponse::NotBase64(e.to_string()))?
        }
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    };
    Ok(HttpResult {
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

    #[test]
    fn http_results() {
        let status = |p: &[u8]| parse_http(p).map(|r| r.status).ok();
        assert_eq!(status(br#"{"statusCode":201,"body":"x"}"#), Some(201));
        assert_eq!(status(br#"{"statusCode":"404"}"#), Some(404));
        assert_eq!(status(br#"{"statusCode":"nope"}"#), None);
        assert_eq!(status(br#"{"statusCode":70000}"#), None);
        assert_eq!(status(br#"{"plain":"json"}"#), Some(200));
        assert_eq!(status(b"not json"), None);
        let r = parse_http(br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#).unwrap();
        assert_eq!(r.body, b"hi");
        let bad = parse_http(br#"{"statusCode":200,"body":"not base64!","isBase64Encoded":true}"#);
        assert!(matches!(bad, Err(BadResponse::NotBase64(_))), "{bad:?}");
    }
}
