//! The gateway's one port, for plain HTTP and TLS alike: the first byte a client
//! sends tells them apart (a TLS handshake starts with 0x16, HTTP with a letter).
//! Handshakes run on their own tasks, so a slow client holds up nobody else.
//!
//! Every accepted socket is counted while it is open. Near the open-file limit
//! new clients are refused with a 503, so the gateway keeps descriptors for the
//! sockets it holds and for its functions (Runtime API ports, pipes, backends).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use crate::client_head::RawHead;

/// A client's socket, plain or TLS, counted while open. The TLS state is boxed:
/// it is large, and every plain connection would otherwise carry its size
/// (memory per idle socket counts).
pub struct Conn {
    io: Either<TcpStream, Box<TlsStream<TcpStream>>>,
    _open: Open,
    /// The first request head as it arrives, for its header names' spelling.
    head: RawHead,
}

impl Conn {
    /// What the request handlers learn of this client beyond hyper's parts.
    pub fn head(&self) -> (RawHead, bool, u16) {
        let (tcp, tls) = match &self.io {
            Either::Left(tcp) => (tcp, false),
            Either::Right(tls) => (tls.get_ref().0, true),
        };
        let port = tcp.local_addr().map(|a| a.port()).unwrap_or_default();
        (self.head.clone(), tls, port)
    }
}

/// One open client socket, given back when dropped.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TLS record of type "handshake".
const TLS_HANDSHAKE: u8 = 0x16;

/// How many client sockets may be open at once, keeping `reserve` descriptors
/// of the process's limit for everything else. The soft limit is raised to the
/// hard one first, as servers do.
pub fn client_socket_limit() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return usize::MAX;
    };
    // macOS refuses an unlimited hard limit as the soft one: its OPEN_MAX
    // (10240) is the most a process may ask for there.
    let limit = [hard, hard.min(10240)]
        .into_iter()
        .find(|&want| soft < want && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok())
        .unwrap_or(soft);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    limit.saturating_sub(reserve(limit))
}

/// Descriptors kept back from clients: a tenth of the limit, within 64..=1024.
fn reserve(limit: usize) -> usize {
    (limit / 10).clamp(64, 1024)
}

pub struct DualListener {
    accepted: mpsc::Receiver<(Conn, SocketAddr)>,
}

impl DualListener {
    /// Serves `listener`; with `tls`, clients that start a TLS handshake get one.
    /// At most `max_open` client sockets are open at once; a client that sends
    /// nothing within `first_byte` (or does not finish TLS within it) is dropped.
    pub fn new(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        max_open: usize,
        first_byte: Duration,
        stop: CancellationToken,
    ) -> Self {
        let (tx, accepted) = mpsc::channel(256);
        let acceptor = tls.map(TlsAcceptor::from);
        let open = Arc::new(AtomicUsize::new(0));
        let refusals = Refusals::default();
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
                if open.fetch_add(1, Ordering::Relaxed) >= max_open {
                    open.fetch_sub(1, Ordering::Relaxed);
                    refusals.log(max_open);
                    tokio::spawn(refuse(tcp));
                    continue;
                }
                let counted = Open(open.clone());
                // Frames are small and latency matters more than packing them.
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(io) = sniff(tcp, acceptor.as_ref(), first_byte).await {
                        let conn = Conn {
                            io,
                            _open: counted,
                            head: RawHead::default(),
                        };
                        let _ = tx.send((conn, peer)).await;
                    }
                });
            }
        });
        Self { accepted }
    }

    /// The next client, plain or TLS, with its address.
    pub async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.accepted.recv().await {
            Some(pair) => pair,
            // The accept loop ended (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }
}

/// Refusals logged at most once a second.
#[derive(Default)]
struct Refusals {
    count: AtomicU64,
    last: std::sync::Mutex<Option<Instant>>,
}

impl Refusals {
    fn log(&self, max_open: usize) {
        let count = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().unwrap();
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            tracing::warn!(
                "{max_open} client sockets open, the most the open-file limit leaves room for: new connections are refused with 503 ({count} so far)"
            );
        }
    }
}

/// The answer to a client beyond the limit; a TLS client sees its handshake fail.
async fn refuse(mut tcp: TcpStream) {
    let body = r#"{"message":"Service Unavailable: wsgate is at its open-file limit and refuses new connections to keep serving the open ones"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = tcp.write_all(response.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

/// Plain or TLS, by the first byte; None when the client goes away or says
/// nothing in time. (Once bytes flow, hyper times the rest of the request head.)
async fn sniff(
    tcp: TcpStream,
    acceptor: Option<&TlsAcceptor>,
    timeout: Duration,
) -> Option<Either<TcpStream, Box<TlsStream<TcpStream>>>> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(timeout, tcp.peek(&mut first)).await;
    match (peeked, acceptor) {
        (Ok(Ok(1)), Some(acceptor)) if first[0] == TLS_HANDSHAKE => {
            match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => Some(Either::Right(Box::new(tls))),
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake failed: {e}");
                    None
                }
                Err(_) => None,
            }
        }
        (Ok(Ok(1)), _) => Some(Either::Left(tcp)),
        _ => None,
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if polled.is_ready() {
            self.head.record(&buf.filled()[before..]);
        }
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenth_of_the_limit_is_kept_back_within_bounds() {
        assert_eq!(reserve(256), 64);
        assert_eq!(reserve(20_000), 1024);
        assert_eq!(reserve(4096), 409);
    }
}
