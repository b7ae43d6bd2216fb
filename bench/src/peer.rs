//! The peer: one Node echo service (`bench/peer`: a Serverless Framework v3
//! `serverless.yml` and its `handler.js`) served by wsgate (`--serverless`:
//! each function a Node process behind the Lambda Runtime API) and by
//! serverless-offline (from npm, installed in `bench/peer`), with the same
//! load, and the CPU each spends per routed message: wsgate's own beside its
//! function processes'; serverless-offline runs both in one process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::scenarios::{self, Load};
use crate::target::{self, Server};

#[derive(Debug, Serialize, Clone)]
pub struct Side {
    pub server: &'static str,
    pub max: Load,
    pub one: Load,
    /// CPU of the server's own process per routed message at max load, µs.
    pub server_cpu_us: f64,
    /// CPU of the function processes per message (wsgate only: serverless-offline
    /// runs handlers in its own process, counted above).
    pub function_cpu_us: Option<f64>,
}

fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

/// CPU milliseconds of `pid` and of its children.
fn cpu_ms(pid: u32) -> (u64, u64) {
    let Ok(mut system) = System::new() else {
        return (0, 0);
    };
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cpu(),
    );
    let pid = Pid::from_u32(pid);
    let own = system.process(pid).map_or(0, |p| p.accumulated_cpu_time());
    let children = system
        .processes()
        .values()
        .filter(|p| p.parent() == Some(pid) && p.thread_kind().is_none())
        .map(|p| p.accumulated_cpu_time())
        .sum();
    (own, children)
}

/// Three distinct free ports (bound at once, so none is handed out twice).
fn free_ports() -> anyhow::Result<(u16, u16, u16)> {
    let [a, b, c] = [0; 3].map(|_| std::net::TcpListener::bind("127.0.0.1:0"));
    Ok((
        a?.local_addr()?.port(),
        b?.local_addr()?.port(),
        c?.local_addr()?.port(),
    ))
}

async fn serverless_offline() -> anyhow::Result<Server> {
    let dir = peer_dir();
    let sls = dir.join("node_modules/.bin/serverless");
    anyhow::ensure!(
        sls.exists(),
        "{} is missing: npm ci in {} (scripts/bench does)",
        sls.display(),
        dir.display()
    );
    let (ws, lambda, http) = free_ports()?;
    let mut child = Command::new(sls)
        .args(["offline", "start", "--host", "127.0.0.1"])
        .args(["--websocketPort", &ws.to_string()])
        .args(["--lambdaPort", &lambda.to_string()])
        .args(["--httpPort", &http.to_string()])
        .current_dir(&dir)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off")
        // It says everything on stderr.
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    loop {
        let line = lines
            .next_line()
            .await?
            .context("serverless-offline ended before it listened")?;
        if line.contains("Offline [websocket] listening on") {
            break;
        }
    }
    // Keep draining so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr = format!("127.0.0.1:{ws}");
    // It says so a moment before it accepts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(&addr).await.is_err() {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("serverless-offline ended ({status}) after saying it listened on {addr}");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "serverless-offline does not accept on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Server::spawned(child, format!("ws://{addr}"), addr))
}

async fn wsgate() -> anyhow::Result<Server> {
    let dir = peer_dir();
    let mut child = Command::new(target::bin("wsgate"))
        .arg("--serverless")
        .arg(dir.join("serverless.yml"))
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = target::wait_for_line(&mut child, "wsgate ready: ").await?;
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(Server::spawned(child, url, addr))
}

async fn measure(
    server: Server,
    name: &'static str,
    senders: usize,
    run: Duration,
) -> anyhow::Result<Side> {
    let pid = server.pid().context("the server runs")?;
    // Warm: every instance started (routed() warms each socket too).
    scenarios::routed(&server, senders, Duration::from_secs(1), None).await?;
    let before = cpu_ms(pid);
    let started = Instant::now();
    let max = scenarios::routed(&server, senders, run, None).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let after = cpu_ms(pid);
    let messages = (max.messages_per_sec * elapsed).max(1.0);
    let per = |a: u64, b: u64| (a.saturating_sub(b)) as f64 * 1000.0 / messages;
    let one = scenarios::routed(&server, 1, run, None).await?;
    let side = Side {
        server: name,
        max,
        one,
        server_cpu_us: per(after.0, before.0),
        function_cpu_us: (name == "wsgate").then(|| per(after.1, before.1)),
    };
    server.stop().await;
    Ok(side)
}

/// Both servers, one after the other, under the same load.
pub async fn compare(senders: usize, run: Duration) -> anyhow::Result<Vec<Side>> {
    eprintln!("the Node echo service on wsgate…");
    let ours = measure(wsgate().await?, "wsgate", senders, run).await?;
    eprintln!("{ours:?}");
    eprintln!("the Node echo service on serverless-offline…");
    let peer = measure(
        serverless_offline().await?,
        "serverless-offline",
        senders,
        run,
    )
    .await?;
    eprintln!("{peer:?}");
    Ok(vec![ours, peer])
}
