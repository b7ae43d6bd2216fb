//! The Lambda API, enough for the SDKs and the CLI to invoke this gateway's
//! functions: `Invoke` (RequestResponse, Event, DryRun), `GetFunction`,
//! `ListFunctions`. Errors are restJson1, as Lambda's. Functions get
//! `AWS_ENDPOINT_URL_LAMBDA` pointing here, so `lambda.invoke(...)` in their code
//! reaches their neighbours unchanged.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::Api;
use crate::apigw::errors::aws_error;
use crate::lambda::{Function, InvokeError};

/// Lambda's limit on a synchronous request's payload.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;
/// An asynchronous invocation that fails is tried twice more, as Lambda does
/// (Lambda waits about 1 and 2 minutes; locally the waits are seconds).
const EVENT_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// How long a throttled asynchronous invocation waits before it tries again, at first and at most.
const THROTTLE_PAUSE: Duration = Duration::from_millis(100);
const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(5);

pub fn router(api: &Arc<Api>) -> Router<()> {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route("/2015-03-31/functions/{name}", get(get_function))
        .route("/2015-03-31/functions/", get(list_functions))
        .route("/2015-03-31/functions", get(list_functions))
        .with_state(api.clone())
}

#[derive(serde::Deserialize, Default)]
struct Qualifier {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

/// A function by name, ARN or partial ARN, with an optional `:$LATEST` qualifier.
fn find(api: &Api, name: &str, qualifier: Option<&str>) -> Result<Arc<Function>, Box<Response>> {
    // axum's Path has already percent-decoded it.
    let (bare, version) = parse_name(name);
    let unknown = || {
        let aws = &api.config.aws;
        aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: arn:aws:lambda:{}:{}:function:{name}",
                aws.region, aws.account_id
            ),
        )
    };
    // Only $LATEST exists here.
    if version.or(qualifier).is_some_and(|q| q != "$LATEST") {
        return Err(Box::new(unknown()));
    }
    api.model()
        .functions
        .get(bare)
        .cloned()
        .ok_or_else(|| Box::new(unknown()))
}

/// A function's name and qualifier from `name[:qualifier]`,
/// `account:function:name[:qualifier]` or `arn:aws:lambda:region:account:function:name[:qualifier]`.
fn parse_name(name: &str) -> (&str, Option<&str>) {
    let parts: Vec<&str> = name.split(':').collect();
    match parts.as_slice() {
        [n] => (n, None),
        [n, q] => (n, Some(q)),
        [_, "function", n] => (n, None),
        [_, "function", n, q] => (n, Some(q)),
        ["arn", _, "lambda", _, _, "function", n] => (n, None),
        ["arn", _, "lambda", _, _, "function", n, q] => (n, Some(q)),
        _ => ("", None),
    }
}

/// `POST /2015-03-31/functions/{name}/invocations`
async fn invoke(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(q): Query<Qualifier>,
    headers: HeaderMap,
    payload: Body,
) -> Response {
    // Read here, not by a body limit: the SDKs need restJson1, not a plain 413.
    if crate::auth::declared_length(&headers).is_some_and(|n| n > MAX_PAYLOAD) {
        return too_large(&headers, MAX_PAYLOAD);
    }
    let Ok(payload) = axum::body::to_bytes(payload, MAX_PAYLOAD).await else {
        return too_large(&headers, MAX_PAYLOAD);
    };
    let function = match find(&api, &name, q.qualifier.as_deref()) {
        Ok(f) => f.clone(),
        Err(response) => return *response,
    };
    let payload = if payload.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    if let Err(e) = serde_json::from_slice::<Value>(&payload) {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {e}"),
        );
    }
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    match kind {
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        "Event" => {
            tokio::spawn(invoke_event(function, payload));
            (
                StatusCode::ACCEPTED,
                [("x-amzn-requestid", crate::ids::uuid())],
            )
                .into_response()
        }
        "RequestResponse" => respond(function.invoke(payload).await),
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("Unsupported invocation type {other}"),
        ),
    }
}

/// An `Event` invocation: run now, tried twice more on error. A throttled
/// attempt is not counted: it waits (longer each time) and tries again, as
/// Lambda keeps throttled events queued.
async fn invoke_event(function: Arc<Function>, payload: Bytes) {
    for (attempt, delay) in std::iter::once(None)
        .chain(EVENT_RETRY_DELAYS.map(Some))
        .enumerate()
    {
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut pause = THROTTLE_PAUSE;
        let result = loop {
            match function.invoke(payload.clone()).await {
                Err(InvokeError::Throttled { .. }) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_THROTTLE_PAUSE);
                }
                other => break other,
            }
        };
        match result {
            Ok(_) => return,
            Err(InvokeError::ShuttingDown) => return,
            Err(e) => tracing::warn!(
                "[{}] asynchronous invocation failed (attempt {} of 3): {e}",
                function.name(),
                attempt + 1
            ),
        }
    }
    tracing::warn!(
        "[{}] asynchronous invocation dropped after 3 attempts",
        function.name()
    );
}

