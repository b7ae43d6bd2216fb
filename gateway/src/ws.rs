//! WebSocket connections: the `$connect` handshake, routing frames, and `$disconnect`.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

use crate::authorizer::Decision;
use crate::events::{self, ConnectionInfo, HandshakeRequest, now_ms};
use crate::integration;
use crate::lambda::InvokeError;
use crate::registry::{Connection, Outbound};
use crate::server::{Authorizer, Shared};
use crate::{headers, ids};

/// Close codes and the reasons API Gateway reports for them.
mod close {
    pub const NORMAL: (u16, &str) = (1000, "Connection Closed Normally");
    pub const GOING_AWAY: (u16, &str) = (1001, "Going away");
    pub const UNSUPPORTED: (u16, &str) = (1003, "Binary frames are not supported");
    pub const NO_STATUS: (u16, &str) = (1005, "Client-side close frame status not set");
    pub const ABNORMAL: (u16, &str) = (1006, "Connection was closed abnormally");
    pub const TOO_BIG: (u16, &str) = (1009, "Message too big");
}

pub use close::NORMAL as DELETE_CLOSE;

/// `GET /{stage}`: runs `$connect`, then upgrades or refuses.
pub async fn upgrade(
    State(gw): State<Arc<Shared>>,
    Path(stage): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    header_map: HeaderMap,
    RawQuery(query): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if stage != gw.config.api.stage {
        return crate::management::forbidden().await;
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let now = now_ms();
    let info = ConnectionInfo {
        connection_id: ids::aws_id(),
        connected_at_ms: now,
        source_ip: peer.ip().to_string(),
        user_agent: header_map
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        domain_name: header_map
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost")
            .to_string(),
        stage: gw.config.api.stage.clone(),
        api_id: gw.api_id.clone(),
        authorizer: None,
    };
    let request = HandshakeRequest {
        headers: headers::for_event(&header_map, peer),
        query: query
            .as_deref()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
    };

    let mut info = info;
    let mut protocol = None;
    if let Some(route) = gw.routes.get("$connect") {
        let request_id = ids::aws_id();
        if let Some(authorizer) = &route.authorizer {
            match authorize(&gw, authorizer, &info, &request, &request_id, now).await {
                Decision::Allow(context) => info.authorizer = Some(context),
                Decision::Unauthorized => {
                    return refuse(
                        StatusCode::UNAUTHORIZED,
                        r#"{"message":"Unauthorized"}"#.into(),
                    );
                }
                Decision::Forbidden => {
                    return refuse(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#.into());
                }
                Decision::Failed(e) => {
                    tracing::warn!(connection = %info.connection_id, "authorizer failed: {e}");
                    return refuse(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        r#"{"message": null}"#.into(),
                    );
                }
            }
        }
        let event = events::connect_event(&info, &request, &request_id, now);
        let response = match call(&gw, &route.function, &event).await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(connection = %info.connection_id, "$connect failed: {e}");
                return refuse(
                    StatusCode::BAD_GATEWAY,
                    r#"{"message": "Internal server error"}"#.into(),
                );
            }
        };
        if !response.is_success() {
            tracing::info!(connection = %info.connection_id, status = response.status, "$connect refused the connection");
            let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
            return refuse(status, response.body.unwrap_or_default());
        }
        protocol = response
            .header("sec-websocket-protocol")
            .map(str::to_string);
    }

    let api = &gw.config.api;
    // Small buffers: a socket that waits should cost little memory.
    let mut ws = ws
        .max_frame_size(api.max_frame_bytes)
        .max_message_size(api.max_message_bytes)
        .read_buffer_size(4096)
        .write_buffer_size(0);
    if let Some(protocol) = protocol {
        ws = ws.protocols([protocol]);
    }
    // Registered before the 101 goes out: a push that follows $connect at once
    // waits in the channel instead of finding no connection (and a 410).
    let info = Arc::new(info);
    let (tx, rx) = mpsc::channel(64);
    let conn = Arc::new(Connection::new(info.clone(), tx));
    gw.registry.insert(conn.clone());
    let failed = (gw.clone(), info.connection_id.clone());
    ws.on_failed_upgrade(move |e| {
        tracing::warn!(connection = %failed.1, "upgrade failed: {e}");
        failed.0.registry.remove(&failed.1);
    })
    .on_upgrade(move |socket| {
        let tracker = gw.connections.clone();
        tracker.track_future(run(gw, socket, conn, rx))
    })
}

/// Runs a route's REQUEST authorizer.
async fn authorize(
    gw: &Shared,
    authorizer: &Authorizer,
    info: &ConnectionInfo,
    request: &HandshakeRequest,
    request_id: &str,
    now: i64,
) -> Decision {
    // A missing identity is refused without invoking the function.
    if !crate::authorizer::has_identity(&authorizer.sources, request) {
        return Decision::Unauthorized;
    }
    let aws = &gw.config.aws;
    let arn = crate::authorizer::method_arn(&aws.region, &aws.account_id, info);
    let event = crate::authorizer::request_event(info, request, &arn, request_id, now);
    match invoke(gw, &authorizer.function, &event).await {
        Ok(response) => crate::authorizer::evaluate(&response, &arn),
        // The usual way to say 401 from a Node or Python authorizer.
        Err(CallError::Invoke(_, InvokeError::Function { message, .. }))
            if message == "Unauthorized" =>
        {
            Decision::Unauthorized
        }
        Err(e) => Decision::Failed(e.to_string()),
    }
}

fn refuse(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

/// Why an integration gave no response.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("function `{0}`: {1}")]
    Invoke(String, InvokeError),
    #[error("function `{0}` did not answer within the integration timeout")]
    Timeout(String),
    #[error("function `{0}`: {1}")]
    BadResponse(String, integration::BadResponse),
}

