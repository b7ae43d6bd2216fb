//! A connection's session after the 101: frames in and out until one side
//! closes, the idle or lifetime limit passes, or the gateway shuts down; then
//! `$disconnect` with the close status and reason.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

use super::dispatch;
use super::upgrade::Socket;
use crate::api::Api;
use crate::apigw::events::{self, now_ms};
use crate::connections::{Connection, Outbound, close};
use crate::ids;
use crate::metrics::CodeLabel;

/// How long a closing handshake may take.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A connection's life after the handshake.
pub async fn run(
    api: Arc<Api>,
    socket: Socket,
    conn: Arc<Connection>,
    rx: mpsc::Receiver<Box<Outbound>>,
) {
    let info = conn.info.clone();
    tracing::info!(connection = %info.connection_id, "connected");
    let metrics = &api.metrics;
    metrics.connections_opened.inc();
    metrics.connections_open.inc();
    let (code, reason) = serve(&api, socket, &conn, rx).await;
    metrics.connections_open.dec();
    metrics
        .connections_closed
        .get_or_create(&CodeLabel {
            code: code.to_string(),
        })
        .inc();
    api.connections.remove(&info.connection_id);
    tracing::info!(connection = %info.connection_id, code, reason, "disconnected");
    let model = api.model();
    // Its messages still waiting for a function are never started: nobody
    // would read their answers (running ones finish).
    conn.owner.leave();
    for function in model.functions.values() {
        function.drop_abandoned();
    }
    let dropped = conn.owner.dropped();
    if dropped > 0 {
        tracing::info!(connection = %info.connection_id, dropped, "its queued messages were dropped, unstarted");
    }
    if let Some(route) = &model.routes.disconnect {
        let request_id = ids::aws_id();
        let event = events::disconnect_event(&info, code, &reason, &request_id, now_ms());
        let timeout = api.integration_timeout();
        // Boxed: an integration's future (an HTTP or AWS call) is large, and inline
        // it would be part of every idle connection's task (13 KB each, measured).
        if let Err(e) = Box::pin(route.integration.run(&event, timeout)).await {
            tracing::warn!(connection = %info.connection_id, "$disconnect failed: {e}");
        }
    }
}

/// Moves frames until the connection ends; returns the close status and reason.
async fn serve(
    api: &Arc<Api>,
    mut socket: Socket,
    conn: &Arc<Connection>,
    mut outbound: mpsc::Receiver<Box<Outbound>>,
) -> (u16, String) {
    let limits = &api.config.api;
    let idle_timeout = limits.idle_timeout();
    let mut idle = pin!(sleep(idle_timeout));
    let mut lifetime = pin!(sleep(limits.max_lifetime()));
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    api.metrics.frames_in.inc();
                    conn.traffic.inbound(text.len());
                    api.metrics.journal.frame(&conn.info.connection_id, "in", text.as_str());
                    conn.touch();
                    idle.as_mut().reset(Instant::now() + idle_timeout);
                    // Each message runs on its own, as API Gateway invokes concurrently.
                    tokio::spawn(dispatch::message(api.clone(), conn.clone(), text.as_str().to_owned()));
                }
                Some(Ok(Message::Binary(_))) => {
                    api.metrics.frames_in.inc();
                    return close_with(socket, close::UNSUPPORTED).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                    conn.touch();
                    idle.as_mut().reset(Instant::now() + idle_timeout);
                }
                Some(Ok(Message::Close(frame))) => {
                    finish_close(socket).await;
                    return client_close(frame);
                }
                Some(Err(tungstenite::Error::Capacity(_))) => {
                    return close_too_big(socket).await;
                }
                Some(Err(_)) => return owned(close::ABNORMAL),
                None => return owned(close::ABNORMAL),
            },
            message = outbound.recv() => match message.map(|m| *m) {
                Some(Outbound::Text(text)) => {
                    api.metrics.frames_out.inc();
                    conn.traffic.outbound(text.len());
                    api.metrics.journal.frame(&conn.info.connection_id, "out", &text);
                    if !write(&mut socket, conn, Message::Text(text.into())).await {
                        return owned(close::ABNORMAL);
                    }
                }
                Some(Outbound::Binary(data)) => {
                    api.metrics.frames_out.inc();
                    conn.traffic.outbound(data.len());
                    if api.metrics.journal.watching() {
                        let shown = format!("<{} bytes of binary>", data.len());
                        api.metrics.journal.frame(&conn.info.connection_id, "out", &shown);
                    }
                    if !write(&mut socket, conn, Message::Binary(data)).await {
                        return owned(close::ABNORMAL);
                    }
                }
                Some(Outbound::Close { code, reason }) => {
                    return close_with(socket, (code, &reason)).await;
                }
                None => return owned(close::ABNORMAL),
            },
            _ = &mut idle => return close_with(socket, close::GOING_AWAY).await,
            _ = &mut lifetime => return close_with(socket, close::GOING_AWAY).await,
            _ = api.shutdown.cancelled() => return close_with(socket, close::GOING_AWAY).await,
            // It stopped reading: no closing handshake can reach it.
            _ = conn.died() => return owned(close::ABNORMAL),
        }
    }
}

/// Writes a frame; false when the socket failed or the client was found dead
/// while the write waited (a client that does not read blocks it forever).
async fn write(socket: &mut Socket, conn: &Connection, message: Message) -> bool {
    tokio::select! {
        written = socket.send(message) => written.is_ok(),
        _ = conn.died() => false,
    }
}

fn owned((code, reason): (u16, &str)) -> (u16, String) {
    (code, reason.to_string())
}

/// The status and reason of a close the client started.
fn client_close(frame: Option<CloseFrame>) -> (u16, String) {
    match frame {
        None => owned(close::NO_STATUS),
        Some(f) if f.reason.is_empty() => (
            f.code.into(),
            format!(
                "Client-side close frame status set to {}",
                u16::from(f.code)
            ),
        ),
        Some(f) => (f.code.into(), f.reason.as_str().to_string()),
    }
}

/// Sends a close frame and waits briefly for the client's answer.
async fn close_with(mut socket: Socket, (code, reason): (u16, &str)) -> (u16, String) {
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    finish_close(socket).await;
    (code, reason.to_string())
}

/// Drains the socket until the closing handshake ends (a peer that never answers gets 2 s).
async fn finish_close(mut socket: Socket) {
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// 1009 for a message over the limit. The client may still be sending the
/// rest of it, and the frame reader has stopped at the error: what arrives is
/// read and dropped as raw bytes until the client closes (or 2 s pass), so the
/// close frame reaches it instead of a reset.
async fn close_too_big(mut socket: Socket) -> (u16, String) {
    let (code, reason) = close::TOO_BIG;
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    let raw = socket.get_mut();
    let mut scratch = vec![0u8; 16 * 1024];
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Ok(n) = raw.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    (code, reason.to_string())
}
