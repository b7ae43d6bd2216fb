//! The Lambda API wsgate serves: functions invoking functions (boto3, the JS
//! SDK), and the aws CLI invoking from a terminal.

use crate::common::apps::start_app;
use crate::common::*;

/// `$connect` invokes a worker with InvocationType=Event (boto3); the worker
/// greets the socket right after its handshake.
#[tokio::test(flavor = "multi_thread")]
async fn a_connect_function_acknowledges_through_an_async_worker() {
    let app = start_app("python-ack").await;
    let mut ws = app.connect().await;
    let greeting = next_text(&mut ws).await;
    let id = greeting
        .strip_prefix("welcome, ")
        .expect(&greeting)
        .to_string();
    assert_eq!(app.stored_ids("ConnectionsTable").await, vec![id]);
    app.gateway.shutdown().await;
}

/// The JS SDK's InvokeCommand reaches a neighbour with no endpoint in the code.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_function_invokes_another_synchronously() {
    let app = start_app("node-edges").await;
    let mut ws = app.connect().await;
    let reply = ask_text(&mut ws, r#"{"action":"invoke"}"#).await;
    assert_eq!(reply, "200 hello from a neighbour");
    app.gateway.shutdown().await;
}

async fn ask_text(ws: &mut Ws, text: &str) -> String {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(text))
        .await
        .unwrap();
    next_text(ws).await
}

/// `aws lambda invoke` returns the payload, a failing function's error shape,
/// and ResourceNotFoundException for an unknown name.
#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_invokes_functions() {
    let app = start_app("node-edges").await;
    let endpoint = format!("http://{}", app.gateway.local_addr());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let invoke = async |name: &str| {
        let output = aws_cli(&[
            "lambda",
            "invoke",
            "--endpoint-url",
            &endpoint,
            "--function-name",
            name,
            "--payload",
            r#"{"body":"from the CLI"}"#,
            out.to_str().unwrap(),
        ])
        .await;
        let written = std::fs::read_to_string(&out).unwrap_or_default();
        (output, written)
    };
    let (output, written) = invoke("HelloFunction").await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(answer["body"], "hello from the CLI");
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["StatusCode"], 200);

    // A full ARN works too; the error comes back as Lambda sends it.
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:ThrowsFunction";
    let (output, written) = invoke(arn).await;
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["FunctionError"], "Unhandled", "{printed}");
    let error: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(error["errorType"], "Error");
    assert_eq!(error["errorMessage"], "Something went wrong");

    let (output, _) = invoke("NoSuchFunction").await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
    app.gateway.shutdown().await;
}

/// aws-sdk-rust's Lambda client, with no endpoint in the code, reaches a
/// neighbour through AWS_ENDPOINT_URL_LAMBDA.
#[tokio::test(flavor = "multi_thread")]
async fn a_rust_function_invokes_another_with_the_sdk() {
    let gw = start(&format!(
        r#"
[env]
AWS_ACCESS_KEY_ID = "test"
AWS_SECRET_ACCESS_KEY = "test"

[functions.fan-out]
command = ["{invoker}"]
env = {{ NEIGHBOUR = "probe" }}
timeout_secs = 10
[functions.probe]
command = ["{{probe}}"]

[routes]
"$default" = {{ function = "fan-out", route_response = true }}
"#,
        invoker = bin("invoke-neighbour"),
    ))
    .await;
    let mut ws = gw.connect("").await;
    // The probe answers a payload that is no API Gateway event with a bare 200.
    let reply = ask_text(&mut ws, r#"{"anything":1}"#).await;
    assert_eq!(reply, r#"200 {"statusCode":200}"#);
    gw.gateway.shutdown().await;
}

/// Bad Invoke requests get Lambda's restJson1 errors, with what went wrong.
#[tokio::test]
async fn bad_invoke_requests_are_answered_in_lambdas_words() {
    let gw = start(PROBE_APP).await;
    let addr = gw.gateway.local_addr();
    let path = "/2015-03-31/functions/probe/invocations";
    let (status, head, body) = http(addr, "POST", path, "{not json").await;
    assert_eq!(status, 400, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("invalidrequestcontentexception"),
        "{head}"
    );
    assert!(
        body.contains("Could not parse request body into json: key must be a string"),
        "{body}"
    );
    let huge = format!("\"{}\"", "x".repeat(7 * 1024 * 1024));
    let (status, head, _) = http(addr, "POST", path, &huge).await;
    assert_eq!(status, 413, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("requesttoolargeexception"),
        "{head}"
    );
    gw.gateway.shutdown().await;
}
