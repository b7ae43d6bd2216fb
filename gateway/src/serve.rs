//! HTTP/1.1 on the listener's connections: each is served on its own task,
//! with WebSocket upgrades, and must send its request head within a time limit
//! (a client that trickles header bytes is closed instead of holding a socket
//! forever). On shutdown, open requests finish and idle connections close.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client_head::ClientHead;
use crate::listener::DualListener;

/// Serves `app` until `stop`, then waits for the requests in progress.
pub async fn serve(
    mut listener: DualListener,
    app: Router,
    head_timeout: Duration,
    stop: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
    let connections = TaskTracker::new();
    loop {
        let (io, peer) = tokio::select! {
            next = listener.accept() => next,
            _ = stop.cancelled() => break,
        };
        let app = app.clone();
        let (head, tls, port) = io.head();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo::<SocketAddr>(peer));
            extensions.insert(ClientHead {
                names: head.take_names(),
                tls,
                port,
            });
            tower::ServiceExt::oneshot(app.clone(), request.map(Body::new))
        });
        let connection = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let stop = stop.clone();
        connections.spawn(async move {
            let mut connection = pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                    return;
                }
                _ = stop.cancelled() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    connections.close();
    connections.wait().await;
}
