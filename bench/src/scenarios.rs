//! The measured scenarios. Each returns figures for the gateway and for its
//! baseline, measured in the same run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::{self, Ws};
use crate::target::{self, Server};

#[derive(Debug, Serialize, Clone)]
pub struct Idle {
    pub connections: usize,
    pub rss_per_connection_bytes: u64,
    pub connects_per_sec: f64,
}

#[derive(Debug, Serialize, Clone)]
pub struct Load {
    pub connections: usize,
    pub messages_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
}

fn addr(server: &Server) -> SocketAddr {
    server.addr.parse().expect("host:port")
}

/// Opens `n` idle sockets; the server's memory growth per socket and the connect rate.
pub async fn idle(server: &Server, n: usize) -> anyhow::Result<Idle> {
    // One warm socket first, so start-up allocations (and a function's cold start) are not counted.
    let (warm, _) = client::open_many(&server.url, addr(server), 1, 1).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_kib();
    let (sockets, took) = client::open_many(&server.url, addr(server), n, 128).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_kib();
    drop(sockets);
    drop(warm);
    Ok(Idle {
        connections: n,
        rss_per_connection_bytes: after.saturating_sub(before) * 1024 / n as u64,
        connects_per_sec: n as f64 / took.as_secs_f64(),
    })
}

fn load(hist: &Histogram<u64>, connections: usize, count: u64, took: Duration) -> Load {
    Load {
        connections,
        messages_per_sec: count as f64 / took.as_secs_f64(),
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
        p999_us: hist.value_at_quantile(0.999),
    }
}

/// `connections` sockets each send a message and wait for its answer; at
/// `per_socket_rate` (messages/s) when given, as fast as they can otherwise.
pub async fn routed(
    server: &Server,
    connections: usize,
    run: Duration,
    per_socket_rate: Option<f64>,
) -> anyhow::Result<Load> {
    let (sockets, _) = client::open_many(&server.url, addr(server), connections, 64).await?;
    let body = r#"{"action":"echo","payload":"0123456789abcdef0123456789abcdef"}"#;
    // Warm up: every function instance started, every socket used once.
    let mut sockets: Vec<Ws> = sockets;
    for ws in sockets.iter_mut() {
        client::round_trip(ws, body).await?;
    }
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let mut tasks = Vec::new();
    let senders = sockets.len() as u32;
    for (i, mut ws) in sockets.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let pace = per_socket_rate.map(|r| Duration::from_secs_f64(1.0 / r));
            // Paced senders start spread over one period, so the load is even
            // rather than in bursts of every sender at once.
            let mut next = Instant::now() + pace.map_or(Duration::ZERO, |p| p * i as u32 / senders);
            while Instant::now() < deadline {
                if let Some(pace) = pace {
                    tokio::time::sleep_until(next.into()).await;
                    next += pace;
                }
                let sent = Instant::now();
                if client::round_trip(&mut ws, body).await.is_err() {
                    break;
                }
                let _ = hist.record(sent.elapsed().as_micros() as u64);
            }
            hist
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await?)?;
    }
    Ok(load(&hist, connections, hist.len(), started.elapsed()))
}

/// `@connections` POSTs from `clients` keep-alive HTTP clients to `sockets` sockets.
pub async fn pushes(
    server: &Server,
    sockets: usize,
    clients: usize,
    run: Duration,
    signed: bool,
) -> anyhow::Result<(Load, f64)> {
    let (mut ws, _) = client::open_many(&server.url, addr(server), sockets, 64).await?;
    let mut ids = Vec::new();
    for w in ws.iter_mut() {
        let reply = client::round_trip(w, r#"{"action":"whoami"}"#).await?;
        let v: serde_json::Value = serde_json::from_str(&reply)?;
        ids.push(
            v["connectionId"]
                .as_str()
                .unwrap_or_default()
                .replace('=', "%3D")
                .replace('+', "%2B")
                .replace('/', "%2F"),
        );
    }
    let delivered = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for mut w in ws {
        let delivered = delivered.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(m)) = w.next().await {
                if m.is_text() {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Signed as an SDK signs (a signature holds 5 minutes), ahead of the clock.
    let body = b"{\"push\":true}";
    let base = format!("http://{}/bench/@connections/", server.addr);
    let host = server.addr.to_string();
    let ids: Vec<(hyper::Uri, Vec<(String, String)>)> = ids
        .iter()
        .map(|id| {
            let url = format!("{base}{id}");
            let headers = if signed {
                testkit::sigv4_headers("POST", &url, &[("host", &host)], body, "execute-api")
            } else {
                Vec::new()
            };
            (url.parse().expect("a URI"), headers)
        })
        .collect();
    let ids = Arc::new(ids);
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let http =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Full<bytes::Bytes>>();
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let mut i = c;
            while Instant::now() < deadline {
                let (uri, signed) = &ids[i % ids.len()];
                i += clients;
                let mut request = hyper::Request::post(uri.clone());
                for (k, v) in signed {
                    request = request.header(k.as_str(), v.as_str());
                }
                let request = request
                    .body(http_body_util::Full::new(bytes::Bytes::from_static(
                        b"{\"push\":true}",
                    )))
                    .expect("a request");
                let sent = Instant::now();
                match http.request(request).await {
                    Ok(r) if r.status() == 200 => {
                        let _ = hist.record(sent.elapsed().as_micros() as u64);
                    }
                    _ => break,
                }
            }
            hist
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await?)?;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deliveries_per_sec = delivered.load(Ordering::Relaxed) as f64 / took.as_secs_f64();
    for r in readers {
        r.abort();
    }
    Ok((load(&hist, sockets, hist.len(), took), deliveries_per_sec))
}

/// A function with no instance yet: from sending the first message to its
/// answer (the process starts, initialises and handles it), on fresh gateways.
pub async fn cold_starts(rounds: usize) -> anyhow::Result<Vec<f64>> {
    let body = r#"{"action":"echo","payload":"cold"}"#;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let gw = gateway_for_messages().await?;
        let (mut sockets, _) = client::open_many(&gw.url, addr(&gw), 1, 1).await?;
        let ws = sockets.first_mut().expect("a socket");
        let sent = Instant::now();
        client::round_trip(ws, body).await?;
        times.push(sent.elapsed().as_secs_f64() * 1000.0);
        drop(sockets);
        gw.stop().await;
    }
    Ok(times)
}

pub async fn gateway_for_messages() -> anyhow::Result<Server> {
    gateway_for_messages_with("").await
}

/// … with more lines in its `[api]` table (`sigv4 = false`).
pub async fn gateway_for_messages_with(api: &str) -> anyhow::Result<Server> {
    target::gateway_with(
        false,
        r#"
"$default" = { function = "noop", route_response = true }
echo = { function = "noop", route_response = true }
whoami = { function = "noop", route_response = true }
"#,
        api,
    )
    .await
}
