//! Lambda REQUEST authorizers on `$connect`.

use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::common::*;

const APP: &str = r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }
timeout_secs = 2

[authorizers.auth]
function = "probe"
identity_source = ["route.request.querystring.token"]

[routes]
"$connect" = { function = "probe", authorizer = "auth" }
"$disconnect" = { function = "probe" }
"$default" = { function = "probe" }
echo = { function = "probe", route_response = true }
"#;

async fn status(url: String) -> u16 {
    match connect_async(url).await {
        Err(Error::Http(r)) => r.status().as_u16(),
        Ok((_, r)) => r.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

fn authorizer_calls(gw: &TestGateway) -> usize {
    gw.events()
        .iter()
        .filter(|e| e["type"] == "REQUEST")
        .count()
}

#[tokio::test]
async fn the_authorizer_decides_the_handshake() {
    let gw = start(APP).await;
    // No identity, or an empty one: 401 without invoking the authorizer.
    assert_eq!(status(gw.url("")).await, 401);
    assert_eq!(status(gw.url("?token=")).await, 401);
    assert_eq!(authorizer_calls(&gw), 0);
    assert_eq!(status(gw.url("?token=deny")).await, 403);
    assert_eq!(status(gw.url("?token=unauthorized")).await, 401);
    assert_eq!(status(gw.url("?token=error")).await, 500);
    assert_eq!(status(gw.url("?token=garbage")).await, 500);
    assert_eq!(authorizer_calls(&gw), 4);
    // Refused connections never reached $connect.
    assert!(
        !gw.events()
            .iter()
            .any(|e| e["requestContext"]["eventType"] == "CONNECT" && e.get("type").is_none())
    );
    assert_eq!(status(gw.url("?token=allow")).await, 101);
}

#[tokio::test]
async fn the_authorizer_context_reaches_every_later_event() {
    let gw = start(APP).await;
    let mut ws = gw.connect("?token=allow&x=1").await;
    let id = connection_id(&mut ws).await;
    ws.send(Message::text(r#"{"action":"other"}"#))
        .await
        .unwrap();
    gw.wait_event("$default", |e| {
        e["requestContext"]["routeKey"] == "$default"
    })
    .await;
    ws.close(None).await.unwrap();
    gw.disconnect_of(&id).await;

    let events = gw.events();
    let auth = events.iter().find(|e| e["type"] == "REQUEST").unwrap();
    assert_eq!(
        auth["methodArn"],
        "arn:aws:execute-api:us-east-1:000000000000:testapi123/test/$connect"
    );
    assert_eq!(auth["queryStringParameters"]["token"], "allow");
    assert_eq!(auth["requestContext"]["connectionId"], id.as_str());
    assert_eq!(auth["requestContext"]["routeKey"], "$connect");
    assert!(auth["headers"]["Sec-WebSocket-Key"].is_string());
    // The recorded AWS payload's API Gateway fields are all there.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/aws-events/example-apigw-v2-custom-authorizer-websocket-request.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    for key in [
        "type",
        "methodArn",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "requestContext",
        "stageVariables",
    ] {
        assert!(
            auth.get(key).is_some() && fixture.get(key).is_some(),
            "{key}"
        );
    }
    for key in fixture["requestContext"].as_object().unwrap().keys() {
        assert!(
            auth["requestContext"].get(key).is_some(),
            "requestContext.{key}"
        );
    }
    let typed: aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(auth.clone()).unwrap();
    assert_eq!(typed.method_arn.as_deref(), auth["methodArn"].as_str());

    for kind in ["CONNECT", "MESSAGE", "DISCONNECT"] {
        let e = events
            .iter()
            .find(|e| e["requestContext"]["eventType"] == kind && e.get("type").is_none())
            .unwrap_or_else(|| panic!("no {kind} event"));
        let a = &e["requestContext"]["authorizer"];
        assert_eq!(a["principalId"], "probe-user", "{kind}");
        assert_eq!(a["userId"], "1234", "{kind}");
        assert_eq!(a["tier"], 3, "{kind}");
    }
}

#[tokio::test]
async fn header_identity_sources_work_too() {
    let gw = start(&APP.replace(
        "route.request.querystring.token",
        "route.request.header.X-Token",
    ))
    .await;
    assert_eq!(status(gw.url("?token=allow")).await, 401);
    let mut request = gw.url("").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-token", HeaderValue::from_static("allow"));
    let (_ws, response) = connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
}
