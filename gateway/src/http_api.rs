//! Plain HTTP routes beside the WebSocket API, invoked like an HTTP API
//! (payload format 2.0), e.g. the demo's `POST /token`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};

use crate::api::Api;
use crate::apigw::events::{clf_time, now_ms};
use crate::ids;
use crate::integrations::{self, IntegrationError};
use crate::lambda::{Function, InvokeError};

/// The HTTP routes and the static folder, as a router the gateway merges in.
pub fn router(api: &Arc<Api>) -> Router<()> {
    let mut app = Router::new();
    for (key, r) in &api.config.http.routes {
        let route = Arc::new(HttpRoute {
            route_key: key.as_str().to_string(),
            function: api.model().functions[&r.function].clone(),
        });
        let handler =
            axum::routing::on(key.method_filter(), handle).with_state((api.clone(), route));
        app = app.route(key.path(), handler);
    }
    if let Some(dir) = &api.config.http.static_dir {
        app = app
            .nest_service("/web", tower_http::services::ServeDir::new(dir))
            .route(
                "/",
                get(|| async { axum::response::Redirect::temporary("/web/") }),
            );
    }
    app
}

/// One `METHOD /path` route.
struct HttpRoute {
    route_key: String,
    function: Arc<Function>,
}

/// The payload 2.0 event of a request.
fn event(
    api: &Api,
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
            "accountId": api.config.aws.account_id,
            "apiId": api.api_id,
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

/// The HTTP response for a payload 2.0 function result.
fn response(payload: &[u8]) -> Response {
    let result = match integrations::parse_http(payload) {
        Ok(result) => result,
        Err(e) => {
            tracing::warn!("an HTTP route's function answered badly: {e}");
            return internal_error();
        }
    };
    let mut headers = HeaderMap::new();
    for (k, v) in result.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            headers.insert(k, v);
        }
    }
    let status = StatusCode::from_u16(result.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, headers, result.body).into_response()
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
async fn handle(
    State((api, route)): State<(Arc<Api>, Arc<HttpRoute>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = event(&api, &route.route_key, peer, &method, &uri, &headers, &body);
    match integrations::invoke(&route.function, &event, api.integration_timeout()).await {
        Ok(payload) => response(&payload),
        Err(IntegrationError::Timeout(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/json")],
            r#"{"message":"Service Unavailable"}"#,
        )
            .into_response(),
        // Beyond the function's concurrency: HTTP API's 429.
        Err(IntegrationError::Invoke(_, InvokeError::Throttled { .. })) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("content-type", "application/json")],
            r#"{"message":"Too Many Requests"}"#,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(route = %route.route_key, "{e}");
            internal_error()
        }
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
