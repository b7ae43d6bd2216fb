//! Routing text frames, AWS's error frames, frame limits, timeouts and `$disconnect`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

use crate::common::*;

#[tokio::test]
async fn messages_are_routed_by_the_selection_expression() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let reply = ask(&mut ws, r#"{"action":"echo","n":1}"#).await;
    assert_eq!(reply["routeKey"], "echo");
    assert_eq!(reply["echo"], r#"{"action":"echo","n":1}"#);
    assert_eq!(reply["function"], "probe");

    // Unknown actions, other JSON and text that is not JSON reach $default...
    for body in [
        r#"{"action":"nope"}"#,
        r#"{"x":1}"#,
        "plain text {",
        r#"{"action":{"a":1}}"#,
    ] {
        ws.send(Message::text(body)).await.unwrap();
    }
    for body in [
        r#"{"action":"nope"}"#,
        r#"{"x":1}"#,
        "plain text {",
        r#"{"action":{"a":1}}"#,
    ] {
        let e = gw.wait_event("$default", |e| e["body"] == body).await;
        assert_eq!(e["requestContext"]["routeKey"], "$default");
    }
    // ...which has no route response here, so nothing comes back; the connection stays usable.
    let reply = ask(&mut ws, r#"{"action":"echo","n":2}"#).await;
    assert_eq!(reply["echo"], r#"{"action":"echo","n":2}"#);
}

#[tokio::test]
async fn nested_selection_expressions_work() {
    let gw = start_with(
        r#"route_selection_expression = "$request.body.msg.type""#,
        r#"
[functions.probe]
command = ["{probe}"]
[routes]
chat = { function = "probe", route_response = true }
"#,
    )
    .await;
    let mut ws = gw.connect("").await;
    let reply = ask(&mut ws, r#"{"msg":{"type":"chat"}}"#).await;
    assert_eq!(reply["routeKey"], "chat");
}

#[tokio::test]
async fn without_default_route_the_client_gets_forbidden_and_stays_connected() {
    let gw = start(
        r#"
[functions.probe]
command = ["{probe}"]
[routes]
echo = { function = "probe", route_response = true }
"#,
    )
    .await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let text = {
        ws.send(Message::text(r#"{"action":"other"}"#))
            .await
            .unwrap();
        next_text(&mut ws).await
    };
    // AWS's exact frame, spacing included.
    assert!(
        text.starts_with(&format!(
            r#"{{"message": "Forbidden", "connectionId":"{id}", "requestId":""#
        )),
        "{text}"
    );
    let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(frame["requestId"].as_str().unwrap().ends_with('='));
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(next_json(&mut ws).await["message"], "Forbidden");
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
}

#[tokio::test]
async fn function_failures_become_internal_server_error_frames() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    for what in ["error", "crash", "hang"] {
        let frame = ask(&mut ws, &format!(r#"{{"action":"echo","do":"{what}"}}"#)).await;
        assert_eq!(frame["message"], "Internal server error", "{what}");
        assert_eq!(frame["connectionId"], id.as_str());
        assert!(frame["requestId"].is_string());
    }
    // A fresh instance serves the next message.
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
}

#[tokio::test]
async fn binary_frames_close_with_1003() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(expect_close(&mut ws).await.0, 1003);
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1003);
}

#[tokio::test]
async fn a_frame_over_32_kb_closes_with_1009() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    // Exactly 32 KB passes.
    let ok = format!(
        r#"{{"action":"echo","pad":"{}"}}"#,
        "x".repeat(32 * 1024 - 26)
    );
    assert_eq!(ok.len(), 32 * 1024);
    assert_eq!(ask(&mut ws, &ok).await["routeKey"], "echo");
    ws.send(Message::text("y".repeat(32 * 1024 + 1)))
        .await
        .unwrap();
    assert_eq!(expect_close(&mut ws).await.0, 1009);
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1009);
}

#[tokio::test]
async fn a_fragmented_message_over_128_kb_closes_with_1009() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    // Five 30 KB fragments: each frame is allowed, the message is not.
    let chunk = "z".repeat(30 * 1024);
    for i in 0..5 {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let header = FrameHeader {
            is_final: i == 4,
            opcode,
            ..FrameHeader::default()
        };
        let frame = Frame::from_payload(header, chunk.clone().into());
        if ws.send(Message::Frame(frame)).await.is_err() {
            break;
        }
    }
    assert_eq!(expect_close(&mut ws).await.0, 1009);
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1009);
}

/// A client still sending fragments after the limit gets its 1009 close frame
/// every time: the gateway reads on until the closing handshake ends instead of
/// resetting the connection under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_too_big_fragmented_message_gets_its_close_frame() {
    let gw = start(PROBE_APP).await;
    let chunk = "z".repeat(30 * 1024);
    for attempt in 0..30 {
        let mut ws = gw.connect("").await;
        // Forty 30 KB fragments: the limit passes at the fifth, the client goes on.
        for i in 0..40 {
            let opcode = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            let header = FrameHeader {
                is_final: i == 39,
                opcode,
                ..FrameHeader::default()
            };
            let frame = Frame::from_payload(header, chunk.clone().into());
            // No reset: the gateway reads what the client sends until it closes.
            let fed = ws.feed(Message::Frame(frame)).await;
            assert!(fed.is_ok(), "attempt {attempt}, fragment {i}: {fed:?}");
        }
        let flushed = ws.flush().await;
        assert!(flushed.is_ok(), "attempt {attempt}: {flushed:?}");
        let (code, _) = expect_close(&mut ws).await;
        assert_eq!(code, 1009, "attempt {attempt}");
    }
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn a_fragmented_message_under_128_kb_is_delivered() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let body = format!(r#"{{"action":"echo","pad":"{}"}}"#, "q".repeat(100 * 1024));
    let parts: Vec<&[u8]> = body.as_bytes().chunks(30 * 1024).collect();
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let header = FrameHeader {
            is_final: i == parts.len() - 1,
            opcode,
            ..FrameHeader::default()
        };
        ws.send(Message::Frame(Frame::from_payload(
            header,
            part.to_vec().into(),
        )))
        .await
        .unwrap();
    }
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["echo"].as_str().unwrap().len(), body.len());
}

