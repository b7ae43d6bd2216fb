//! Plain HTTP routes beside the WebSocket API, invoked like an HTTP API
//! (payload format 2.0), e.g. the demo's `POST /token`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::events::{clf_time, now_ms};
use crate::ids;
use crate::lambda::Function;
use crate::server::Shared;

/// One `METHOD /path` route.
pub struct HttpRoute {
    pub route_key: String,
    pub function: Arc<Function>,
}

/// The payload 2.0 event of a request.
fn event(
    gw: &Shared,
    route_key: &str,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Value {
    let now = now_ms();
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        joined
            .entry(k.as_str().to_string())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let query = uri.query().unwrap_or_default();
    let domain = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let (body, encoded) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": gw.config.aws.account_id,
            "apiId": gw.api_id,
            "domainName": domain,
            "domainPrefix": domain.split('.').next().unwrap_or_default(),
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": ids::aws_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": clf_time(now),
            "timeEpoch": now,
        },
        "body": body,
        "isBase64Encoded": encoded,
    });
    if !query.is_empty() {
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            params
                .entry(k.into_owned())
                .and_modify(|e| {
                    e.push(',');
                    e.push_str(&v);
                })
                .or_insert_with(|| v.into_owned());
        }
        event["queryStringParameters"] = json!(params);
    }
    event
}

/// The HTTP response for a payload 2.0 function result: a `{statusCode,…}` object,
/// or any other JSON, which is sent as a 200 JSON body.
fn response(payload: &[u8]) -> Response {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return internal_error();
    };
    let Some(status) = value.get("statusCode") else {
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            value.to_string(),
        )
            .into_response();
    };
    // A number, or a string holding one, as API Gateway takes it.
    let code = match status {
        Value::String(s) => s.parse::<u16>().ok(),
        other => other.as_u64().and_then(|n| u16::try_from(n).ok()),
    };
    let Some(status) = code.and_then(|c| StatusCode::from_u16(c).ok()) else {
        tracing::warn!("an HTTP route's function answered statusCode {status}, not an HTTP status");
        return internal_error();
    };
    let mut headers = HeaderMap::new();
    for (k, v) in value["headers"].as_object().into_iter().flatten() {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v)) {
            headers.insert(k, v);
        }
    }
    let body = match &value["body"] {
        Value::String(s) if value["isBase64Encoded"] == true => {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .unwrap_or_default()
        }
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    };
    (status, headers, body).into_response()
}

fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "application/json")],
        r#"{"message":"Internal Server Error"}"#,
    )
        .into_response()
}

/// Invokes a route's function with the request.
pub async fn handle(
    State((gw, route)): State<(Arc<Shared>, Arc<HttpRoute>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = event(&gw, &route.route_key, peer, &method, &uri, &headers, &body);
    let invoked = tokio::time::timeout(
        gw.config.api.integration_timeout(),
        route.function.invoke(Bytes::from(event.to_string())),
    )
    .await;
    match invoked {
        Ok(Ok(payload)) => response(&payload),
        Ok(Err(e)) => {
            tracing::warn!(route = %route.route_key, "function `{}`: {e}", route.function.name());
            internal_error()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/json")],
            r#"{"message":"Service Unavailable"}"#,
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_results_become_responses() {
        assert_eq!(response(br#"{"statusCode":201,"body":"x"}"#).status(), 201);
        assert_eq!(response(br#"{"statusCode":"404"}"#).status(), 404);
        assert_eq!(response(br#"{"statusCode":"nope"}"#).status(), 500);
        assert_eq!(response(br#"{"statusCode":70000}"#).status(), 500);
        assert_eq!(response(br#"{"plain":"json"}"#).status(), 200);
        assert_eq!(response(b"not json").status(), 500);
    }
}
