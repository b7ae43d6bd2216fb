//! An instance's process: its Runtime API listener, the spawn (own process
//! group, killed with the gateway), its output in the gateway's log, and the
//! kill of its whole tree.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::spec::FunctionSpec;
use super::{orphans, peer, procinfo};

/// A started process and the server of its Runtime API.
pub(super) struct Running {
    pub child: Child,
    pub pid: u32,
    pub server: JoinHandle<()>,
    /// In the environment of the process and everything it starts: how the
    /// instance's descendants are found when it ends, even in sessions of their own.
    pub marker: String,
}

/// The variable that marks an instance's processes.
const MARKER: &str = "WSGATE_INSTANCE";

/// Binds a Runtime API listener for `runtime_api` and starts the process against it.
/// What a function's output line is attributed to: the invocation held when it was read.
pub(super) type CurrentRequest = std::sync::Arc<dyn Fn() -> Option<String> + Send + Sync>;

pub(super) async fn start(
    spec: &FunctionSpec,
    instance_id: u64,
    runtime_api: Router,
    current: CurrentRequest,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) -> Result<Running, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot bind a Runtime API port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (pid_tx, pid) = watch::channel(0);
    let listener = OwnListener {
        listener,
        addr,
        pid,
        name: spec.name.clone(),
    };
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, runtime_api).await;
    });

    let marker = format!(
        "{}-{}-{instance_id}-{:016x}",
        spec.name,
        std::process::id(),
        rand::random::<u64>()
    );
    let mut cmd = Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..])
        .env_clear()
        .envs(spec.process_env())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env(MARKER, &marker)
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "{}/[$LATEST]{instance_id:032x}",
                chrono::Utc::now().format("%Y/%m/%d"),
            ),
        )
        .current_dir(&spec.working_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the whole tree can be killed and a terminal's
        // Ctrl-C reaches only the gateway, which then stops functions in order.
        .process_group(0)
        .kill_on_drop(true);
    // No orphan survives a gateway that dies without cleaning up.
    orphans::protect(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            server.abort();
            return Err(format!("`{}`: {e}", spec.command[0]));
        }
    };
    pid_tx.send_replace(child.id().unwrap_or_default());
    orphans::spawned(child.id().unwrap_or_default());
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(
            spec.name.clone(),
            out,
            current.clone(),
            metrics.clone(),
        ));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(spec.name.clone(), err, current, metrics));
    }
    Ok(Running {
        pid: child.id().unwrap_or_default(),
        child,
        server,
        marker,
    })
}

/// The Runtime API's listener: takes connections from the instance's own
/// processes only.
struct OwnListener {
    listener: TcpListener,
    addr: SocketAddr,
    /// The instance's process, once spawned (0 before).
    pid: watch::Receiver<u32>,
    name: String,
}

impl axum::serve::Listener for OwnListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let (tcp, peer) = match self.listener.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("[{}] Runtime API accept failed: {e}", self.name);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // The process connects only once spawned; its id follows at once.
            let spawned = self.pid.wait_for(|pid| *pid != 0);
            let pid = match tokio::time::timeout(Duration::from_secs(5), spawned).await {
                Ok(Ok(pid)) => *pid,
                _ => 0,
            };
            if pid != 0 && peer::owned_by_tree(peer, self.addr, pid) {
                // Small request/response pairs on loopback: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                return (tcp, peer);
            }
            // Killed as it connected (the instance stopping, the gateway too):
            // its socket is gone with it, so it cannot be traced, and is no stranger.
            if pid != 0 && !procinfo::running(pid) {
                tracing::debug!(
                    "[{}] a Runtime API connection from {peer} as its process ended: closed",
                    self.name
                );
                continue;
            }
            tracing::warn!(
                "[{}] refused a Runtime API connection from {peer}: not a process of this instance",
                self.name
            );
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// Copies a function's output into the gateway log, line by line, prefixed with
/// its name (and, as fields, the request it was handling).
async fn pump(
    name: String,
    stream: impl AsyncRead + Unpin,
    current: CurrentRequest,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                // Output that is not UTF-8 is still shown, not dropped.
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                match current() {
                    Some(request_id) => {
                        metrics.journal.log(&request_id, text);
                        tracing::info!(target: "wsgate::function", function = name, request_id, "[{name}] {text}")
                    }
                    None => {
                        tracing::info!(target: "wsgate::function", function = name, "[{name}] {text}")
                    }
                }
            }
        }
    }
}

/// Kills what is left of a process group (it is led by the process's pid):
/// grandchildren (a shell's, a wrapper's) go with the process.
pub(super) fn kill_group(pid: u32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    orphans::ended(pid);
}

/// Kills every process that carries an instance's marker: what a function
/// started in a session or group of its own outlives a group kill otherwise.
/// Lambda discards the whole sandbox; this is the nearest without cgroups.
pub(super) fn kill_marked(marker: &str) {
    for pid in procinfo::carrying(&format!("{MARKER}={marker}")) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
