//! The `$connect` handshake and the events a connection's life produces.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::common::*;

async fn refused_status(url: String) -> u16 {
    match connect_async(url).await {
        Err(Error::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("the handshake was accepted"),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/aws-events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Every key of the recorded AWS event is in ours, at the same place, with the same JSON type.
fn assert_same_shape(ours: &Value, aws: &Value, path: &str, skip: &[&str]) {
    let Value::Object(aws_map) = aws else { return };
    for (key, aws_value) in aws_map {
        let here = format!("{path}.{key}");
        if skip.contains(&here.as_str()) {
            continue;
        }
        let ours_value = ours
            .get(key)
            .unwrap_or_else(|| panic!("{here} is missing from our event: {ours:#}"));
        assert_eq!(
            std::mem::discriminant(ours_value),
            std::mem::discriminant(aws_value),
            "{here} has another JSON type"
        );
        if !matches!(key.as_str(), "headers" | "multiValueHeaders") {
            assert_same_shape(ours_value, aws_value, &here, skip);
        }
    }
}

#[tokio::test]
async fn connect_runs_before_the_handshake_and_its_status_decides() {
    let gw = start(PROBE_APP).await;
    // 2xx accepts.
    let mut ws = gw.connect("?status=204").await;
    ws.close(None).await.unwrap();
    // Any other status is the handshake's answer.
    assert_eq!(refused_status(gw.url("?status=401")).await, 401);
    assert_eq!(refused_status(gw.url("?status=403")).await, 403);
    assert_eq!(refused_status(gw.url("?status=500")).await, 500);
    // A function error, a crash and a timeout are 502.
    assert_eq!(refused_status(gw.url("?do=error")).await, 502);
    assert_eq!(refused_status(gw.url("?do=crash")).await, 502);
    assert_eq!(refused_status(gw.url("?do=hang")).await, 502);
    // And the function still serves the next connection, with a fresh instance.
    gw.connect("?status=200").await;
}

#[tokio::test]
async fn no_connect_route_accepts_and_a_wrong_stage_is_forbidden() {
    let gw = start(
        r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }
[routes]
"$default" = { function = "probe" }
"#,
    )
    .await;
    gw.connect("").await;
    let url = gw.gateway.ws_url().replace("/test", "/prod");
    assert_eq!(refused_status(url).await, 403);
}

#[tokio::test]
async fn only_the_subprotocol_comes_back_from_the_function() {
    let gw = start(PROBE_APP).await;
    let mut request = gw.url("?protocol=chat.v2").into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("chat.v1, chat.v2"),
    );
    let (_ws, response) = connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
}

#[tokio::test]
async fn connection_ids_look_like_aws_ones() {
    let gw = start(PROBE_APP).await;
    let mut a = gw.connect("").await;
    let mut b = gw.connect("").await;
    let (ida, idb) = (connection_id(&mut a).await, connection_id(&mut b).await);
    assert_ne!(ida, idb);
    for id in [ida, idb] {
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.ends_with('='), "{id}");
        assert!(
            id[..15]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{id}"
        );
    }
}

