//! The Lambda Runtime API (2018-06-01) as one instance's process sees it: each
//! endpoint asks the instance (`/next`) or hands it the answer (`/response`, `/error`).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::InvokeError;
use super::instance::{Instance, KillReason};
use crate::ids;

/// Lambda's limit on a synchronous response.
const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

pub(super) fn router(instance: Arc<Instance>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(unknown)
        .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES))
        .with_state(instance)
}

fn runtime_error(status: StatusCode, error_type: &str, message: String) -> Response {
    let body = json!({ "errorMessage": message, "errorType": error_type });
    (status, axum::Json(body)).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

/// Long-polls for the next invocation: the instance asks its pool.
async fn next(State(instance): State<Arc<Instance>>) -> Response {
    let Some(next) = instance.next().await else {
        // The instance is being stopped: like a frozen Lambda sandbox, the
        // runtime gets no answer (an error would crash it before its kill).
        return std::future::pending().await;
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", next.request_id);
    set("lambda-runtime-deadline-ms", next.deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        instance.spec.arn.clone(),
    );
    set("lambda-runtime-trace-id", ids::trace_id());
    // awslambdaric crashes without it.
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, next.payload).into_response()
}

async fn response(
    State(instance): State<Arc<Instance>>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    // Read here, not by a body limit: an oversize answer must fail its
    // invocation at once, as Lambda's does, not leave it to time out.
    let result = match read_within(body, MAX_RESPONSE_BYTES).await {
        Some(body) => Ok(body),
        None => Err(InvokeError::Function {
            error_type: "Function.ResponseSizeTooLarge".into(),
            message: format!(
                "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            ),
        }),
    };
    if instance.finish(&id, result) {
        accepted()
    } else {
        invalid_id(&instance, &id)
    }
}

/// The body, or None when it is over `limit`. The rest of an oversize body is
/// still read (and dropped) so the runtime gets its answer on an intact
/// connection instead of a reset, which some runtimes treat as fatal.
async fn read_within(body: Body, limit: usize) -> Option<Bytes> {
    use futures_util::StreamExt;
    let mut body = body.into_data_stream();
    let mut kept = bytes::BytesMut::new();
    let mut over = false;
    while let Some(Ok(chunk)) = body.next().await {
        if !over && kept.len() + chunk.len() <= limit {
            kept.extend_from_slice(&chunk);
        } else {
            over = true;
            kept = bytes::BytesMut::new();
        }
    }
    (!over).then(|| kept.freeze())
}

async fn error(
    State(instance): State<Arc<Instance>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = function_error(&headers, &body);
    tracing::warn!(target: "wsgate::function", function = instance.name(), request_id = id, "[{}] RequestId: {id} Error: {error}", instance.name());
    if instance.finish(&id, Err(error)) {
        accepted()
    } else {
        invalid_id(&instance, &id)
    }
}

async fn init_error(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = function_error(&headers, &body);
    tracing::error!(target: "wsgate::function", function = instance.name(), "[{}] init error: {error}", instance.name());
    instance.terminate(KillReason::InitError);
    accepted()
}

async fn unknown(State(instance): State<Arc<Instance>>, uri: axum::http::Uri) -> Response {
    tracing::warn!(
        "[{}] called an unknown Runtime API path {uri}",
        instance.name()
    );
    runtime_error(
        StatusCode::NOT_FOUND,
        "InvalidRequest",
        format!("no Runtime API operation at {uri}"),
    )
}

fn invalid_id(instance: &Instance, id: &str) -> Response {
    tracing::warn!(
        "[{}] answered request id {id}, which it does not hold",
        instance.name()
    );
    runtime_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        format!("Invalid request ID: {id}"),
    )
}

/// An error report as runtimes send it: `{"errorMessage","errorType",…}`, or anything else.
fn function_error(headers: &HeaderMap, body: &[u8]) -> InvokeError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let error_type = field("errorType")
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Unhandled".into());
    let message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    InvokeError::Function {
        error_type,
        message,
    }
}
