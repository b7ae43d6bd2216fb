//! The Lambda proxy events API Gateway sends for CONNECT, MESSAGE and DISCONNECT.
//!
//! Shapes follow recorded AWS payloads: headers and query maps on CONNECT only,
//! `body`/`messageId` on MESSAGE, the close status and reason on DISCONNECT.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

/// What API Gateway knows of a connection from its handshake on; fixed for its life.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub connection_id: String,
    pub connected_at_ms: i64,
    pub source_ip: String,
    pub user_agent: Option<String>,
    /// The Host the client connected to, as AWS reports its own domain.
    pub domain_name: String,
    pub stage: String,
    pub api_id: String,
    /// `requestContext.authorizer` for every event of the connection (set by an authorizer).
    pub authorizer: Option<Value>,
    /// The stage's variables, in every event as `stageVariables` (left out when none).
    pub stage_variables: Option<Value>,
}

/// The handshake's headers and query string, in the forms AWS hands them on.
#[derive(Debug, Clone, Default)]
pub struct HandshakeRequest {
    /// Name (as the client spelled it, where known) and value, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Decoded query pairs in arrival order.
    pub query: Vec<(String, String)>,
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// `requestTime` in Common Log Format, as AWS writes it: `22/Feb/2022:19:07:37 +0000`.
pub fn clf_time(ms: i64) -> String {
    datetime(ms).format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// ISO-8601 with milliseconds, as the management API returns `connectedAt`.
pub fn iso_time(ms: i64) -> String {
    datetime(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn request_context(
    conn: &ConnectionInfo,
    route_key: &str,
    event_type: &str,
    request_id: &str,
    now: i64,
) -> Map<String, Value> {
    // AWS puts the handshake's user agent in every event of the connection.
    let mut identity = Map::new();
    identity.insert("sourceIp".into(), conn.source_ip.clone().into());
    if let Some(ua) = &conn.user_agent {
        identity.insert("userAgent".into(), ua.clone().into());
    }
    let mut ctx = Map::new();
    ctx.insert("routeKey".into(), route_key.into());
    ctx.insert("eventType".into(), event_type.into());
    ctx.insert("extendedRequestId".into(), request_id.into());
    ctx.insert("requestTime".into(), clf_time(now).into());
    ctx.insert("messageDirection".into(), "IN".into());
    ctx.insert("stage".into(), conn.stage.clone().into());
    ctx.insert("connectedAt".into(), conn.connected_at_ms.into());
    ctx.insert("requestTimeEpoch".into(), now.into());
    ctx.insert("identity".into(), Value::Object(identity));
    ctx.insert("requestId".into(), request_id.into());
    ctx.insert("domainName".into(), conn.domain_name.clone().into());
    ctx.insert("connectionId".into(), conn.connection_id.clone().into());
    ctx.insert("apiId".into(), conn.api_id.clone().into());
    if let Some(authorizer) = &conn.authorizer {
        ctx.insert("authorizer".into(), authorizer.clone());
    }
    ctx
}

/// Single-value maps keep the last value of a repeated name; multi-value maps keep all.
pub fn maps(pairs: &[(String, String)]) -> (Value, Value) {
    let mut single = BTreeMap::<&str, &str>::new();
    let mut multi = BTreeMap::<&str, Vec<&str>>::new();
    for (k, v) in pairs {
        single.insert(k, v);
        multi.entry(k).or_default().push(v);
    }
    (json!(single), json!(multi))
}

/// The `$connect` event.
pub fn connect_event(
    conn: &ConnectionInfo,
    request: &HandshakeRequest,
    request_id: &str,
    now: i64,
) -> Value {
    let ctx = request_context(conn, "$connect", "CONNECT", request_id, now);
    let mut event = Map::new();
    // The upgrade's own headers reach the authorizer, not `$connect` (AWS's
    // recorded CONNECT events have neither).
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("upgrade")
        })
        .cloned()
        .collect();
    let (headers, multi) = maps(&headers);
    event.insert("headers".into(), headers);
    event.insert("multiValueHeaders".into(), multi);
    if !request.query.is_empty() {
        let (query, multi) = maps(&request.query);
        event.insert("queryStringParameters".into(), query);
        event.insert("multiValueQueryStringParameters".into(), multi);
    }
    event.insert("requestContext".into(), Value::Object(ctx));
    event.insert("isBase64Encoded".into(), false.into());
    with_stage_variables(Value::Object(event), conn)
}

fn with_stage_variables(mut event: Value, conn: &ConnectionInfo) -> Value {
    if let (Some(vars), Some(obj)) = (&conn.stage_variables, event.as_object_mut()) {
        obj.insert("stageVariables".into(), vars.clone());
    }
    event
}

/// A message event for a text frame routed to `route_key`.
pub fn message_event(
    conn: &ConnectionInfo,
    route_key: &str,
    message_id: &str,
    request_id: &str,
    body: &str,
    now: i64,
) -> Value {
    let mut ctx = request_context(conn, route_key, "MESSAGE", request_id, now);
    ctx.insert("messageId".into(), message_id.into());
    let event = json!({
        "requestContext": ctx,
        "body": body,
        "isBase64Encoded": false,
    });
    with_stage_variables(event, conn)
}

/// The `$disconnect` event, with the stub headers AWS sends.
pub fn disconnect_event(
    conn: &ConnectionInfo,
    status_code: u16,
    reason: &str,
    request_id: &str,
    now: i64,
) -> Value {
    let mut ctx = request_context(conn, "$disconnect", "DISCONNECT", request_id, now);
    ctx.insert("disconnectStatusCode".into(), status_code.into());
    ctx.insert("disconnectReason".into(), reason.into());
    let headers = vec![
        ("Host".to_string(), conn.domain_name.clone()),
        ("x-api-key".to_string(), String::new()),
        ("X-Forwarded-For".to_string(), String::new()),
        ("x-restapi".to_string(), String::new()),
    ];
    let (headers, multi) = maps(&headers);
    let event = json!({
        "headers": headers,
        "multiValueHeaders": multi,
        "requestContext": ctx,
        "isBase64Encoded": false,
    });
    with_stage_variables(event, conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> ConnectionInfo {
        ConnectionInfo {
            connection_id: "f97yeeMZDoECGqg=".into(),
            connected_at_ms: 1645556857902,
            source_ip: "127.0.0.1".into(),
            user_agent: Some("test".into()),
            domain_name: "127.0.0.1:8080".into(),
            stage: "local".into(),
            api_id: "abcdefghij".into(),
            authorizer: None,
            stage_variables: None,
        }
    }

    #[test]
    fn times_are_formatted_like_aws() {
        assert_eq!(clf_time(1645556857902), "22/Feb/2022:19:07:37 +0000");
        assert_eq!(iso_time(1645556857902), "2022-02-22T19:07:37.902Z");
    }

    #[test]
    fn connect_has_query_maps_only_when_present() {
        let req = HandshakeRequest {
            headers: vec![("Host".into(), "h".into())],
            query: vec![],
        };
        let e = connect_event(&conn(), &req, "r=", 1);
        assert!(e.get("queryStringParameters").is_none());
        assert_eq!(e["requestContext"]["identity"]["userAgent"], "test");
        let req = HandshakeRequest {
            headers: vec![],
            query: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
        };
        let e = connect_event(&conn(), &req, "r=", 1);
        assert_eq!(e["queryStringParameters"]["a"], "2");
        assert_eq!(e["multiValueQueryStringParameters"]["a"], json!(["1", "2"]));
    }

    #[test]
    fn disconnect_and_message_shapes() {
        let e = disconnect_event(
            &conn(),
            1005,
            "Client-side close frame status not set",
            "r=",
            2,
        );
        assert_eq!(e["requestContext"]["disconnectStatusCode"], 1005);
        assert_eq!(e["headers"]["x-restapi"], "");
        // AWS carries the handshake's user agent in every event of the connection.
        assert_eq!(e["requestContext"]["identity"]["userAgent"], "test");
        let e = message_event(&conn(), "$default", "m=", "r=", "hi", 3);
        assert_eq!(e["requestContext"]["messageId"], "m=");
        assert_eq!(e["body"], "hi");
        assert!(e.get("headers").is_none());
        assert!(e.get("stageVariables").is_none());
        let mut with_vars = conn();
        with_vars.stage_variables = Some(json!({"fn": "blue"}));
        let e = message_event(&with_vars, "$default", "m=", "r=", "hi", 3);
        assert_eq!(e["stageVariables"]["fn"], "blue");
    }
}
