//! The app end to end on each offline backend (MiniStack, moto): the repo's
//! `template.yaml`, its release handler binaries and the emulator's server.
//! Two scenarios: the fan-out (one `NotifyUser` message to a user with K
//! sockets) and the backlog drain (N `NotifyConnection` messages queued while
//! nobody polls, then the time until every socket has all of its own).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use futures_util::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use testkit::{Emulator, Kind};
use tokio::process::{Child, Command};

use crate::client;

/// The app running on one backend.
pub struct App {
    pub kind: Kind,
    _emulator: Emulator,
    gateway: Child,
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    endpoint: String,
    pub(crate) sdk: aws_config::SdkConfig,
    /// From spawning `wsgate --template template.yaml` to its ready line
    /// (tables and queues provisioned in the backend, pollers started).
    pub start_to_ready_ms: f64,
}

#[derive(Debug, Serialize, Clone)]
pub struct Fanout {
    pub backend: &'static str,
    pub sockets: usize,
    pub last_socket_ms: Vec<f64>,
    pub start_to_ready_ms: f64,
}

#[derive(Debug, Serialize, Clone)]
pub struct Drain {
    pub backend: &'static str,
    pub messages: usize,
    pub sockets: usize,
    /// Queueing the backlog (SendMessageBatch, 8 senders at once), messages per second.
    pub queued_per_sec: f64,
    /// Messages queued: fewer than `messages` when queueing took longer than the
    /// run's limit (then nothing is drained).
    pub queued: usize,
    /// From the pollers' resumption to the last socket's last message; None
    /// when the run gave up (`delivered` says how far it got).
    pub drain_ms: Option<f64>,
    pub delivered: usize,
    /// Deliveries beyond the first of a message (SQS is at least once).
    pub duplicates: usize,
    pub dead_letters: usize,
}

impl App {
    /// The app with the release binaries (the gateway's and the handlers').
    pub async fn start(kind: Kind) -> anyhow::Result<App> {
        let bin_dir = crate::target::bin("wsgate")
            .parent()
            .context("bin dir")?
            .to_owned();
        Self::start_from(kind, &bin_dir).await
    }

    /// The app with the gateway and the handlers from `bin_dir` (a debug or a release build).
    pub async fn start_from(kind: Kind, bin_dir: &std::path::Path) -> anyhow::Result<App> {
        let emulator = tokio::task::spawn_blocking(move || Emulator::start_kind(kind)).await?;
        let endpoint = emulator.endpoint().to_string();
        let spawned = Instant::now();
        let mut gateway = Command::new(bin_dir.join("wsgate"))
            .args([
                "--template",
                "template.yaml",
                "--listen",
                "127.0.0.1:0",
                "--aws-endpoint-url",
                &endpoint,
            ])
            .args([
                "-p",
                "StageName=local",
                "-p",
                "AuthMode=query",
                "-p",
                "TokenSecret=benchmark-secret-value",
            ])
            .arg("--bin-dir")
            .arg(bin_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let url = crate::target::wait_for_line(&mut gateway, "wsgate ready: ").await?;
        let start_to_ready_ms = spawned.elapsed().as_secs_f64() * 1000.0;
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap_or_default()
            .parse()?;
        let sdk = testkit::sdk_config(&endpoint).await;
        Ok(App {
            kind,
            _emulator: emulator,
            gateway,
            url,
            addr,
            endpoint,
            sdk,
            start_to_ready_ms,
        })
    }

    pub(crate) fn queue(&self, name: &str) -> String {
        format!("{}/000000000000/{name}", self.endpoint)
    }

    /// Stops or continues the gateway's process (its pollers, functions' answers, sockets).
    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self.gateway.id().context("the gateway runs")?;
        kill(Pid::from_raw(pid as i32), signal)?;
        Ok(())
    }

    pub(crate) async fn dead_letters(&self, dlq: &str) -> anyhow::Result<usize> {
        let out = aws_sdk_sqs::Client::new(&self.sdk)
            .get_queue_attributes()
            .queue_url(self.queue(dlq))
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await?;
        Ok(out
            .attributes
            .and_then(|a| {
                a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0))
    }

    /// Connection ids by user, from the app's table.
    async fn connection_ids(&self) -> anyhow::Result<HashMap<String, String>> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.sdk);
        let mut ids = HashMap::new();
        let mut pages = ddb
            .scan()
            .table_name("Connections")
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item?;
            if let (Some(id), Some(user)) = (item.get("ConnectionId"), item.get("UserId"))
                && let (Ok(id), Ok(user)) = (id.as_s(), user.as_s())
            {
                ids.insert(user.clone(), id.clone());
            }
        }
        Ok(ids)
    }
}

/// One `NotifyUser` message to a user with `sockets` sockets, `rounds` times:
/// the time until the last socket has it.
pub async fn fanout(app: &App, sockets: usize, rounds: usize) -> anyhow::Result<Fanout> {
    let (mut ws, _) =
        client::open_many(&format!("{}?userId=fan", app.url), app.addr, sockets, 32).await?;
    let sqs = aws_sdk_sqs::Client::new(&app.sdk);
    let queue = app.queue("NotifyUser");
    let mut last_socket_ms = Vec::new();
    for round in 0..rounds {
        let body = serde_json::json!({ "userId": "fan", "data": { "round": round } }).to_string();
        let started = Instant::now();
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await?;
        for w in ws.iter_mut() {
            loop {
                let frame = tokio::time::timeout(Duration::from_secs(60), w.next())
                    .await
                    .context("a notification within 60 s")?
                    .context("closed")??;
                if frame.is_text() {
                    break;
                }
            }
        }
        last_socket_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Fanout {
        backend: app.kind.name(),
        sockets,
        last_socket_ms,
        start_to_ready_ms: app.start_to_ready_ms,
    })
}