#[tokio::test]
async fn events_match_aws_payloads_and_the_sdk_types() {
    let gw = start(PROBE_APP).await;
    let mut request = gw
        .url("?userId=1234&tag=a&tag=b&empty=")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("User-Agent", HeaderValue::from_static("wsgate-tests/1"));
    let (mut ws, _) = connect_async(request).await.unwrap();
    let id = connection_id(&mut ws).await;
    ws.send(Message::text(r#"{"action":"unrouted","x":1}"#))
        .await
        .unwrap();
    ws.close(Some(CloseFrame {
        code: 1000.into(),
        reason: "bye".into(),
    }))
    .await
    .unwrap();

    let connect = gw
        .wait_event("CONNECT", |e| e["requestContext"]["eventType"] == "CONNECT")
        .await;
    let message = gw
        .wait_event("MESSAGE", |e| e["requestContext"]["routeKey"] == "$default")
        .await;
    let disconnect = gw.disconnect_of(&id).await;

    // The Rust SDK types deserialize all three.
    for e in [&connect, &message, &disconnect] {
        let parsed: ApiGatewayWebsocketProxyRequest = serde_json::from_value(e.clone()).unwrap();
        assert_eq!(
            parsed.request_context.connection_id.as_deref(),
            Some(id.as_str())
        );
        assert_eq!(parsed.request_context.stage.as_deref(), Some("test"));
        assert_eq!(parsed.request_context.apiid.as_deref(), Some("testapi123"));
    }

    // The recorded AWS payloads' keys are all there, with the same types.
    let aws_connect = fixture("example-apigw-websocket-request-without-method.json");
    // apiKey/apiKeyId exist only for APIs with API keys.
    let skip = [
        ".requestContext.identity.apiKey",
        ".requestContext.identity.apiKeyId",
    ];
    assert_same_shape(&connect, &aws_connect, "", &skip);
    assert_same_shape(
        &disconnect,
        &fixture("example-apigw-websocket-request-disconnect-route.json"),
        "",
        &[],
    );

    // CONNECT: headers and query maps; user agent; epoch milliseconds and CLF time.
    let ctx = &connect["requestContext"];
    assert_eq!(ctx["routeKey"], "$connect");
    assert_eq!(ctx["messageDirection"], "IN");
    assert_eq!(ctx["requestId"], ctx["extendedRequestId"]);
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["identity"]["userAgent"], "wsgate-tests/1");
    assert_eq!(ctx["domainName"], gw.gateway.local_addr().to_string());
    let epoch = ctx["requestTimeEpoch"].as_i64().unwrap();
    assert!((epoch - chrono_now_ms()).abs() < 60_000);
    assert_eq!(ctx["connectedAt"], ctx["requestTimeEpoch"]);
    let time = ctx["requestTime"].as_str().unwrap();
    assert!(time.ends_with(" +0000") && time.len() == 26, "{time}");
    assert_eq!(connect["queryStringParameters"]["userId"], "1234");
    assert_eq!(connect["queryStringParameters"]["empty"], "");
    assert_eq!(
        connect["multiValueQueryStringParameters"]["tag"],
        serde_json::json!(["a", "b"])
    );
    assert!(connect["headers"]["Sec-WebSocket-Key"].is_string());
    // As the client spelled it: http's HeaderMap (this client's) sends names lower-cased.
    assert_eq!(connect["headers"]["user-agent"], "wsgate-tests/1");
    assert_eq!(connect["isBase64Encoded"], false);

    // MESSAGE: body and messageId, no headers or query maps.
    let mctx = &message["requestContext"];
    assert_eq!(mctx["eventType"], "MESSAGE");
    assert_eq!(message["body"], r#"{"action":"unrouted","x":1}"#);
    assert!(mctx["messageId"].as_str().unwrap().ends_with('='));
    assert_ne!(mctx["requestId"], ctx["requestId"]);
    assert_eq!(mctx["connectedAt"], ctx["connectedAt"]);
    assert!(message.get("headers").is_none());
    assert!(message.get("queryStringParameters").is_none());

    // DISCONNECT: the client's close status and reason.
    let dctx = &disconnect["requestContext"];
    assert_eq!(dctx["routeKey"], "$disconnect");
    assert_eq!(dctx["disconnectStatusCode"], 1000);
    assert_eq!(dctx["disconnectReason"], "bye");
    assert!(disconnect.get("queryStringParameters").is_none());
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `ApiKeyRequired` on `$connect`: no key or an unknown one is 403 without
/// invoking anything; a known key in `x-api-key` connects.
#[tokio::test]
async fn an_api_key_is_checked_on_connect() {
    let gw = start_with(
        r#"api_keys = ["key-123"]"#,
        r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }

[routes]
"$connect" = { function = "probe", api_key_required = true }
"#,
    )
    .await;
    assert_eq!(refused_status(gw.url("")).await, 403);
    let with_key = |key: &'static str| {
        let mut request = gw.url("").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("x-api-key", HeaderValue::from_static(key));
        request
    };
    match connect_async(with_key("wrong")).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(
        gw.events().is_empty(),
        "nothing is invoked without a valid key"
    );
    let (_ws, response) = connect_async(with_key("key-123")).await.unwrap();
    assert_eq!(response.status(), 101);
    gw.gateway.shutdown().await;
}
