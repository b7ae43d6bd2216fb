//! The `@connections` API through the real aws-sdk client, the `aws` CLI and boto3.

use aws_sdk_apigatewaymanagement::error::ProvideErrorMetadata;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

#[tokio::test]
async fn sdk_client_posts_gets_and_deletes() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let client = management_client(&gw.management_endpoint()).await;

    client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(r#"{"hello":"world"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, r#"{"hello":"world"}"#);

    let info = client
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap();
    let connected = info.connected_at().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - connected).abs() < 60);
    assert!(info.last_active_at().unwrap().secs() >= connected);
    assert_eq!(info.identity().unwrap().source_ip(), Some("127.0.0.1"));
    assert!(info.identity().unwrap().user_agent().is_some());

    client
        .delete_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap();
    let (code, _) = expect_close(&mut ws).await;
    assert_eq!(code, 1000);
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1000);
    assert_eq!(
        e["requestContext"]["disconnectReason"],
        "Connection Closed Normally"
    );

    // Now it is gone, for every operation.
    let err = client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new("late"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_gone_exception(), "{err:?}");
    let err = client
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("GoneException"));
    let err = client
        .delete_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("GoneException"));
}

#[tokio::test]
async fn post_limit_is_128_kb() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let client = management_client(&gw.management_endpoint()).await;
    let at_limit = "a".repeat(128 * 1024);
    client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(at_limit.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await.len(), at_limit.len());
    // Just over, and far beyond (past any buffering limit): AWS's restJson1 413.
    for size in [128 * 1024 + 1, 1024 * 1024] {
        let err = client
            .post_to_connection()
            .connection_id(&id)
            .data(Blob::new("a".repeat(size)))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_payload_too_large_exception(), "{size}: {err:?}");
    }
    // The connection is untouched.
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
}

#[tokio::test]
async fn raw_http_with_and_without_stage_and_percent_encoded_ids() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let addr = gw.gateway.local_addr();
    let encoded = path_id(&id);
    for (path, text) in [
        (format!("/test/@connections/{encoded}"), "with stage"),
        (format!("/@connections/{encoded}"), "without stage"),
    ] {
        let (status, _, _) = http(addr, "POST", &path, text).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(next_text(&mut ws).await, text);
    }
    let (status, headers, body) = http(addr, "GET", "/@connections/AAAAAAAAAAAAAAA%3D", "").await;
    assert_eq!(status, 410);
    assert!(
        headers
            .to_lowercase()
            .contains("x-amzn-errortype: goneexception"),
        "{headers}"
    );
    assert!(body.contains("message"), "{body}");
    let (status, headers, _) =
        http(addr, "POST", &format!("/prod/@connections/{encoded}"), "x").await;
    assert_eq!(status, 403);
    assert!(headers.to_lowercase().contains("forbiddenexception"));
}

#[tokio::test]
async fn aws_cli_and_boto3_reach_the_connection() {
    let gw = start(PROBE_APP).await;
    // One id in 64 begins with `-`, which the CLI takes for an option unless it is
    // written `--connection-id=ID`: open sockets until one does, so that form is
    // what this test checks (CI once failed on such an id).
    let mut tries = 0;
    let (mut ws, id) = loop {
        tries += 1;
        assert!(tries <= 2000, "no id began with `-` in 2000 connections");
        let mut ws = gw.connect("").await;
        let id = connection_id(&mut ws).await;
        if id.starts_with('-') {
            break (ws, id);
        }
        ws.close(None).await.unwrap();
    };
    let endpoint = gw.management_endpoint();

    let out = aws_cli(&[
        "apigatewaymanagementapi",
        "post-to-connection",
        "--endpoint-url",
        &endpoint,
        &format!("--connection-id={}", id),
        "--data",
        "from the aws cli",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(next_text(&mut ws).await, "from the aws cli");

    let out = aws_cli(&[
        "apigatewaymanagementapi",
        "get-connection",
        "--endpoint-url",
        &endpoint,
        &format!("--connection-id={}", id),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["Identity"]["SourceIp"], "127.0.0.1");

    let out = aws_cli(&[
        "apigatewaymanagementapi",
        "post-to-connection",
        "--endpoint-url",
        &endpoint,
        "--connection-id",
        "AAAAAAAAAAAAAAA=",
        "--data",
        "x",
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GoneException"));

    let script = r#"
import sys, boto3
c = boto3.client("apigatewaymanagementapi", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test")
c.post_to_connection(ConnectionId=sys.argv[2], Data=b"from boto3")
print(c.get_connection(ConnectionId=sys.argv[2])["ConnectedAt"].year)
try:
    c.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")
except c.exceptions.GoneException:
    print("gone")
c.delete_connection(ConnectionId=sys.argv[2])
"#;
    let out = tokio::process::Command::new(python())
        .args(["-c", script, &endpoint, &id])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("gone"), "{stdout}");
    assert_eq!(next_text(&mut ws).await, "from boto3");
    match ws.next().await {
        Some(Ok(Message::Close(Some(f)))) => assert_eq!(u16::from(f.code), 1000),
        other => panic!("{other:?}"),
    }
}

/// A client that stops reading does not make POSTs hang: each answers within a
/// bounded time, the socket is closed as dead (1006 in `$disconnect`) and its
/// later POSTs get 410.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_closed_and_posts_do_not_hang() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let client = management_client(&gw.management_endpoint()).await;
    // From here on the client reads nothing.
    let chunk = "x".repeat(100 * 1024);
    let mut gone = false;
    for _ in 0..600 {
        let started = std::time::Instant::now();
        let post = client
            .post_to_connection()
            .connection_id(&id)
            .data(Blob::new(chunk.clone()))
            .send();
        let result = tokio::time::timeout(std::time::Duration::from_secs(10), post)
            .await
            .expect("a POST answers in bounded time");
        assert!(started.elapsed() < std::time::Duration::from_secs(6));
        if let Err(e) = result {
            let e = e.into_service_error();
            assert!(e.is_gone_exception(), "{e:?}");
            gone = true;
            break;
        }
    }
    assert!(gone, "the dead client's POSTs end in 410");
    let disconnect = gw.disconnect_of(&id).await;
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 1006);
    drop(ws);
    gw.gateway.shutdown().await;
}
