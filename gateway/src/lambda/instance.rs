//! One instance of a function: a process, its Runtime API listener, and the
//! invocation it holds. A crash or a timeout ends the instance and fails that
//! invocation; the next one gets a fresh process.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use super::function::{Function, Invocation};
use super::{InvokeError, runtime_api};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum KillReason {
    Timeout,
    InitError,
    Shutdown,
}

/// The invocation an instance is working on.
pub(super) struct InFlight {
    pub request_id: String,
    pub reply: oneshot::Sender<Result<Bytes, InvokeError>>,
    pub started: Instant,
    pub timer: JoinHandle<()>,
}

pub(super) struct Instance {
    pub function: Arc<Function>,
    pub id: u64,
    pub inflight: Mutex<Option<InFlight>>,
    created: Instant,
    initialised: AtomicBool,
    /// Answered its invocation and has not asked for the next yet.
    returning: AtomicBool,
    /// Init duration, reported on the first invocation's REPORT line only.
    init_duration: Mutex<Option<Duration>>,
    kill: Notify,
    kill_reason: Mutex<Option<KillReason>>,
    pid: AtomicU32,
}

impl Instance {
    pub fn new(function: Arc<Function>, id: u64) -> Arc<Self> {
        Arc::new(Self {
            function,
            id,
            inflight: Mutex::new(None),
            created: Instant::now(),
            initialised: AtomicBool::new(false),
            returning: AtomicBool::new(false),
            init_duration: Mutex::new(None),
            kill: Notify::new(),
            kill_reason: Mutex::new(None),
            pid: AtomicU32::new(0),
        })
    }

    pub fn name(&self) -> &str {
        self.function.name()
    }

    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|p| *p != 0)
    }

    /// Called on every `/next`: the first ends the init phase.
    pub fn asks_for_work(&self) {
        if self.returning.swap(false, Ordering::AcqRel) {
            self.function.returning(false);
        }
        if !self.initialised.swap(true, Ordering::AcqRel) {
            *self.init_duration.lock().unwrap() = Some(self.created.elapsed());
            self.function.initialised();
        }
    }

    pub fn take_init_duration(&self) -> Option<Duration> {
        self.init_duration.lock().unwrap().take()
    }

    /// Asks the instance's task to kill the process.
    pub fn terminate(&self, reason: KillReason) {
        self.kill_reason.lock().unwrap().get_or_insert(reason);
        self.kill.notify_one();
    }

    /// Hands an invocation to this instance and arms its timeout.
    pub fn hold(self: &Arc<Self>, request_id: String, invocation: Invocation) {
        let timeout = self.function.spec.timeout;
        let me = self.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            me.terminate(KillReason::Timeout);
        });
        let previous = self.inflight.lock().unwrap().replace(InFlight {
            request_id,
            reply: invocation.reply,
            started: Instant::now(),
            timer,
        });
        // A runtime that asks for more work before answering has dropped the last invocation.
        if let Some(previous) = previous {
            previous.timer.abort();
            let _ = previous.reply.send(Err(InvokeError::Function {
                error_type: "Runtime.InvalidState".into(),
                message: "the runtime asked for the next event before answering this one".into(),
            }));
        }
    }

    /// Ends the held invocation if its id matches; false when it does not.
    pub fn finish(&self, request_id: &str, result: Result<Bytes, InvokeError>) -> bool {
        let held = {
            let mut slot = self.inflight.lock().unwrap();
            match slot.as_ref() {
                Some(f) if f.request_id == request_id => slot.take(),
                _ => None,
            }
        };
        let Some(held) = held else { return false };
        held.timer.abort();
        if !self.returning.swap(true, Ordering::AcqRel) {
            self.function.returning(true);
        }
        self.report(&held);
        let _ = held.reply.send(result);
        true
    }

    /// END and REPORT lines like Lambda's.
    fn report(&self, held: &InFlight) {
        let init = self.take_init_duration();
        // Reading /proc and formatting cost more than the rest of an invocation's
        // bookkeeping: only when the lines are logged.
        if !tracing::enabled!(target: "wsgate::function", tracing::Level::INFO) {
            return;
        }
        let spec = &self.function.spec;
        let ms = held.started.elapsed().as_secs_f64() * 1000.0;
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            held.request_id,
            ms.ceil() as u64,
            spec.memory_mb,
            self.pid().and_then(max_rss_mb).unwrap_or(0),
        );
        if let Some(init) = init {
            line.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            ));
        }
        tracing::info!(target: "wsgate::function", "[{}] END RequestId: {}", spec.name, held.request_id);
        tracing::info!(target: "wsgate::function", "[{}] {line}", spec.name);
    }
}

