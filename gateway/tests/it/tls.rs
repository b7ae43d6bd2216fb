//! TLS beside plain HTTP on the gateway's port, the local CA, and every way
//! function code finds `@connections`: `https://{domainName}/{stage}` and
//! `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`.

use std::sync::Arc;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

use crate::common::apps::chat_in;
use crate::common::*;

/// A rustls client that trusts only the gateway's local CA.
pub fn trusting(ca: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(ca).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The gateway's `wss://` URL, and a socket opened on it by a client that
/// trusts the local CA.
pub async fn connect_wss(
    gw: &TestGateway,
) -> (
    String,
    Ws,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let ca = gw
        .gateway
        .ca_cert()
        .expect("TLS is on by default")
        .to_owned();
    let url = gw.url("").replacen("ws://", "wss://", 1);
    let connector = Connector::Rustls(trusting(&ca));
    let (socket, response) = connect_async_tls_with_config(&url, None, false, Some(connector))
        .await
        .unwrap();
    (url, socket, response)
}

#[tokio::test]
async fn wss_and_ws_share_the_port() {
    let gw = start(PROBE_APP).await;
    let (url, mut secure, response) = connect_wss(&gw).await;
    assert_eq!(response.status(), 101);
    let reply = ask(&mut secure, r#"{"action":"echo","n":1}"#).await;
    assert_eq!(reply["routeKey"], "echo");
    // The same port still speaks plain WebSocket.
    let mut plain = gw.connect("").await;
    assert_eq!(
        ask(&mut plain, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
    // A client that does not trust the CA is refused at the handshake.
    let untrusting = Connector::Rustls(trusting_nothing());
    assert!(
        connect_async_tls_with_config(&url, None, false, Some(untrusting))
            .await
            .is_err()
    );
    gw.gateway.shutdown().await;
}

fn trusting_nothing() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    )
}

/// The aws CLI posts over https with the CA as its bundle; an unknown id is 410.
#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_posts_over_https_with_the_ca() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let ca = gw.gateway.ca_cert().unwrap().to_string_lossy().into_owned();
    let endpoint = gw.management_endpoint().replacen("http://", "https://", 1);
    let post = |id: String| {
        let (endpoint, ca) = (endpoint.clone(), ca.clone());
        async move {
            aws_cli(&[
                "apigatewaymanagementapi",
                "post-to-connection",
                "--endpoint-url",
                &endpoint,
                "--ca-bundle",
                &ca,
                &format!("--connection-id={}", id),
                "--data",
                "over TLS",
            ])
            .await
        }
    };
    let out = post(id).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(next_text(&mut ws).await, "over TLS");
    let out = post("bm9TdWNoSWQwMDA=".into()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GoneException"), "{stderr}");
    gw.gateway.shutdown().await;
}

/// boto3 at `https://{domainName}/{stage}`, trusting the CA through AWS_CA_BUNDLE.
#[tokio::test(flavor = "multi_thread")]
async fn a_python_chat_posts_over_tls_by_domain_name() {
    chat_in("python-chat").await;
}

/// A Rust function (aws-sdk-rust) and a Python one (boto3) post back to the
/// sender, each at both of the URLs code written for AWS builds.
#[tokio::test(flavor = "multi_thread")]
async fn rust_and_python_functions_reach_connections_both_ways() {
    let gw = start(&format!(
        r#"
# No AWS backend here, so no credentials come with one; the SDKs sign with these.
[env]
AWS_ACCESS_KEY_ID = "test"
AWS_SECRET_ACCESS_KEY = "test"

[functions.rust-domain]
command = ["{reply}"]
[functions.rust-api-id]
command = ["{reply}"]
env = {{ ENDPOINT = "api-id" }}
[functions.python-api-id]
command = ["{python}", "-m", "awslambdaric", "reply.handler"]
working_dir = "{{pyapp}}"
timeout_secs = 10

[routes]
domain = {{ function = "rust-domain" }}
apiid = {{ function = "rust-api-id" }}
python = {{ function = "python-api-id" }}
"#,
        reply = bin("reply-over-api"),
        python = python()
    ))
    .await;
    let mut ws = gw.connect("").await;
    for (action, prefix) in [
        ("domain", "echo: "),
        ("apiid", "echo: "),
        ("python", "python: "),
    ] {
        let body = format!(r#"{{"action":"{action}"}}"#);
        ws.send(Message::text(body.clone())).await.unwrap();
        assert_eq!(
            next_text(&mut ws).await,
            format!("{prefix}{body}"),
            "{action}"
        );
    }
    gw.gateway.shutdown().await;
}