/// A synchronous invocation's answer: the payload, or the function's error
/// with `X-Amz-Function-Error` as Lambda sends it (still 200).
fn respond(result: Result<Bytes, InvokeError>) -> Response {
    let version = ("x-amz-executed-version", "$LATEST");
    let error = match result {
        Ok(payload) => {
            return (
                StatusCode::OK,
                [version, ("content-type", "application/json")],
                payload,
            )
                .into_response();
        }
        Err(InvokeError::Function {
            error_type,
            message,
        }) => json!({ "errorType": error_type, "errorMessage": message }),
        Err(e @ InvokeError::Timeout(_)) => {
            json!({ "errorType": "Sandbox.Timedout", "errorMessage": e.to_string() })
        }
        Err(e @ (InvokeError::Exited(_) | InvokeError::Init(_))) => {
            let kind = if matches!(e, InvokeError::Init(_)) {
                "Runtime.InitError"
            } else {
                "Runtime.ExitError"
            };
            json!({ "errorType": kind, "errorMessage": e.to_string() })
        }
        Err(e @ InvokeError::Throttled { .. }) => return throttled(&e),
        Err(e @ (InvokeError::Spawn(_) | InvokeError::ShuttingDown | InvokeError::Abandoned)) => {
            return aws_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                &e.to_string(),
            );
        }
    };
    (
        StatusCode::OK,
        [
            version,
            ("x-amz-function-error", "Unhandled"),
            ("content-type", "application/json"),
        ],
        error.to_string(),
    )
        .into_response()
}

/// Lambda's 413 for a payload over its limit.
pub fn too_large(_: &HeaderMap, limit: usize) -> Response {
    aws_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestTooLargeException",
        &format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
    )
}

/// Lambda's 429: the SDKs read it as `TooManyRequestsException` and retry it.
fn throttled(e: &InvokeError) -> Response {
    let body = json!({
        "Type": "User",
        "message": "Rate Exceeded.",
        "Reason": e.throttle_reason(),
    });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            ("x-amzn-errortype", "TooManyRequestsException"),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn configuration(function: &Function) -> Value {
    let spec = function.spec();
    json!({
        "FunctionName": spec.name,
        "FunctionArn": spec.arn,
        "Runtime": spec.runtime,
        "Handler": spec.handler,
        "Timeout": spec.timeout.as_secs(),
        "MemorySize": spec.memory_mb,
        "Version": "$LATEST",
        "PackageType": "Zip",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "Architectures": [std::env::consts::ARCH.replace("aarch64", "arm64")],
    })
}

/// `GET /2015-03-31/functions/{name}`
async fn get_function(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(q): Query<Qualifier>,
) -> Response {
    match find(&api, &name, q.qualifier.as_deref()) {
        Ok(f) => axum::Json(json!({
            "Configuration": configuration(&f),
            "Code": { "RepositoryType": "S3", "Location": "" },
        }))
        .into_response(),
        Err(response) => *response,
    }
}

/// `GET /2015-03-31/functions/`
async fn list_functions(State(api): State<Arc<Api>>) -> Response {
    let functions: Vec<Value> = api
        .model()
        .functions
        .values()
        .map(|f| configuration(f))
        .collect();
    axum::Json(json!({ "Functions": functions })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_arns_and_partial_arns() {
        assert_eq!(parse_name("hello"), ("hello", None));
        assert_eq!(parse_name("hello:$LATEST"), ("hello", Some("$LATEST")));
        assert_eq!(parse_name("000000000000:function:hello"), ("hello", None));
        assert_eq!(
            parse_name("arn:aws:lambda:us-east-1:000000000000:function:hello:prod"),
            ("hello", Some("prod"))
        );
        assert_eq!(parse_name("arn:aws:s3:::bucket").0, "");
    }

    #[test]
    fn errors_keep_the_200_and_say_unhandled() {
        let r = respond(Err(InvokeError::Timeout(3.0)));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-amz-function-error"], "Unhandled");
        let r = respond(Ok(Bytes::from_static(b"{}")));
        assert!(r.headers().get("x-amz-function-error").is_none());
    }
}
