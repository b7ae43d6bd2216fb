//! Fan-out, end to end: one `NotifyUser` message to a user with K sockets,
//! through both queues, the real handler binaries and moto; the time until the
//! last socket has it. Reported, not compared: moto's speed bounds it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::client;

#[derive(Debug, Serialize, Clone)]
pub struct Fanout {
    pub sockets: usize,
    pub rounds: usize,
    pub last_socket_ms: Vec<f64>,
    /// From spawning `wsgate --template template.yaml` to its ready line
    /// (tables and queues provisioned in moto, pollers started).
    pub start_to_ready_ms: f64,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn moto() -> anyhow::Result<(Child, String)> {
    let venv = std::env::var("WSGATE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(".venv"));
    let port = free_port()?;
    let child = Command::new(venv.join("bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ACCOUNT_ID", "000000000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("moto_server (scripts/python-env makes the venv)")?;
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok((child, endpoint));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("moto did not start")
}

pub async fn run(sockets: usize, rounds: usize) -> anyhow::Result<Fanout> {
    let (_moto, endpoint) = moto().await?;
    let bin_dir = crate::target::bin("wsgate")
        .parent()
        .context("bin dir")?
        .to_owned();
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
        .arg(&bin_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(gateway.stdout.take().context("stdout")?).lines();
    let url = loop {
        let line = lines.next_line().await?.context("the gateway exited")?;
        if let Some(url) = line.strip_prefix("wsgate ready: ") {
            break url.to_string();
        }
    };
    let start_to_ready_ms = spawned.elapsed().as_secs_f64() * 1000.0;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()?;
    let (mut ws, _) = client::open_many(&format!("{url}?userId=fan"), addr, sockets, 32).await?;

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = format!("{endpoint}/000000000000/NotifyUser");
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
    let _ = gateway.kill().await;
    Ok(Fanout {
        sockets,
        rounds,
        last_socket_ms,
        start_to_ready_ms,
    })
}
