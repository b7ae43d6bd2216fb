//! The gateway's one port, for plain HTTP and TLS alike: the first byte a client
//! sends tells them apart (a TLS handshake starts with 0x16, HTTP with a letter).
//! Handshakes run on their own tasks, so a slow client holds up nobody else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

/// A connection, plain or TLS. The TLS state is boxed: it is large, and every
/// plain connection would otherwise carry its size (memory per idle socket counts).
pub type Conn = Either<TcpStream, Box<TlsStream<TcpStream>>>;

/// A TLS record of type "handshake".
const TLS_HANDSHAKE: u8 = 0x16;
/// A client that sends nothing this long after connecting is dropped.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct DualListener {
    accepted: mpsc::Receiver<(Conn, SocketAddr)>,
    addr: SocketAddr,
}

impl DualListener {
    /// Serves `listener`; with `tls`, clients that start a TLS handshake get one.
    pub fn new(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        stop: CancellationToken,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(256);
        let acceptor = tls.map(TlsAcceptor::from);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(pair) => pair,
                        Err(e) => {
                            // Out of file descriptors and the like: wait, as axum does.
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    _ = stop.cancelled() => return,
                };
                // Frames are small and latency matters more than packing them.
                let _ = tcp.set_nodelay(true);
                let Some(acceptor) = acceptor.clone() else {
                    if tx.send((Either::Left(tcp), peer)).await.is_err() {
                        return;
                    }
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(conn) = sniff(tcp, &acceptor).await {
                        let _ = tx.send((conn, peer)).await;
                    }
                });
            }
        });
        Ok(Self { accepted, addr })
    }
}

/// Plain or TLS, by the first byte; None when the client goes away first.
async fn sniff(tcp: TcpStream, acceptor: &TlsAcceptor) -> Option<Conn> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(FIRST_BYTE_TIMEOUT, tcp.peek(&mut first)).await;
    match peeked {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => match acceptor.accept(tcp).await {
            Ok(tls) => Some(Either::Right(Box::new(tls))),
            Err(e) => {
                tracing::debug!("TLS handshake failed: {e}");
                None
            }
        },
        Ok(Ok(1)) => Some(Either::Left(tcp)),
        _ => None,
    }
}

impl axum::serve::Listener for DualListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.accepted.recv().await {
            Some(pair) => pair,
            // The accept loop ended (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}
