//! Details of ids, headers and events where AWS's shapes are easy to miss (found
//! running serverless-offline's WebSocket suites, written against AWS, on wsgate).

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// Connection ids use base64's URL-safe alphabet, as AWS's (`d4NsecoByQ0CH-Q=`):
/// an id put into `/@connections/{id}` unencoded still names the connection.
#[tokio::test]
async fn connection_ids_are_url_safe() {
    let gw = start(PROBE_APP).await;
    let mut ids = Vec::new();
    for _ in 0..60 {
        let mut ws = gw.connect("").await;
        ids.push(connection_id(&mut ws).await);
    }
    // With the standard alphabet about one id in five holds `/` or `+`.
    for id in &ids {
        assert!(!id.contains('/') && !id.contains('+'), "{id}");
        assert_eq!(id.len(), 16, "{id}");
    }
    assert!(
        ids.iter().any(|id| id.contains('-') || id.contains('_')),
        "{ids:?}"
    );
    gw.gateway.shutdown().await;
}

/// Sends a handshake as written, names spelled as given; returns the status line.
async fn raw_handshake(
    addr: std::net::SocketAddr,
    path: &str,
    extra: &str,
) -> (String, tokio::net::TcpStream) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    (text.lines().next().unwrap_or_default().to_string(), tcp)
}

/// Header names reach `$connect` and its authorizer as the client spelled them
/// (AWS's documented authorizer input has `content-length` beside
/// `HeaderAuth1`); `Connection` and `Upgrade` reach the authorizer, not `$connect`.
#[tokio::test]
async fn header_names_keep_the_clients_spelling() {
    let gw = start(&format!(
        "{PROBE_APP}\n[authorizers.token]\nfunction = \"probe\"\nidentity_source = [\"route.request.header.x-token\"]\n"
    )
    .replace(
        "\"$connect\" = { function = \"probe\" }",
        "\"$connect\" = { function = \"probe\", authorizer = \"token\" }",
    ))
    .await;
    let addr = gw.gateway.local_addr();
    let (status, _tcp) = raw_handshake(
        addr,
        "/test",
        "x-token: allow\r\nX-Custom-ID: 7\r\nUser-Agent: raw/1\r\n",
    )
    .await;
    assert!(status.contains("101"), "{status}");
    let authorizer = gw
        .wait_event("authorizer", |e| e["type"] == "REQUEST")
        .await;
    let connect = gw
        .wait_event("$connect", |e| {
            e["requestContext"]["eventType"] == "CONNECT" && e.get("type").is_none()
        })
        .await;
    for event in [&authorizer, &connect] {
        let headers = event["headers"].as_object().unwrap();
        assert_eq!(headers["x-token"], "allow", "{event}");
        assert_eq!(headers["X-Custom-ID"], "7", "{event}");
        assert!(!headers.contains_key("X-Token") && !headers.contains_key("X-Custom-Id"));
        assert_eq!(headers["Sec-WebSocket-Version"], "13");
    }
    assert_eq!(
        authorizer["headers"]["Connection"], "Upgrade",
        "{authorizer}"
    );
    assert_eq!(authorizer["headers"]["Upgrade"], "websocket");
    let connect_headers = connect["headers"].as_object().unwrap();
    assert!(
        !connect_headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("upgrade")),
        "{connect}"
    );
    assert_eq!(connect_headers["X-Forwarded-Proto"], "http");
    assert_eq!(connect_headers["X-Forwarded-Port"], addr.port().to_string());
    gw.gateway.shutdown().await;
}

/// The handshake's user agent is in every event of the connection, as on AWS.
#[tokio::test]
async fn every_event_carries_the_user_agent() {
    let gw = start(PROBE_APP).await;
    let addr = gw.gateway.local_addr();
    let (status, tcp) = raw_handshake(addr, "/test", "User-Agent: agent/2.0\r\n").await;
    assert!(status.contains("101"), "{status}");
    let (mut ws, _) = (
        tokio_tungstenite::WebSocketStream::from_raw_socket(
            tokio_tungstenite::MaybeTlsStream::Plain(tcp),
            tokio_tungstenite::tungstenite::protocol::Role::Client,
            None,
        )
        .await,
        (),
    );
    ws.send(Message::text(r#"{"action":"echo"}"#))
        .await
        .unwrap();
    let message = gw
        .wait_event("MESSAGE", |e| e["requestContext"]["eventType"] == "MESSAGE")
        .await;
    ws.close(None).await.unwrap();
    let disconnect = gw
        .wait_event("DISCONNECT", |e| {
            e["requestContext"]["eventType"] == "DISCONNECT"
        })
        .await;
    for event in [&message, &disconnect] {
        assert_eq!(
            event["requestContext"]["identity"]["userAgent"], "agent/2.0",
            "{event}"
        );
    }
    gw.gateway.shutdown().await;
}

/// A plain GET on the WebSocket URL (a browser, curl) gets 426 Upgrade Required
/// with `Upgrade: websocket`; a broken upgrade still gets 400.
#[tokio::test]
async fn a_plain_get_is_told_to_upgrade() {
    let gw = start(PROBE_APP).await;
    let addr = gw.gateway.local_addr();
    let (status, head, _) = http(addr, "GET", "/test", "").await;
    assert_eq!(status, 426, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    let (status, _, _) = http_with(
        addr,
        "GET",
        "/test",
        &[("Connection", "Upgrade"), ("Upgrade", "websocket")],
        "",
    )
    .await;
    assert_eq!(status, 400, "no Sec-WebSocket-Key: a broken upgrade");
    // Under the stage, any path: AWS answers the same.
    let (status, _, _) = http(addr, "GET", "/test/1796600000000", "").await;
    assert_eq!(status, 426);
    // Another stage is not this API's: 403, as before.
    let (status, _, _) = http(addr, "GET", "/prod", "").await;
    assert_eq!(status, 403);
    let (status, _, _) = http(addr, "GET", "/prod/x", "").await;
    assert_eq!(status, 403);
    gw.gateway.shutdown().await;
}

/// Over TLS, `X-Forwarded-Proto` and `-Port` say what the client used.
#[tokio::test]
async fn forwarded_headers_say_tls() {
    let gw = start(PROBE_APP).await;
    let (_, mut secure, _) = crate::tls::connect_wss(&gw).await;
    let id = connection_id(&mut secure).await;
    let connect = gw
        .wait_event("$connect", |e| {
            e["requestContext"]["eventType"] == "CONNECT"
                && e["requestContext"]["connectionId"] == id.as_str()
        })
        .await;
    let headers: &Value = &connect["headers"];
    assert_eq!(headers["X-Forwarded-Proto"], "https", "{connect}");
    assert_eq!(
        headers["X-Forwarded-Port"],
        gw.gateway.local_addr().port().to_string()
    );
    gw.gateway.shutdown().await;
}
