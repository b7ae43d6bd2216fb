//! The servers under test as processes: the gateway (release build) with a
//! generated config, or the echo baseline; their memory from /proc.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Server {
    child: Child,
    pub addr: String,
    /// The WebSocket URL (with the stage for the gateway).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server started elsewhere (the peer), serving `url` on `addr`.
    pub fn spawned(child: Child, url: String, addr: String) -> Self {
        Self {
            child,
            addr,
            url,
            _dir: None,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident memory now, in KiB (Linux's VmRSS, macOS's resident size).
    pub fn rss_kib(&self) -> u64 {
        use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
        let pid = Pid::from_u32(self.child.id().unwrap_or_default());
        let Ok(mut system) = System::new() else {
            return 0;
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_memory(),
        );
        system.process(pid).map_or(0, |p| p.memory() / 1024)
    }

    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// The release binaries next to this one.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent().expect("a folder").join(name)
}

pub async fn wait_for_line(child: &mut Child, prefix: &str) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.strip_prefix(prefix) {
            let rest = rest.to_string();
            // Keep draining so the server never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(rest);
        }
    }
    bail!("the server exited before printing {prefix:?}")
}

/// The echo baseline, in its own process.
pub async fn echo_server() -> anyhow::Result<Server> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("echo-server")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let addr = wait_for_line(&mut child, "listening ").await?;
    Ok(Server {
        url: format!("ws://{addr}/"),
        addr,
        child,
        _dir: None,
    })
}

/// The gateway with one function, `noop`, on the routes given.
pub async fn gateway(connect_route: bool, extra_routes: &str) -> anyhow::Result<Server> {
    gateway_with(connect_route, extra_routes, "").await
}

/// … with more lines in its `[api]` table.
pub async fn gateway_with(
    connect_route: bool,
    extra_routes: &str,
    api: &str,
) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let noop = bin("noop");
    if !noop.exists() {
        bail!(
            "{} is missing: build with `cargo build --release --workspace`",
            noop.display()
        );
    }
    let connect = if connect_route {
        r#""$connect" = { function = "noop" }"#
    } else {
        ""
    };
    let config = format!(
        r#"
[api]
{api}
stage = "bench"
listen = "127.0.0.1:0"
[functions.noop]
command = ["{noop}"]
max_concurrency = 4
timeout_secs = 10
[routes]
{connect}
{extra_routes}
"#,
        noop = noop.display()
    );
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, config)?;
    let mut child = Command::new(bin("wsgate"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = wait_for_line(&mut child, "wsgate ready: ").await?;
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(Server {
        child,
        addr,
        url,
        _dir: Some(dir),
    })
}
