//! A Lambda function for the gateway's tests, run by the unmodified `lambda_runtime`.
//!
//! It appends every event it receives to `$PROBE_LOG` (one JSON line each) and
//! behaves as the event asks: on `$connect` the query string (`status`,
//! `protocol`, `do`), on messages the body's `do` field (`crash`, `hang`,
//! `error`, `sleep:MS`, `wait:PATH`, `huge`); otherwise it echoes the message back
//! as a route response.

use std::io::Write;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

fn record(event: &Value) {
    if let Ok(path) = std::env::var("PROBE_LOG") {
        let mut line = event.to_string();
        line.push('\n');
        // One write per line with O_APPEND keeps concurrent instances' lines whole.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

async fn act(what: &str) -> Result<(), Error> {
    match what {
        "crash" => {
            eprintln!("probe: crashing on purpose");
            std::process::exit(3)
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        "error" => Err("probe: failing on purpose".into()),
        other if other.starts_with("wait:") => {
            // Held until the test opens the gate (creates the file): an invocation
            // that ends when the test says, not when a clock does.
            let gate = std::path::Path::new(&other["wait:".len()..]);
            while !gate.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(())
        }
        other => {
            if let Some(ms) = other.strip_prefix("sleep:").and_then(|ms| ms.parse().ok()) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Ok(())
        }
    }
}

/// SQS mode: each record's body says what to do (`ok`, `fail`, `sleep:MS`,
/// `crash-once`, `hang-once`); handled records are logged as `{"handled": body}`.
async fn sqs(records: &[Value]) -> Result<Value, Error> {
    let mut failures = Vec::new();
    for r in records {
        let body = r["body"].as_str().unwrap_or_default();
        let msg: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let what = msg["do"].as_str().unwrap_or("ok");
        if let Some(once) = what.strip_suffix("-once") {
            // The first delivery misbehaves; a marker file remembers it across processes.
            let marker = format!(
                "{}.{}",
                std::env::var("PROBE_LOG").unwrap_or_default(),
                msg["id"]
            );
            if std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&marker)
                .is_ok()
            {
                act(once).await?;
            }
        }
        if what.starts_with("sleep:") {
            act(what).await?;
        }
        if what == "fail" {
            failures.push(serde_json::json!({ "itemIdentifier": r["messageId"] }));
            continue;
        }
        record(&serde_json::json!({ "handled": body }));
    }
    Ok(serde_json::json!({ "batchItemFailures": failures }))
}

/// Authorizer mode: `?token=allow|deny|unauthorized|error|garbage` (or the `X-Token` header).
fn authorizer(event: &Value) -> Result<Value, Error> {
    let token = event["queryStringParameters"]["token"]
        .as_str()
        .or_else(|| {
            // Header names arrive as the client spelled them.
            let headers = event["headers"].as_object()?;
            let (_, v) = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-token"))?;
            v.as_str()
        })
        .unwrap_or_default();
    let effect = match token {
        "allow" => "Allow",
        "deny" => "Deny",
        "unauthorized" => return Err("Unauthorized".into()),
        "error" => return Err("probe: authorizer failing on purpose".into()),
        _ => return Ok(json!({ "nope": true })),
    };
    Ok(json!({
        "principalId": "probe-user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{ "Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"] }]
        },
        "context": { "userId": "1234", "tier": 3 }
    }))
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (event, context) = event.into_parts();
    record(&event);
    if let Some(records) = event["Records"].as_array() {
        return sqs(records).await;
    }
    if event["type"] == "REQUEST" {
        return authorizer(&event);
    }
    let ctx = &event["requestContext"];
    match ctx["eventType"].as_str() {
        Some("CONNECT") => {
            let query = &event["queryStringParameters"];
            act(query["do"].as_str().unwrap_or_default()).await?;
            let status: u16 = query["status"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(200);
            let mut response = json!({ "statusCode": status });
            if let Some(protocol) = query["protocol"].as_str() {
                response["headers"] = json!({ "Sec-WebSocket-Protocol": protocol });
            }
            Ok(response)
        }
        Some("MESSAGE") => {
            let body: Value = event["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            act(body["do"].as_str().unwrap_or_default()).await?;
            if body["do"] == "huge" {
                // Over Lambda's 6 MB response limit.
                return Ok(json!({ "statusCode": 200, "body": "x".repeat(7 * 1024 * 1024) }));
            }
            let reply = json!({
                "echo": event["body"],
                "routeKey": ctx["routeKey"],
                "connectionId": ctx["connectionId"],
                "function": std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
                "pid": std::process::id(),
                "requestId": context.request_id,
                "deadline": context.deadline,
                "arn": context.invoked_function_arn,
                "traceId": context.xray_trace_id,
                "runtimeApi": std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default(),
                "region": std::env::var("AWS_REGION").unwrap_or_default(),
                "memory": std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default(),
                "managementEndpoint": std::env::var("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI").unwrap_or_default(),
                "globalEndpoint": std::env::var("AWS_ENDPOINT_URL").ok(),
                "stageVariables": event["stageVariables"],
            });
            Ok(json!({ "statusCode": 200, "body": reply.to_string() }))
        }
        // An HTTP API request: `?do=` as on $connect.
        None if ctx["http"].is_object() => {
            act(event["queryStringParameters"]["do"]
                .as_str()
                .unwrap_or_default())
            .await?;
            Ok(json!({ "statusCode": 200, "body": "done" }))
        }
        _ => Ok(json!({ "statusCode": 200 })),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    println!("probe: starting, pid {}", std::process::id());
    lambda_runtime::run(service_fn(handler)).await
}