/// The id of the one connection a gateway has had, from its $connect.
async fn connected_id(gw: &TestGateway) -> String {
    let e = gw
        .wait_event("$connect", |e| {
            e["requestContext"]["eventType"] == "CONNECT"
        })
        .await;
    e["requestContext"]["connectionId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn idle_connections_close_and_lifetime_is_capped() {
    // Idle: nothing sent for a second, a lifetime far off, so a 1001 can only
    // be the idle timeout.
    let gw = start_with("idle_timeout_secs = 1\nmax_lifetime_secs = 600", PROBE_APP).await;
    // Its id from its $connect: an echo could take longer than the second.
    let mut idle = gw.connect("").await;
    let id = connected_id(&gw).await;
    assert_eq!(expect_close(&mut idle).await.0, 1001);
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1001);
    assert_eq!(e["requestContext"]["disconnectReason"], "Going away");
    gw.gateway.shutdown().await;

    // Busy (a ping every 300 ms, never idle for long) with an idle timeout far
    // off: a 1001 can only be the lifetime.
    let gw = start_with("idle_timeout_secs = 600\nmax_lifetime_secs = 2", PROBE_APP).await;
    // Counted from the handshake's end: the lifetime began just before it.
    let mut busy = gw.connect("").await;
    let started = std::time::Instant::now();
    let id = connected_id(&gw).await;
    let code = loop {
        busy.send(Message::Ping(vec![].into())).await.ok();
        match tokio::time::timeout(Duration::from_millis(300), busy.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => break u16::from(f.code),
            Ok(Some(Ok(_))) | Err(_) => {}
            other => panic!("{other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no lifetime close"
        );
    };
    assert_eq!(code, 1001);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    gw.disconnect_of(&id).await;
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn disconnect_reports_how_the_connection_ended() {
    let gw = start(PROBE_APP).await;

    // Client close without a status.
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    ws.close(None).await.unwrap();
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1005);
    assert_eq!(
        e["requestContext"]["disconnectReason"],
        "Client-side close frame status not set"
    );

    // Client close with a status and no reason.
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    ws.close(Some(CloseFrame {
        code: 4000.into(),
        reason: "".into(),
    }))
    .await
    .unwrap();
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 4000);

    // The TCP connection dropped without a close frame.
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    drop(ws);
    let e = gw.disconnect_of(&id).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1006);
}

#[tokio::test]
async fn malformed_frames_end_only_that_connection() {
    let gw = start(PROBE_APP).await;
    let mut other = gw.connect("").await;
    // A raw client that sends an unmasked frame with a reserved opcode.
    let mut raw = tokio::net::TcpStream::connect(gw.gateway.local_addr())
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(
        b"GET /test HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = raw.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    raw.write_all(&[0x83, 0x02, 0xff, 0xfe]).await.unwrap();
    // The gateway ends it; the other connection is untouched.
    let n = tokio::time::timeout(Duration::from_secs(5), async {
        let mut total = 0;
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .expect("the gateway closes a connection that breaks the protocol");
    let _ = n;
    assert_eq!(
        ask(&mut other, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
}
