//! One function: its invocation queue and its pool of instances.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::InvokeError;
use super::instance::{self, Instance, KillReason};

/// Everything needed to start an instance of a function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub command: Vec<String>,
    /// The whole environment of the process (the gateway's own is not inherited).
    pub env: Vec<(String, String)>,
    pub working_dir: PathBuf,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub max_concurrency: usize,
    pub arn: String,
}

/// An invocation waiting for, or held by, an instance.
pub(super) struct Invocation {
    pub payload: Bytes,
    pub reply: oneshot::Sender<Result<Bytes, InvokeError>>,
}

#[derive(Default)]
struct Counts {
    /// Processes alive.
    instances: usize,
    /// Started but not yet asking for work.
    starting: usize,
    /// Waiting in `/next`.
    idle: usize,
    /// Just answered and on the way back to `/next`: about to be free,
    /// so no new process is started for the work they will take.
    returning: usize,
}

pub struct Function {
    pub(super) spec: FunctionSpec,
    pub(super) queue_tx: async_channel::Sender<Invocation>,
    pub(super) queue_rx: async_channel::Receiver<Invocation>,
    counts: Mutex<Counts>,
    live: Mutex<HashMap<u64, Arc<Instance>>>,
    tasks: Mutex<JoinSet<()>>,
    next_id: AtomicU64,
    closed: AtomicBool,
}

impl Function {
    pub fn new(spec: FunctionSpec) -> Arc<Self> {
        let (queue_tx, queue_rx) = async_channel::unbounded();
        Arc::new(Self {
            spec,
            queue_tx,
            queue_rx,
            counts: Mutex::default(),
            live: Mutex::default(),
            tasks: Mutex::new(JoinSet::new()),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Invokes the function with a JSON payload and waits for its response,
    /// starting an instance when none is free and the concurrency limit allows.
    pub async fn invoke(self: &Arc<Self>, payload: Bytes) -> Result<Bytes, InvokeError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(InvokeError::ShuttingDown);
        }
        let (reply, result) = oneshot::channel();
        if self
            .queue_tx
            .send(Invocation { payload, reply })
            .await
            .is_err()
        {
            return Err(InvokeError::ShuttingDown);
        }
        self.scale();
        // The sender is dropped only if the invocation is lost in a shutdown.
        result.await.unwrap_or(Err(InvokeError::ShuttingDown))
    }

    /// Starts instances while queued work outnumbers free ones.
    pub(super) fn scale(self: &Arc<Self>) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let mut counts = self.counts.lock().unwrap();
        let waiting = self.queue_rx.len();
        while waiting > counts.idle + counts.starting + counts.returning
            && counts.instances < self.spec.max_concurrency
        {
            counts.instances += 1;
            counts.starting += 1;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let instance = Instance::new(self.clone(), id);
            self.live.lock().unwrap().insert(id, instance.clone());
            let mut tasks = self.tasks.lock().unwrap();
            while tasks.try_join_next().is_some() {}
            tasks.spawn(instance::run(instance));
        }
    }

    pub(super) fn initialised(&self) {
        self.counts.lock().unwrap().starting -= 1;
    }

    pub(super) fn returning(&self, back: bool) {
        let mut counts = self.counts.lock().unwrap();
        if back {
            counts.returning += 1;
        } else {
            counts.returning -= 1;
        }
    }

    /// Counts an instance as idle until the guard drops.
    pub(super) fn idle_guard(self: &Arc<Self>) -> IdleGuard {
        self.counts.lock().unwrap().idle += 1;
        IdleGuard(self.clone())
    }

    /// An instance ended; replaces it if work is waiting.
    pub(super) fn instance_gone(self: &Arc<Self>, id: u64, was_initialised: bool) {
        {
            let mut counts = self.counts.lock().unwrap();
            counts.instances -= 1;
            if !was_initialised {
                counts.starting -= 1;
            }
        }
        self.live.lock().unwrap().remove(&id);
        self.scale();
    }

    /// Fails queued work, stops every instance and waits for their processes to end.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        self.queue_tx.close();
        while let Ok(invocation) = self.queue_rx.try_recv() {
            let _ = invocation.reply.send(Err(InvokeError::ShuttingDown));
        }
        let live: Vec<_> = self.live.lock().unwrap().values().cloned().collect();
        for instance in live {
            instance.terminate(KillReason::Shutdown);
        }
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        while tasks.join_next().await.is_some() {}
    }

    /// Processes alive now (for tests and logs).
    pub fn instance_count(&self) -> usize {
        self.counts.lock().unwrap().instances
    }

    /// Process ids of the live instances (for tests that check nothing is orphaned).
    pub fn pids(&self) -> Vec<u32> {
        self.live
            .lock()
            .unwrap()
            .values()
            .filter_map(|i| i.pid())
            .collect()
    }
}

pub(super) struct IdleGuard(Arc<Function>);

impl Drop for IdleGuard {
    fn drop(&mut self) {
        self.0.counts.lock().unwrap().idle -= 1;
    }
}
