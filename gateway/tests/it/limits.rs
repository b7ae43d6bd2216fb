//! Clients that would use up the gateway: slow handshakes, and more sockets
//! than the open-file limit leaves room for.

use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::binary::run_wsgate_limited;
use crate::common::*;

/// Reads until the gateway closes the connection; the bytes it sent first.
async fn until_closed(s: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Clients that trickle their request head a byte at a time, or say nothing,
/// are closed after the head timeout; a normal client still gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_handshakes_are_closed() {
    let gw = start_with("header_timeout_secs = 1", PROBE_APP).await;
    let addr = gw.gateway.local_addr();
    let mut slow = Vec::new();
    for _ in 0..50 {
        slow.push(tokio::spawn(async move {
            let s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut reader, mut writer) = s.into_split();
            let head = b"GET /test HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
            let trickle = async {
                for b in head {
                    if writer.write_all(&[*b]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                std::future::pending::<()>().await
            };
            tokio::select! {
                _ = trickle => unreachable!(),
                closed = until_closed(&mut reader) => closed,
            }
        }));
    }
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(20), until_closed(&mut silent)).await;
    assert!(closed.is_ok(), "a client that says nothing is closed");
    for task in slow {
        let closed = tokio::time::timeout(Duration::from_secs(20), task).await;
        assert!(closed.is_ok(), "a trickling client is closed");
    }
    let mut ws = gw.connect("").await;
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
    gw.gateway.shutdown().await;
}

/// At the open-file limit new handshakes are refused with a clear 503, while
/// the open sockets keep working, a function that never ran can still start,
/// and room comes back as sockets close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_file_limit_new_clients_are_refused_first() {
    let app = format!(
        "{PROBE_APP}\nother = {{ function = \"cold\", route_response = true }}\n\n[functions.cold]\ncommand = [\"{{probe}}\"]\n"
    );
    let running = run_wsgate_limited(&app, &[], &[], Some(256)).await;
    let mut open = Vec::new();
    let refused = loop {
        assert!(open.len() < 256, "never refused");
        // A gateway with no descriptor left cannot even answer: fail, do not hang.
        let answered = tokio::time::timeout(Duration::from_secs(10), connect_async(&running.url))
            .await
            .unwrap_or_else(|_| panic!("not answered after {} sockets", open.len()));
        match answered {
            Ok((ws, _)) => open.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => break response,
            Err(e) => panic!("{e} after {} sockets", open.len()),
        }
    };
    assert_eq!(refused.status(), 503);
    let body = String::from_utf8_lossy(refused.body().as_deref().unwrap_or_default()).into_owned();
    assert!(body.contains("open-file limit"), "{body}");
    assert!(
        open.len() >= 150,
        "only {} sockets before refusing",
        open.len()
    );

    // The open ones are served, by a warm function and by one that starts now.
    let ws = open.last_mut().unwrap();
    assert_eq!(ask(ws, r#"{"action":"echo"}"#).await["routeKey"], "echo");
    let reply = ask(ws, r#"{"action":"other"}"#).await;
    assert_eq!(reply["function"], "cold", "{reply}");

    // Room comes back.
    for mut ws in open.drain(..10) {
        ws.send(Message::Close(None)).await.unwrap();
    }
    eventually("a new client is accepted again", async || {
        connect_async(&running.url).await.is_ok()
    })
    .await;
    assert!(
        running
            .log()
            .contains("new connections are refused with 503")
    );
}
