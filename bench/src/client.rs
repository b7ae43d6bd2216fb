//! WebSocket clients for the load: many sockets from several loopback source
//! addresses, with small buffers so the load generator itself stays light.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;

/// Source addresses 127.0.0.2 … so one destination port is not limited by one
/// address's ephemeral ports. Linux answers on all of 127/8; macOS only on
/// 127.0.0.1 unless more are configured, so there it is the one source.
pub const SOURCES: u8 = if cfg!(target_os = "linux") { 8 } else { 1 };

pub async fn open(url: &str, server: SocketAddr, n: usize) -> anyhow::Result<Ws> {
    let first = if cfg!(target_os = "linux") { 2 } else { 1 };
    let source = Ipv4Addr::new(127, 0, 0, first + (n % SOURCES as usize) as u8);
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(server).await.context("connect")?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("handshake")?;
    Ok(ws)
}

/// Opens `n` sockets, `parallel` handshakes at a time; returns them and the time it took.
pub async fn open_many(
    url: &str,
    server: SocketAddr,
    n: usize,
    parallel: usize,
) -> anyhow::Result<(Vec<Ws>, Duration)> {
    let gate = Arc::new(Semaphore::new(parallel));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let ws = open(&url, server, i).await;
            drop(permit);
            ws
        }));
    }
    let mut sockets = Vec::with_capacity(n);
    for t in tasks {
        sockets.push(t.await??);
    }
    Ok((sockets, started.elapsed()))
}

/// Sends a text frame and waits for the next text frame.
pub async fn round_trip(ws: &mut Ws, text: &str) -> anyhow::Result<String> {
    ws.send(Message::text(text)).await?;
    loop {
        match ws.next().await.context("closed")?? {
            Message::Text(t) => return Ok(t.as_str().to_string()),
            Message::Close(f) => anyhow::bail!("closed: {f:?}"),
            _ => {}
        }
    }
}

/// Raises the soft open-file limit to the hard one (15000 sockets need it).
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(0)
}
