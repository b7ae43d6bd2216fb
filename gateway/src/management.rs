//! The `@connections` management API: POST, GET and DELETE a connection.
//!
//! Errors are restJson1 (`x-amzn-ErrorType` and a JSON body), so AWS SDKs and
//! the `aws` CLI decode them into their own error types.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::Api;
use crate::apigw::errors::{aws_error, forbidden, gone};
use crate::apigw::events::iso_time;
use crate::connections::{Outbound, close};
use crate::metrics::RequestLabels;

/// Counts every `@connections` request by method and status, refused ones too.
pub async fn count(
    State(api): State<Arc<Api>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = match *request.method() {
        Method::POST => "POST",
        Method::GET => "GET",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    };
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        status: response.status().as_u16(),
    };
    api.metrics.management_requests.get_or_create(&labels).inc();
    response
}

/// `/{stage}/@connections/{id}` and `/@connections/{id}`.
pub async fn handle(
    State(api): State<Arc<Api>>,
    Path(params): Path<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if params.get("stage").is_some_and(|s| **s != *api.stage()) {
        return forbidden();
    }
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    match method {
        Method::POST => match read_post(&api, &headers, body).await {
            Ok(body) => post(&api, id, body).await,
            Err(refused) => refused,
        },
        Method::GET => get(&api, id),
        Method::DELETE => delete(&api, id).await,
        _ => aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequestException",
            "Only POST, GET and DELETE are supported on @connections",
        ),
    }
}

/// The POST's body, read no further than the limit: anything longer gets
/// AWS's restJson1 413 however long it is.
async fn read_post(api: &Api, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let limit = api.config.api.max_message_bytes;
    axum::body::to_bytes(body, limit + 1)
        .await
        .map_err(|_| too_large(headers, limit))
}

/// AWS's 413 for a body over the limit (its size as the client declared it).
pub fn too_large(headers: &HeaderMap, limit: usize) -> Response {
    let size = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .map(|n| format!("{n} bytes"))
        .unwrap_or_else(|| "more bytes".into());
    aws_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLargeException",
        &format!("Message of {size} exceeds the {limit} byte limit"),
    )
}

async fn post(api: &Api, id: &str, body: Bytes) -> Response {
    let limit = api.config.api.max_message_bytes;
    if body.len() > limit {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            &format!(
                "Message of {} bytes exceeds the {limit} byte limit",
                body.len()
            ),
        );
    }
    let Some(conn) = api.connections.get(id) else {
        return gone(id);
    };
    // Text where the data is UTF-8, as browsers expect; binary otherwise.
    let message = match String::from_utf8(body.to_vec()) {
        Ok(text) => Outbound::Text(text),
        Err(_) => Outbound::Binary(body),
    };
    if conn.send(message).await {
        StatusCode::OK.into_response()
    } else {
        gone(id)
    }
}

fn get(api: &Api, id: &str) -> Response {
    let Some(conn) = api.connections.get(id) else {
        return gone(id);
    };
    let info = &conn.info;
    let mut identity = json!({ "sourceIp": info.source_ip });
    if let Some(ua) = &info.user_agent {
        identity["userAgent"] = ua.clone().into();
    }
    axum::Json(json!({
        "connectedAt": iso_time(info.connected_at_ms),
        "identity": identity,
        "lastActiveAt": iso_time(conn.last_active_ms()),
    }))
    .into_response()
}

async fn delete(api: &Api, id: &str) -> Response {
    let Some(conn) = api.connections.get(id) else {
        return gone(id);
    };
    let (code, reason) = close::DELETED;
    let close = Outbound::Close {
        code,
        reason: reason.into(),
    };
    if conn.send(close).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        gone(id)
    }
}