/// Invokes a route's function within the integration timeout.
async fn invoke(
    gw: &Shared,
    function: &Arc<crate::lambda::Function>,
    event: &serde_json::Value,
) -> Result<Bytes, CallError> {
    let payload = Bytes::from(event.to_string());
    let name = || function.name().to_string();
    match tokio::time::timeout(
        gw.config.api.integration_timeout(),
        function.invoke(payload),
    )
    .await
    {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(CallError::Invoke(name(), e)),
        Err(_) => Err(CallError::Timeout(name())),
    }
}

/// Invokes and reads the proxy response.
async fn call(
    gw: &Shared,
    function: &Arc<crate::lambda::Function>,
    event: &serde_json::Value,
) -> Result<integration::ProxyResponse, CallError> {
    let response = invoke(gw, function, event).await?;
    integration::parse(&response)
        .map_err(|e| CallError::BadResponse(function.name().to_string(), e))
}

/// A connection's life after the handshake.
async fn run(
    gw: Arc<Shared>,
    socket: WebSocket,
    conn: Arc<Connection>,
    rx: mpsc::Receiver<Box<Outbound>>,
) {
    let info = conn.info.clone();
    tracing::info!(connection = %info.connection_id, "connected");
    let (code, reason) = serve(&gw, socket, &conn, rx).await;
    gw.registry.remove(&info.connection_id);
    tracing::info!(connection = %info.connection_id, code, reason, "disconnected");
    if let Some(route) = gw.routes.get("$disconnect") {
        let request_id = ids::aws_id();
        let event = events::disconnect_event(&info, code, &reason, &request_id, now_ms());
        if let Err(e) = invoke(&gw, &route.function, &event).await {
            tracing::warn!(connection = %info.connection_id, "$disconnect failed: {e}");
        }
    }
}

/// Moves frames until the connection ends; returns the close status and reason.
async fn serve(
    gw: &Arc<Shared>,
    mut socket: WebSocket,
    conn: &Arc<Connection>,
    mut outbound: mpsc::Receiver<Box<Outbound>>,
) -> (u16, String) {
    let api = &gw.config.api;
    let idle_timeout = api.idle_timeout();
    let mut idle = pin!(sleep(idle_timeout));
    let mut lifetime = pin!(sleep(api.max_lifetime()));
    loop {
        tokio::select! {
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(text))) => {
                    conn.touch();
                    idle.as_mut().reset(Instant::now() + idle_timeout);
                    tokio::spawn(handle_message(gw.clone(), conn.clone(), text.as_str().to_owned()));
                }
                Some(Ok(Message::Binary(_))) => return close_with(socket, close::UNSUPPORTED).await,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    conn.touch();
                    idle.as_mut().reset(Instant::now() + idle_timeout);
                }
                Some(Ok(Message::Close(frame))) => {
                    finish_close(socket).await;
                    return client_close(frame);
                }
                Some(Err(e)) => {
                    if is_too_big(e) {
                        return close_with(socket, close::TOO_BIG).await;
                    }
                    return owned(close::ABNORMAL);
                }
                None => return owned(close::ABNORMAL),
            },
            message = outbound.recv() => match message.map(|m| *m) {
                Some(Outbound::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return owned(close::ABNORMAL);
                    }
                }
                Some(Outbound::Binary(data)) => {
                    if socket.send(Message::Binary(data)).await.is_err() {
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
            _ = gw.shutdown.cancelled() => return close_with(socket, close::GOING_AWAY).await,
        }
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
            f.code,
            format!("Client-side close frame status set to {}", f.code),
        ),
        Some(f) => (f.code, f.reason.as_str().to_string()),
    }
}

fn is_too_big(e: axum::Error) -> bool {
    matches!(
        e.into_inner().downcast::<tungstenite::Error>().map(|e| *e),
        Ok(tungstenite::Error::Capacity(_))
    )
}

/// Sends a close frame and waits briefly for the client's answer.
async fn close_with(mut socket: WebSocket, (code, reason): (u16, &str)) -> (u16, String) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    finish_close(socket).await;
    (code, reason.to_string())
}

/// Drains the socket until the closing handshake ends (a peer that never answers gets 2 s).
async fn finish_close(mut socket: WebSocket) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// Routes one text message and answers where AWS would.
async fn handle_message(gw: Arc<Shared>, conn: Arc<Connection>, body: String) {
    let info = &conn.info;
    let request_id = ids::aws_id();
    let route_key = gw
        .selector
        .select(&body)
        .filter(|key| !key.starts_with('$') && gw.routes.contains_key(key))
        .unwrap_or_else(|| "$default".to_string());
    let Some(route) = gw.routes.get(&route_key) else {
        conn.send(Outbound::Text(error_frame("Forbidden", info, &request_id)))
            .await;
        return;
    };
    let event = events::message_event(
        info,
        &route_key,
        &ids::aws_id(),
        &request_id,
        &body,
        now_ms(),
    );
    match call(&gw, &route.function, &event).await {
        Ok(response) if route.route_response => {
            if let Some(body) = response.body {
                conn.send(Outbound::Text(body)).await;
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(connection = %info.connection_id, route = %route_key, "{e}");
            conn.send(Outbound::Text(error_frame(
                "Internal server error",
                info,
                &request_id,
            )))
            .await;
        }
    }
}

/// The error frame API Gateway sends on a WebSocket, spaced as AWS spaces it.
fn error_frame(message: &str, info: &ConnectionInfo, request_id: &str) -> String {
    format!(
        r#"{{"message": "{message}", "connectionId":"{}", "requestId":"{request_id}"}}"#,
        info.connection_id
    )
}
