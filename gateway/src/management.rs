//! The `@connections` management API: POST, GET and DELETE a connection.
//!
//! Errors are restJson1 (`x-amzn-ErrorType` and a JSON body), so AWS SDKs and
//! the `aws` CLI decode them into their own error types.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::events::iso_time;
use crate::registry::Outbound;
use crate::server::Shared;

fn aws_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        [
            ("x-amzn-errortype", error_type),
            ("content-type", "application/json"),
        ],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

/// What AWS answers for paths and stages it does not know.
pub async fn forbidden() -> Response {
    aws_error(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden")
}

fn gone(id: &str) -> Response {
    aws_error(
        StatusCode::GONE,
        "GoneException",
        &format!("No connection with id {id}: it is closed or never existed"),
    )
}

/// `/{stage}/@connections/{id}` and `/@connections/{id}`.
pub async fn handle(
    State(gw): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    method: Method,
    body: Bytes,
) -> Response {
    if params
        .get("stage")
        .is_some_and(|s| *s != gw.config.api.stage)
    {
        return forbidden().await;
    }
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    match method {
        Method::POST => post(&gw, id, body).await,
        Method::GET => get(&gw, id),
        Method::DELETE => delete(&gw, id).await,
        _ => aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequestException",
            "Only POST, GET and DELETE are supported on @connections",
        ),
    }
}

async fn post(gw: &Shared, id: &str, body: Bytes) -> Response {
    let limit = gw.config.api.max_message_bytes;
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
    let Some(conn) = gw.registry.get(id) else {
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

fn get(gw: &Shared, id: &str) -> Response {
    let Some(conn) = gw.registry.get(id) else {
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

async fn delete(gw: &Shared, id: &str) -> Response {
    let Some(conn) = gw.registry.get(id) else {
        return gone(id);
    };
    let (code, reason) = crate::ws::DELETE_CLOSE;
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
