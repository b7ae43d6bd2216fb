//! One instance of a function: the invocation it holds, its timeout, and the
//! END/REPORT lines. It gets work from the pool when its Runtime API asks, and
//! its process is run by `function.rs`; a crash or a timeout ends the instance
//! and fails the invocation it held.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use super::InvokeError;
use super::invocation::Permit;
use super::pool::Pool;
use super::procinfo;
use super::spec::FunctionSpec;
use crate::ids;
use crate::metrics::Metrics;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum KillReason {
    Timeout,
    InitError,
    /// Idle for longer than the function's keep-warm time.
    Reaped,
    Shutdown,
}

/// The invocation an instance is working on.
pub(super) struct InFlight {
    pub request_id: String,
    reply: oneshot::Sender<Result<Bytes, InvokeError>>,
    started: Instant,
    timer: JoinHandle<()>,
    /// Counts against the function's concurrency until the answer is sent.
    _permit: Permit,
}

/// An invocation as the Runtime API hands it to the process.
pub(super) struct Next {
    pub request_id: String,
    pub deadline_ms: i64,
    pub payload: Bytes,
}

/// How an instance ended, for `function.rs` to settle.
pub(super) struct Ending {
    pub held: Option<InFlight>,
    pub initialised: bool,
    pub reason: Option<KillReason>,
}

pub(super) struct Instance {
    pub id: u64,
    pub spec: Arc<FunctionSpec>,
    pool: Arc<Pool>,
    /// The journal the inspector reads.
    pub metrics: Arc<Metrics>,
    inflight: Mutex<Option<InFlight>>,
    created: Instant,
    initialised: AtomicBool,
    /// Init duration, reported on the first invocation's REPORT line only.
    init_duration: Mutex<Option<Duration>>,
    kill: Notify,
    kill_reason: Mutex<Option<KillReason>>,
    pid: AtomicU32,
    /// The most memory seen in use, for REPORT's Max Memory Used where only
    /// the current figure can be read (not on Linux).
    peak_mb: AtomicU64,
}

impl Instance {
    pub fn new(
        id: u64,
        spec: Arc<FunctionSpec>,
        pool: Arc<Pool>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            id,
            spec,
            pool,
            metrics,
            inflight: Mutex::new(None),
            created: Instant::now(),
            initialised: AtomicBool::new(false),
            init_duration: Mutex::new(None),
            kill: Notify::new(),
            kill_reason: Mutex::new(None),
            pid: AtomicU32::new(0),
            peak_mb: AtomicU64::new(0),
        })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The id of the invocation held now, if any.
    pub fn request_id(&self) -> Option<String> {
        self.inflight
            .lock()
            .unwrap()
            .as_ref()
            .map(|f| f.request_id.clone())
    }

    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|p| *p != 0)
    }

    pub fn set_pid(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    /// `/next`: waits for an invocation and holds it. The first call ends the
    /// init phase. None when the instance is being stopped.
    pub async fn next(self: &Arc<Self>) -> Option<Next> {
        if !self.initialised.swap(true, Ordering::AcqRel) {
            *self.init_duration.lock().unwrap() = Some(self.created.elapsed());
        }
        let Some(invocation) = self.pool.next(self.id).await else {
            // Being stopped (idle too long, old code, shutdown): make sure it is.
            self.terminate(KillReason::Reaped);
            return None;
        };
        let request_id = ids::uuid();
        let deadline_ms =
            chrono::Utc::now().timestamp_millis() + self.spec.timeout.as_millis() as i64;
        tracing::info!(target: "wsgate::function", function = self.name(), request_id, "[{}] START RequestId: {request_id} Version: $LATEST", self.name());
        let payload = invocation.payload.clone();
        let journal = &self.metrics.journal;
        if journal.watching() {
            let cold = self.init_duration.lock().unwrap().is_some();
            journal.started(
                self.name(),
                &request_id,
                crate::journal::trigger(&payload),
                cold,
            );
        }
        // Held before the response is written: if the process dies now, the
        // instance's end fails the invocation instead of losing it.
        self.hold(request_id.clone(), invocation.reply, invocation.permit);
        Some(Next {
            request_id,
            deadline_ms,
            payload,
        })
    }

    /// Holds an invocation and arms its timeout.
    fn hold(
        self: &Arc<Self>,
        request_id: String,
        reply: oneshot::Sender<Result<Bytes, InvokeError>>,
        permit: Permit,
    ) {
        let timeout = self.spec.timeout;
        let me = Arc::downgrade(self);
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(me) = me.upgrade() {
                me.terminate(KillReason::Timeout);
            }
        });
        let previous = self.inflight.lock().unwrap().replace(InFlight {
            request_id,
            reply,
            started: Instant::now(),
            timer,
            _permit: permit,
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

    /// `/response` or `/error`: ends the held invocation if its id matches;
    /// false when it does not.
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
        self.pool.answered(self.id);
        self.report(&held);
        let outcome = match &result {
            Ok(_) => "success",
            Err(_) => "error",
        };
        self.journal_end(&held, outcome);
        let _ = held.reply.send(result);
        true
    }

    /// Asks the task running the instance to kill the process.
    pub fn terminate(&self, reason: KillReason) {
        self.kill_reason.lock().unwrap().get_or_insert(reason);
        self.kill.notify_one();
    }

    /// Resolves when the instance is to be killed.
    pub async fn killed(&self) {
        self.kill.notified().await
    }

    /// What is left to settle once the process is gone.
    pub fn ending(&self) -> Ending {
        Ending {
            held: self.inflight.lock().unwrap().take(),
            initialised: self.initialised.load(Ordering::Acquire),
            reason: *self.kill_reason.lock().unwrap(),
        }
    }

    /// Fails an invocation the process held when it ended.
    pub fn fail(&self, held: InFlight, error: InvokeError) {
        held.timer.abort();
        tracing::warn!(target: "wsgate::function", function = self.name(), request_id = held.request_id, "[{}] RequestId: {} Error: {error}", self.name(), held.request_id);
        self.report(&held);
        let outcome = match error {
            InvokeError::Timeout(_) => "timeout",
            _ => "crash",
        };
        self.journal_end(&held, outcome);
        let _ = held.reply.send(Err(error));
    }

    fn journal_end(&self, held: &InFlight, outcome: &str) {
        let ms = held.started.elapsed().as_secs_f64() * 1000.0;
        self.metrics.journal.ended(&held.request_id, ms, outcome);
    }

    fn max_memory_mb(&self) -> u64 {
        let now = self.pid().and_then(procinfo::memory_mb).unwrap_or(0);
        self.peak_mb.fetch_max(now, Ordering::Relaxed).max(now)
    }

    /// END and REPORT lines like Lambda's.
    fn report(&self, held: &InFlight) {
        let init = self.init_duration.lock().unwrap().take();
        // Reading memory and formatting cost more than the rest of an invocation's
        // bookkeeping: only when the lines are logged.
        if !tracing::enabled!(target: "wsgate::function", tracing::Level::INFO) {
            return;
        }
        let spec = &self.spec;
        let ms = held.started.elapsed().as_secs_f64() * 1000.0;
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            held.request_id,
            ms.ceil() as u64,
            spec.memory_mb,
            self.max_memory_mb(),
        );
        if let Some(init) = init {
            line.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            ));
        }
        let (function, request_id) = (&spec.name, &held.request_id);
        tracing::info!(target: "wsgate::function", function, request_id, "[{function}] END RequestId: {request_id}");
        tracing::info!(target: "wsgate::function", function, request_id, "[{function}] {line}");
    }
}
