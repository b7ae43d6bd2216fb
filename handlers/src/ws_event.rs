//! Reading API Gateway WebSocket events and answering them.

use serde_json::{Value, json};

/// The connection id of a WebSocket event.
pub fn connection_id(event: &Value) -> Option<&str> {
    event["requestContext"]["connectionId"].as_str()
}

/// A query-string parameter of a `$connect` event.
pub fn query(event: &Value, name: &str) -> Option<String> {
    event["queryStringParameters"][name]
        .as_str()
        .map(str::to_string)
}

/// A value the authorizer put in `requestContext.authorizer` (its context, or `principalId`).
pub fn authorizer(event: &Value, name: &str) -> Option<String> {
    match &event["requestContext"]["authorizer"][name] {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A proxy response with a status and a plain-text body.
pub fn response(status: u16, body: &str) -> Value {
    json!({ "statusCode": status, "body": body })
}
