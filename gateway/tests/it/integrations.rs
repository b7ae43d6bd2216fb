//! Routes that lead somewhere other than a Lambda proxy, from apps shaped like
//! AWS's published WebSocket patterns (tests/apps/ws-*): AWS service
//! integrations with mapping templates, Lambda without the proxy, Step
//! Functions, HTTP backends and MOCK, with integration and route responses.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::common::apps::start_app;
use crate::common::*;

/// A message goes straight into a FIFO queue: its group from the body, the
/// connection id as a message attribute; the queue's Node function answers
/// through @connections. The route is one-way: nothing else comes back.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_goes_to_a_fifo_queue_and_its_worker_answers() {
    let app = start_app("ws-sqs-fifo").await;
    let mut ws = app.connect().await;
    // One at a time: API Gateway runs a connection's messages concurrently and
    // does not promise which reaches its integration first (nor does wsgate).
    let mut answers = Vec::new();
    for task in ["resize", "publish"] {
        ws.send(Message::text(
            json!({"action": "submit", "group": "photos", "task": task}).to_string(),
        ))
        .await
        .unwrap();
        let answer: Value = serde_json::from_str(&next_text(&mut ws).await).unwrap();
        answers.push(answer);
    }
    let [first, second] = &answers[..] else {
        unreachable!()
    };
    assert_eq!(first["done"], "resize", "{first}");
    assert_eq!(second["done"], "publish", "{second}");
    assert_eq!(first["group"], "photos");
    // $context.requestId reached the queue as an attribute, one per message.
    assert_ne!(first["requestId"], second["requestId"]);
    assert!(first["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    app.gateway.shutdown().await;
}

/// $connect and $disconnect write and delete the connection in DynamoDB
/// themselves; two-way routes read it back (GetItem, Query on an index) through
/// integration response templates, an error status takes its own response.
#[tokio::test(flavor = "multi_thread")]
async fn connections_live_in_dynamodb_without_a_function() {
    let app = start_app("ws-dynamodb-direct").await;
    let (mut alice, _) = connect_async(format!("{}?room=lobby&nick=alice", app.gateway.ws_url()))
        .await
        .unwrap();
    let (mut bob, _) = connect_async(format!("{}?room=lobby&nick=bob", app.gateway.ws_url()))
        .await
        .unwrap();
    let me = ask(&mut alice, r#"{"action":"whoami"}"#).await;
    assert_eq!(me["you"], "alice", "{me}");
    assert_eq!(me["room"], "lobby");
    assert!(
        me["since"].as_i64().is_some_and(|t| t > 1_600_000_000_000),
        "{me}"
    );
    // One-way: UpdateItem's answer is not sent back.
    alice
        .send(Message::text(
            r#"{"action":"rename","nick":"alice \"the first\""}"#,
        ))
        .await
        .unwrap();
    eventually("the nick is updated", async || {
        let here = ask(&mut bob, r#"{"action":"whoishere","room":"lobby"}"#).await;
        here["count"] == 2
            && here["nicks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "alice \"the first\"")
    })
    .await;
    // DynamoDB refuses an empty key value: its 400 takes the /4\d\d/ response.
    let refused = ask(&mut bob, r#"{"action":"whoishere","room":""}"#).await;
    assert_eq!(refused["error"], "ValidationException", "{refused}");
    alice.close(None).await.unwrap();
    eventually("$disconnect deleted alice", async || {
        app.stored_ids("ConnectionsTable").await.len() == 1
    })
    .await;
    app.gateway.shutdown().await;
}

/// MOCK connects and answers; a message that fails the route's model never
/// reaches SNS, a valid one reaches the queue subscribed to the topic.
#[tokio::test(flavor = "multi_thread")]
async fn mock_routes_and_sns_behind_a_model() {
    let app = start_app("ws-mock-sns").await;
    let mut ws = app.connect().await;
    let pong = ask(&mut ws, r#"{"action":"ping"}"#).await;
    assert_eq!(pong["stage"], "prod", "{pong}");
    let id = pong["pong"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    let failed = ask(&mut ws, r#"{"action":"ping","fail":true}"#).await;
    assert_eq!(failed, json!({"pong": false}));

    let invalid = ask(&mut ws, r#"{"action":"publish","subject":""}"#).await;
    assert_eq!(invalid["message"], "Invalid request body", "{invalid}");
    ws.send(Message::text(
        r#"{"action":"publish","subject":"Build","text":"build 42 passed"}"#,
    ))
    .await
    .unwrap();
    let received = dead_letters(&app.sdk, "InboxQueue").await;
    assert_eq!(received.len(), 1, "only the valid message was published");
    let envelope: Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(envelope["Message"], "build 42 passed", "{envelope}");
    assert_eq!(envelope["Subject"], "Build", "{envelope}");
    assert_eq!(
        envelope["MessageAttributes"]["connectionId"]["Value"],
        id.as_str(),
        "{envelope}"
    );
    // Counted by type and outcome: the connect, two pings (one 503), the publish.
    // The publish is counted once SNS has answered, which may be after the
    // queue already holds its message.
    let lines = [
        r#"wsgate_integrations_total{integration_type="MOCK",outcome="ok"} 2"#,
        r#"wsgate_integrations_total{integration_type="MOCK",outcome="status"} 1"#,
        r#"wsgate_integrations_total{integration_type="AWS",outcome="ok"} 1"#,
    ];
    let mut metrics = String::new();
    eventually("the four integrations counted", async || {
        (_, _, metrics) = http(app.gateway.local_addr(), "GET", "/_wsgate/metrics", "").await;
        lines.iter().all(|line| metrics.contains(line))
    })
    .await;
    for line in lines {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    app.gateway.shutdown().await;
}

/// Lambda without the proxy: the template builds the event, the integration
/// response shapes the reply, and an error is picked out by its message.
#[tokio::test(flavor = "multi_thread")]
async fn lambda_without_the_proxy() {
    let app = start_app("ws-lambda-sfn").await;
    let mut ws = app.connect().await;
    let reply = ask(&mut ws, r#"{"action":"shape","shape":"hexagon"}"#).await;
    assert_eq!(reply["shape"], "hexagon", "{reply}");
    assert_eq!(reply["sides"], 6);
    assert_eq!(reply["route"], "shape");
    assert!(
        reply["for"].as_str().is_some_and(|id| !id.is_empty()),
        "{reply}"
    );
    let unknown = ask(&mut ws, r#"{"action":"shape","shape":"blob"}"#).await;
    assert_eq!(unknown, json!({"error": "No such shape: blob"}));
    app.gateway.shutdown().await;
}

/// A synchronous Express workflow's output, through the response template.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_functions_route_answers_with_the_workflow_output() {
    let app = start_app("ws-lambda-sfn").await;
    let mut ws = app.connect().await;
    let reply = ask(&mut ws, r#"{"action":"order","item":"book"}"#).await;
    if testkit::Kind::for_tests() == testkit::Kind::Moto {
        // moto has no StartSyncExecution (the README's backend table says so): its
        // 500 matches no integration response, and the client gets API Gateway's error.
        assert_eq!(reply["message"], "Internal server error", "{reply}");
    } else {
        assert_eq!(
            reply,
            json!({"item": "book", "status": "accepted", "execution": "SUCCEEDED"})
        );
    }
    app.gateway.shutdown().await;
}

/// What the HTTP backend saw: method, path, query, headers and body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;

async fn http_backend() -> (String, Seen) {
    use axum::routing::{post, put};
    let seen = Seen::default();
    let record = |seen: Seen| {
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: String| async move {
            let header = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let entry = json!({
                "method": method.as_str(), "uri": uri.to_string(), "body": body,
                "connection": header("x-connection-id"), "stage": header("x-stage"),
                "contentType": header("content-type"),
            });
            seen.lock().unwrap().push(entry.clone());
            entry
        }
    };
    let quotes = {
        let record = record(seen.clone());
        move |method, uri: axum::http::Uri, headers, body| async move {
            let entry = record(method, uri.clone(), headers, body).await;
            if uri.path().ends_with("/NOPE") {
                return (axum::http::StatusCode::NOT_FOUND, "{}".to_string());
            }
            let _ = entry;
            (
                axum::http::StatusCode::OK,
                r#"{"price": 12.5, "currency": "EUR"}"#.to_string(),
            )
        }
    };
    let events = {
        let record = record(seen.clone());
        move |method, uri, headers, body| async move {
            record(method, uri, headers, body).await;
            (
                axum::http::StatusCode::ACCEPTED,
                r#"{"tracked":true}"#.to_string(),
            )
        }
    };
    let app = axum::Router::new()
        .route("/events", post(events))
        .route("/quotes/{symbol}", put(quotes));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// HTTP_PROXY passes the message as it is; HTTP sends the template's output
/// with path, query and header parameters, and its status picks the response.
#[tokio::test(flavor = "multi_thread")]
async fn http_and_http_proxy_backends() {
    let (backend, seen) = http_backend().await;
    let app = crate::common::apps::start_template_with(
        "apps/ws-http/template.yaml",
        &[("BackendUrl", &backend)],
    )
    .await;
    // The inspector looks on: it records each integration run.
    let addr = app.gateway.local_addr();
    http(addr, "GET", "/_wsgate/api/state", "").await;
    let mut ws = app.connect().await;
    let message = r#"{"action":"track","event":"click"}"#;
    let tracked = ask(&mut ws, message).await;
    assert_eq!(tracked, json!({"tracked": true}));
    let quote = ask(&mut ws, r#"{"action":"quote","symbol":"ACME","qty":3}"#).await;
    assert_eq!(quote, json!({"quote": 12.5, "currency": "EUR"}));
    let missing = ask(&mut ws, r#"{"action":"quote","symbol":"NOPE","qty":1}"#).await;
    assert_eq!(missing, json!({"quote": null, "reason": "unknown symbol"}));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0]["method"], "POST");
    assert_eq!(seen[0]["uri"], "/events");
    assert_eq!(
        seen[0]["body"], message,
        "the proxy passes the message as is"
    );
    assert!(
        seen[0]["connection"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        seen[0]
    );
    assert_eq!(seen[1]["method"], "PUT");
    assert_eq!(seen[1]["uri"], "/quotes/ACME?currency=EUR");
    assert_eq!(seen[1]["stage"], "gold");
    let sent: Value = serde_json::from_str(seen[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["symbol"], "ACME");
    assert_eq!(sent["amount"], 3);
    assert_eq!(sent["client"], seen[0]["connection"]);

    // What went where and what came back, beside the function invocations.
    let (_, _, state) = http(addr, "GET", "/_wsgate/api/state", "").await;
    let state: Value = serde_json::from_str(&state).unwrap();
    let quote = state["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["function"] == "HTTP integration QuoteIntegration" && i["outcome"] == "404")
        .unwrap_or_else(|| panic!("no 404 quote in {state:#}"))
        .clone();
    let logs = quote["logs"].to_string();
    assert!(
        logs.contains(&format!("sent PUT {backend}/quotes/NOPE?currency=EUR")),
        "{logs}"
    );
    assert!(logs.contains("unknown symbol"), "{logs}");
    app.gateway.shutdown().await;
}

/// A CDK app with `WebSocketAwsIntegration` ($connect → DynamoDB, `order` →
/// SQS) and `WebSocketMockIntegration` ($disconnect), synthesized without asset
/// metadata: its function is found through the assembly's assets manifest.
#[tokio::test(flavor = "multi_thread")]
async fn a_cdk_app_with_aws_and_mock_integrations() {
    let app =
        crate::common::apps::start_template("cdk-app/integrations.out/OrdersStack.template.json")
            .await;
    let mut ws = app.connect().await;
    let db = aws_sdk_dynamodb::Client::new(&app.sdk);
    let stored = db
        .scan()
        .table_name("Connections827CEF2F")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.count(),
        1,
        "$connect's PutItem stored the connection"
    );
    ws.send(Message::text(
        r#"{"action":"order","item":"tea","quantity":2}"#,
    ))
    .await
    .unwrap();
    let ack: Value = serde_json::from_str(&next_text(&mut ws).await).unwrap();
    assert_eq!(ack, json!({"accepted": "tea", "quantity": 2}));
    ws.close(None).await.unwrap();
    app.gateway.shutdown().await;
}

/// From `wsgate.toml`: EventBridge, Kinesis and Step Functions' asynchronous
/// StartExecution through the same generic path; with no integration response
/// the service's own answer comes back to a two-way route as it came.
#[tokio::test(flavor = "multi_thread")]
async fn any_action_from_wsgate_toml_answers_as_the_service_does() {
    let backend = testkit::Emulator::start();
    let stream = format!("clicks-{}", std::process::id());
    let created = aws_cli(&[
        "kinesis",
        "create-stream",
        "--stream-name",
        &stream,
        "--shard-count",
        "1",
        "--endpoint-url",
        backend.endpoint(),
    ])
    .await;
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let region_arn = "arn:aws:apigateway:us-east-1";
    let gw = start(&format!(
        r#"
[aws]
endpoint_url = "{endpoint}"

[[provision.state_machines]]
name = "Audit"
definition = '{{"StartAt":"Done","States":{{"Done":{{"Type":"Succeed"}}}}}}'

[integrations.Events]
type = "AWS"
uri = "{region_arn}:events:action/PutEvents"
request_templates = {{ "$default" = '{{"Entries":[{{"Source":"app.clicks","DetailType":"click","Detail":"$util.escapeJavaScript($input.body)","EventBusName":"default"}}]}}' }}

[integrations.Stream]
type = "AWS"
uri = "{region_arn}:kinesis:action/PutRecord"
request_templates = {{ "$default" = '{{"StreamName":"{stream}","PartitionKey":"$context.connectionId","Data":"$util.base64Encode($input.body)"}}' }}

[integrations.Audit]
type = "AWS"
uri = "{region_arn}:states:action/StartExecution"
request_templates = {{ "$default" = '{{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:Audit","input":"$util.escapeJavaScript($input.body)"}}' }}

[routes]
event = {{ integration = "Events", route_response = true }}
record = {{ integration = "Stream", route_response = true }}
audit = {{ integration = "Audit", route_response = true }}
"#,
        endpoint = backend.endpoint()
    ))
    .await;
    let mut ws = gw.connect("").await;
    let put = ask(&mut ws, r#"{"action":"event","x":1}"#).await;
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    assert!(put["Entries"][0]["EventId"].is_string(), "{put}");
    let record = ask(&mut ws, r#"{"action":"record","x":2}"#).await;
    assert!(record["SequenceNumber"].is_string(), "{record}");
    assert!(record["ShardId"].is_string(), "{record}");
    let started = ask(&mut ws, r#"{"action":"audit","x":3}"#).await;
    assert!(
        started["executionArn"]
            .as_str()
            .is_some_and(|a| a.contains(":Audit:")),
        "{started}"
    );
    gw.gateway.shutdown().await;
}

/// A template that cannot be evaluated for a message fails that message with
/// API Gateway's error frame (the log names the template and the place); the
/// next message is served. One that does not parse stops the load, named.
#[tokio::test(flavor = "multi_thread")]
async fn bad_templates_are_errors_with_their_place() {
    let gw = start(
        r#"
[integrations.Echo]
type = "MOCK"
request_templates = { "$default" = '#set($a = $input.path("$.a")){"statusCode": 200}' }
[integrations.Echo.responses."$default"]
templates = { "$default" = '{"ok": true}' }

[routes]
"$default" = { integration = "Echo", route_response = true }
"#,
    )
    .await;
    let mut ws = gw.connect("").await;
    let failed = ask(&mut ws, "not json at all").await;
    assert_eq!(failed["message"], "Internal server error", "{failed}");
    let ok = ask(&mut ws, r#"{"a": 1}"#).await;
    assert_eq!(ok, json!({"ok": true}));
    gw.gateway.shutdown().await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.yaml");
    std::fs::write(
        &path,
        r#"
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: { Name: a, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action }
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Mock}" }
  Mock:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: MOCK
      RequestTemplates:
        $default: |
          {"statusCode": 200}
          #if($input.path('$.a')
"#,
    )
    .unwrap();
    let err = wsgate::template::load(&path, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Resources.Mock.Properties.RequestTemplates.$default")
            && err.contains("line 2"),
        "{err}"
    );
}

/// SAM's SimpleTable is provisioned with its key (`id` unless PrimaryKey says).
#[test]
fn simple_tables_are_provisioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.yaml");
    std::fs::write(
        &path,
        r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: { Name: a, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action }
  Sessions:
    Type: AWS::Serverless::SimpleTable
  Players:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: players
      PrimaryKey: { Name: playerId, Type: String }
"#,
    )
    .unwrap();
    let loaded = wsgate::template::load(&path, &Default::default()).unwrap();
    let mut tables: Vec<_> = loaded
        .config
        .provision
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.partition_key.as_str()))
        .collect();
    tables.sort();
    assert_eq!(tables, [("Sessions", "id"), ("players", "playerId")]);
}
