//! The app under a burst, as its users meet it: sockets of a few users are
//! open, a burst of `NotifyUser` messages is queued (SendMessageBatch, 8 at
//! once), and the time runs until every socket has every notification for its
//! user. The whole path: NotifyUser queue → `notify-user` (one GSI query per
//! message, batched sends) → NotifyConnection queue → `notify-connection` →
//! `@connections` → the sockets. Run with the debug builds `scripts/dev`
//! runs, and with release builds.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures_util::StreamExt;
use serde::Serialize;

use crate::backends::App;

#[derive(Debug, Serialize, Clone)]
pub struct Burst {
    pub backend: &'static str,
    /// "debug" (scripts/dev's build) or "release".
    pub build: &'static str,
    pub users: usize,
    pub sockets: usize,
    pub messages: usize,
    /// Notifications owed to the sockets (each message reaches its user's sockets).
    pub deliveries: usize,
    /// Queueing the burst.
    pub sent_ms: f64,
    /// From the first send to the last socket's last notification; None when
    /// the run gave up (`delivered` says how far it got).
    pub last_ms: Option<f64>,
    pub delivered: usize,
    /// Deliveries beyond the first of a notification (SQS is at least once).
    pub duplicates: usize,
    pub dead_letters: usize,
}

/// `messages` `NotifyUser` messages for `users` users with `per_user` sockets
/// each, message i for user i % users.
pub async fn burst(
    app: &App,
    build: &'static str,
    users: usize,
    per_user: usize,
    messages: usize,
    give_up: Duration,
) -> anyhow::Result<Burst> {
    let sockets = users * per_user;
    let delivered = Arc::new(AtomicUsize::new(0));
    let duplicates = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    for s in 0..sockets {
        let user = s % users;
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("{}?userId=user-{user}", app.url)).await?;
        let expected = (0..messages).filter(|i| i % users == user).count();
        let (delivered, duplicates, done) =
            (delivered.clone(), duplicates.clone(), done_tx.clone());
        tokio::spawn(async move {
            let mut seen = HashSet::with_capacity(expected);
            while let Some(Ok(frame)) = ws.next().await {
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

    let sqs = aws_sdk_sqs::Client::new(&app.sdk);
    let queue = app.queue("NotifyUser");
    let started = Instant::now();
    let batches: Vec<Vec<usize>> = (0..messages)
        .collect::<Vec<_>>()
        .chunks(10)
        .map(<[usize]>::to_vec)
        .collect();
    futures_util::stream::iter(batches)
        .map(|batch| {
            let (sqs, queue) = (sqs.clone(), queue.clone());
            async move {
                let entries = batch
                    .iter()
                    .map(|&i| {
                        let body = serde_json::json!({
                            "userId": format!("user-{}", i % users),
                            "data": { "n": i },
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
                anyhow::ensure!(out.failed.is_empty(), "not queued: {:?}", out.failed);
                Ok(())
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<anyhow::Result<()>>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<()>>()
        .context("queueing the burst")?;
    let sent_ms = started.elapsed().as_secs_f64() * 1000.0;

    let deadline = tokio::time::Instant::now() + give_up;
    let mut finished = 0;
    let mut last_ms = None;
    while let Ok(Some(at)) = tokio::time::timeout_at(deadline, done_rx.recv()).await {
        finished += 1;
        if finished == sockets {
            last_ms = Some(at.duration_since(started).as_secs_f64() * 1000.0);
            break;
        }
    }
    // Late duplicates still count: give redeliveries a moment to show.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let dead_letters = app.dead_letters("NotifyUser-DLQ").await?
        + app.dead_letters("NotifyConnection-DLQ").await?;
    Ok(Burst {
        backend: app.kind.name(),
        build,
        users,
        sockets,
        messages,
        deliveries: messages * per_user,
        sent_ms,
        last_ms,
        delivered: delivered.load(Ordering::Relaxed),
        duplicates: duplicates.load(Ordering::Relaxed),
        dead_letters,
    })
}
