//! Node.js functions under AWS's runtime interface client, run from SAM templates.

use crate::common::apps::{chat_in, start_app};
use crate::common::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

/// ES modules with no node_modules of their own: the SDK v3 comes from the
/// runtime (import, not require), DynamoDB is moto, and @connections is found at
/// `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`.
#[tokio::test(flavor = "multi_thread")]
async fn an_esm_chat_finds_connections_by_api_id() {
    chat_in("node-chat-esm").await;
}

/// CommonJS, a callback handler beside async ones, `https://{domainName}/{stage}`.
#[tokio::test(flavor = "multi_thread")]
async fn a_commonjs_chat_finds_connections_by_domain_name() {
    chat_in("node-chat-cjs").await;
}

/// A thrown error, a timeout and a module that cannot load each give the
/// client API Gateway's error frame; the socket stays open and works.
#[tokio::test(flavor = "multi_thread")]
async fn failing_node_functions_answer_internal_server_error() {
    let app = start_app("node-edges").await;
    let mut ws = app.connect().await;
    for action in ["throw", "slow", "broken"] {
        ws.send(Message::text(format!(r#"{{"action":"{action}"}}"#)))
            .await
            .unwrap();
        let reply = next_json(&mut ws).await;
        assert_eq!(
            reply["message"], "Internal server error",
            "{action}: {reply}"
        );
    }
    ws.send(Message::text(r#"{"action":"hello"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, r#"hello {"action":"hello"}"#);
    app.gateway.shutdown().await;
}

/// A function's own node_modules win over the runtime's SDK, for import and
/// require alike; what it does not bundle still comes from the runtime.
#[tokio::test(flavor = "multi_thread")]
async fn a_bundled_module_wins_over_the_runtime_copy() {
    let app = start_app("node-edges").await;
    let mut ws = app.connect().await;
    let reply = ask(&mut ws, r#"{"action":"bundled"}"#).await;
    assert_eq!(reply["imported"], "the function", "{reply}");
    assert_eq!(reply["required"], "the function", "{reply}");
    assert_eq!(reply["runtimeSdk"], "function", "{reply}");
    app.gateway.shutdown().await;
}

/// Layers: a Node module (import and require), a Python package and a tool in
/// `bin`, from an `AWS::Serverless::LayerVersion` folder.
#[tokio::test(flavor = "multi_thread")]
async fn functions_find_their_layers() {
    let app = start_app("layered").await;
    let mut ws = app.connect().await;
    let node = ask(&mut ws, r#"{"action":"node"}"#).await;
    assert_eq!(node["imported"], "hello import, from a layer", "{node}");
    assert_eq!(node["required"], "hello require, from a layer", "{node}");
    assert_eq!(node["tool"], "a layer's tool", "{node}");
    let python = ask(&mut ws, r#"{"action":"python"}"#).await;
    assert_eq!(python["imported"], "hello python, from a layer", "{python}");
    assert_eq!(python["tool"], "a layer's tool", "{python}");
    app.gateway.shutdown().await;
}