/// Peak resident memory of a process, from /proc (Linux); None elsewhere.
fn max_rss_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.div_ceil(1024))
}

/// Runs one instance to its end.
pub(super) async fn run(instance: Arc<Instance>) {
    let function = instance.function.clone();
    let name = function.name().to_string();
    let outcome = match start(&instance).await {
        Ok((mut child, server)) => {
            let status = tokio::select! {
                status = child.wait() => status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                _ = instance.kill.notified() => {
                    let _ = child.kill().await;
                    "killed".to_string()
                }
            };
            // Grandchildren (a shell's, a wrapper's) go with the process.
            kill_group(&instance);
            server.abort();
            Ok(status)
        }
        Err(e) => Err(e),
    };
    if instance.returning.swap(false, Ordering::AcqRel) {
        function.returning(false);
    }
    let reason = *instance.kill_reason.lock().unwrap();
    let initialised = instance.initialised.load(Ordering::Acquire);
    let held = instance.inflight.lock().unwrap().take();
    let error = match (&outcome, reason) {
        (Err(e), _) => InvokeError::Spawn(e.clone()),
        (_, Some(KillReason::Timeout)) => InvokeError::Timeout(function.spec.timeout.as_secs_f64()),
        (_, Some(KillReason::Shutdown)) => InvokeError::ShuttingDown,
        (Ok(status), _) if !initialised => InvokeError::Init(status.clone()),
        (Ok(status), _) => InvokeError::Exited(status.clone()),
    };
    match &outcome {
        Err(e) => tracing::error!("[{name}] cannot start: {e}"),
        Ok(_) if reason == Some(KillReason::Shutdown) => {}
        Ok(status) => tracing::warn!(
            "[{name}] instance {} ended ({status}): {error}",
            instance.id
        ),
    }
    if let Some(held) = held {
        held.timer.abort();
        tracing::warn!(target: "wsgate::function", "[{name}] RequestId: {} Error: {error}", held.request_id);
        instance.report(&held);
        let _ = held.reply.send(Err(error));
    } else if !initialised && reason != Some(KillReason::Shutdown) {
        // An instance that never asked for work fails the invocation that started it,
        // so a broken function errors instead of leaving its queue waiting forever.
        if let Ok(invocation) = function.queue_rx.try_recv() {
            let _ = invocation.reply.send(Err(error));
        }
    }
    function.instance_gone(instance.id, initialised);
}

/// Binds the instance's Runtime API and starts its process.
async fn start(instance: &Arc<Instance>) -> Result<(Child, JoinHandle<()>), String> {
    let spec = &instance.function.spec;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot bind a Runtime API port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = runtime_api::router(instance.clone());
    let server = tokio::spawn(async move {
        // Small request/response pairs on loopback: no Nagle delay.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app).await;
    });

    let mut cmd = Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "{}/[$LATEST]{:032x}",
                chrono::Utc::now().format("%Y/%m/%d"),
                instance.id
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
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the
    // child if the gateway dies without cleaning up, so no orphan survives it.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            server.abort();
            return Err(format!("`{}`: {e}", spec.command[0]));
        }
    };
    instance
        .pid
        .store(child.id().unwrap_or_default(), Ordering::Relaxed);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(spec.name.clone(), out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(spec.name.clone(), err));
    }
    Ok((child, server))
}

/// Copies a function's output into the gateway log, line by line, prefixed with its name.
async fn pump(name: String, stream: impl AsyncRead + Unpin) {
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
                tracing::info!(target: "wsgate::function", "[{name}] {text}");
            }
        }
    }
}

/// Kills what is left of the instance's process group (it is led by the process's pid).
fn kill_group(instance: &Instance) {
    if let Some(pid) = instance.pid() {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