/// `messages` `NotifyConnection` messages, spread over `sockets` sockets (one
/// user each), queued while the gateway is stopped (SIGSTOP: nobody polls),
/// then the time from its continuation until every socket has all of its own.
pub async fn backlog(
    app: &App,
    messages: usize,
    sockets: usize,
    give_up: Duration,
) -> anyhow::Result<Drain> {
    let mut ws = Vec::with_capacity(sockets);
    for s in 0..sockets {
        let (w, _) = tokio_tungstenite::connect_async(format!("{}?userId=u{s}", app.url)).await?;
        ws.push(w);
    }
    let ids = app.connection_ids().await?;
    let ids: Vec<String> = (0..sockets)
        .map(|s| {
            ids.get(&format!("u{s}"))
                .cloned()
                .context("a socket's record")
        })
        .collect::<anyhow::Result<_>>()?;
    let per_socket = messages.div_ceil(sockets);
    let delivered = Arc::new(AtomicUsize::new(0));
    let duplicates = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    for (s, mut w) in ws.into_iter().enumerate() {
        let expected = (0..messages).filter(|i| i % sockets == s).count();
        let (delivered, duplicates, done) =
            (delivered.clone(), duplicates.clone(), done_tx.clone());
        tokio::spawn(async move {
            let mut seen = std::collections::HashSet::with_capacity(per_socket);
            while let Some(Ok(frame)) = w.next().await {
                if let Ok(text) = frame.to_text() {
                    if seen.insert(text.to_string()) {
                        delivered.fetch_add(1, Ordering::Relaxed);
                        if seen.len() == expected {
                            let _ = done.send(Instant::now());
                        }
                    } else {
                        duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    drop(done_tx);

    app.signal(Signal::SIGSTOP)?;
    let queueing = queue_all(app, &ids, messages, give_up).await;
    app.signal(Signal::SIGCONT)?;
    let (queued, queued_per_sec) = queueing?;
    if queued < messages {
        return Ok(Drain {
            backend: app.kind.name(),
            messages,
            sockets,
            queued_per_sec,
            queued,
            drain_ms: None,
            delivered: 0,
            duplicates: 0,
            dead_letters: 0,
        });
    }
    let resumed = Instant::now();
    let mut finished = 0;
    let deadline = tokio::time::Instant::now() + give_up;
    let mut drain_ms = None;
    while let Ok(Some(at)) = tokio::time::timeout_at(deadline, done_rx.recv()).await {
        finished += 1;
        if finished == sockets {
            drain_ms = Some(at.duration_since(resumed).as_secs_f64() * 1000.0);
            break;
        }
    }
    Ok(Drain {
        backend: app.kind.name(),
        messages,
        sockets,
        queued_per_sec,
        queued,
        drain_ms,
        delivered: delivered.load(Ordering::Relaxed),
        duplicates: duplicates.load(Ordering::Relaxed),
        dead_letters: app.dead_letters("NotifyConnection-DLQ").await?,
    })
}

/// Queues the backlog with SendMessageBatch, 8 senders at once, for at most
/// `limit`: how many were queued, and at what rate.
async fn queue_all(
    app: &App,
    ids: &[String],
    messages: usize,
    limit: Duration,
) -> anyhow::Result<(usize, f64)> {
    let sqs = aws_sdk_sqs::Client::new(&app.sdk);
    let queue = app.queue("NotifyConnection");
    let batches: Vec<Vec<usize>> = (0..messages)
        .collect::<Vec<_>>()
        .chunks(10)
        .map(<[usize]>::to_vec)
        .collect();
    let started = Instant::now();
    let ids = Arc::new(ids.to_vec());
    let queued = &AtomicUsize::new(0);
    let sending = futures_util::stream::iter(batches)
        .map(|batch| {
            let (sqs, queue, ids) = (sqs.clone(), queue.clone(), ids.clone());
            async move {
                let entries = batch
                    .iter()
                    .map(|&i| {
                        let body = serde_json::json!({
                            "connectionId": ids[i % ids.len()],
                            "data": format!("m-{i}"),
                        });
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(body.to_string())
                            .build()
                            .expect("id and body")
                    })
                    .collect();
                let out = sqs
                    .send_message_batch()
                    .queue_url(queue)
                    .set_entries(Some(entries))
                    .send()
                    .await?;
                anyhow::ensure!(
                    out.failed.is_empty(),
                    "messages not queued: {:?}",
                    out.failed
                );
                queued.fetch_add(batch.len(), Ordering::Relaxed);
                Ok(())
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<anyhow::Result<()>>>();
    if let Ok(results) = tokio::time::timeout(limit, sending).await {
        results.into_iter().collect::<anyhow::Result<()>>()?;
    }
    let queued = queued.load(Ordering::Relaxed);
    Ok((queued, queued as f64 / started.elapsed().as_secs_f64()))
}
