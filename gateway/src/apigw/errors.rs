//! The error bodies API Gateway answers with: restJson1 errors of the management
//! API (`x-amzn-ErrorType` and a JSON body, which AWS SDKs and the `aws` CLI
//! decode into their own error types), refused handshakes, and the error frames
//! it sends on a WebSocket.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A restJson1 error: the SDKs read the type from `x-amzn-ErrorType`.
pub fn aws_error(status: StatusCode, error_type: &str, message: &str) -> Response {
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
pub fn forbidden() -> Response {
    aws_error(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden")
}

/// A connection id that is closed or never existed.
pub fn gone(id: &str) -> Response {
    aws_error(
        StatusCode::GONE,
        "GoneException",
        &format!("No connection with id {id}: it is closed or never existed"),
    )
}

/// A handshake refused with a status and a JSON body.
pub fn refuse(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

/// A `$connect` refused by its authorizer's 401.
pub fn unauthorized() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        r#"{"message":"Unauthorized"}"#.into(),
    )
}

/// A `$connect` whose authorizer denied the method ARN.
pub fn handshake_forbidden() -> Response {
    refuse(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#.into())
}

/// A `$connect` whose authorizer failed.
pub fn authorizer_failed() -> Response {
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"message": null}"#.into(),
    )
}

/// A `$connect` whose integration failed.
pub fn bad_gateway() -> Response {
    refuse(
        StatusCode::BAD_GATEWAY,
        r#"{"message": "Internal server error"}"#.into(),
    )
}

/// The error frame API Gateway sends on a WebSocket, spaced as AWS spaces it.
pub fn error_frame(message: &str, connection_id: &str, request_id: &str) -> String {
    format!(
        r#"{{"message": "{message}", "connectionId":"{connection_id}", "requestId":"{request_id}"}}"#
    )
}

/// A frame no route takes (no `$default`).
pub fn forbidden_frame(connection_id: &str, request_id: &str) -> String {
    error_frame("Forbidden", connection_id, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_spaced_like_aws() {
        assert_eq!(
            forbidden_frame("c=", "r="),
            r#"{"message": "Forbidden", "connectionId":"c=", "requestId":"r="}"#
        );
        assert_eq!(gone("x").status(), StatusCode::GONE);
        assert_eq!(gone("x").headers()["x-amzn-errortype"], "GoneException");
    }
}
