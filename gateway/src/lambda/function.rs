//! One function: `invoke` queues work in the pool, and the instances the pool
//! asks for are started, run and settled here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::instance::{Instance, KillReason};
use super::pool::{Pool, Refused};
use super::spec::FunctionSpec;
use super::{InvokeError, process, runtime_api};
use crate::metrics::{FunctionLabel, Metrics, OutcomeLabels};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

pub struct Function {
    spec: Arc<FunctionSpec>,
    pool: Arc<Pool>,
    live: Mutex<HashMap<u64, Arc<Instance>>>,
    tasks: Mutex<JoinSet<()>>,
    counts: Counts,
    metrics: Arc<Metrics>,
    born: Instant,
    throttles: AtomicU64,
    /// The second (since `born`, from 1) of the last throttle log line.
    throttle_logged: AtomicU64,
    /// Code changes taken (`--watch`): each retires the instances before it.
    reloads: std::sync::atomic::AtomicUsize,
}

impl Function {
    pub fn new(spec: FunctionSpec, metrics: Arc<Metrics>) -> Arc<Self> {
        let counts = Counts::new(&metrics, &spec.name);
        let pool = Arc::new(Pool::new(
            spec.max_concurrency,
            spec.concurrency_limit(),
            spec.keep_warm,
        ));
        let function = Arc::new(Self {
            spec: Arc::new(spec),
            pool,
            live: Mutex::default(),
            tasks: Mutex::new(JoinSet::new()),
            counts,
            metrics,
            born: Instant::now(),
            throttles: AtomicU64::new(0),
            throttle_logged: AtomicU64::new(0),
            reloads: Default::default(),
        });
        tokio::spawn(reap(Arc::downgrade(&function)));
        function
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Invokes the function with a JSON payload and waits for its response,
    /// starting an instance when none is free and the concurrency limit allows.
    /// Beyond the function's concurrency an invocation is throttled at once, as Lambda does.
    pub async fn invoke(self: &Arc<Self>, payload: Bytes) -> Result<Bytes, InvokeError> {
        self.invoke_for(payload, None).await
    }

    /// Invokes for an owner (a connection): if it leaves while this waits in
    /// the queue, the invocation is let go unstarted.
    pub async fn invoke_for(
        self: &Arc<Self>,
        payload: Bytes,
        owner: Option<Arc<super::Owner>>,
    ) -> Result<Bytes, InvokeError> {
        let started = Instant::now();
        let (reply, result) = oneshot::channel();
        let result = match self.pool.submit(payload, reply, owner) {
            Ok(()) => {
                self.rebalance();
                // The sender is dropped only if the invocation is lost in a shutdown.
                result.await.unwrap_or(Err(InvokeError::ShuttingDown))
            }
            Err(Refused::Closed) => Err(InvokeError::ShuttingDown),
            Err(Refused::Throttled) => Err(self.throttled()),
            Err(Refused::Gone) => Err(InvokeError::Abandoned),
        };
        self.counts.record(&result, started);
        result
    }

    /// The function's code changed: the next invocation goes to a fresh
    /// instance. Idle instances stop now; busy ones finish their invocation
    /// first. Nothing queued is lost: it waits for the fresh instance.
    pub fn reload(self: &Arc<Self>, why: &str) {
        let stop = self.pool.retire_all();
        self.reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            "[{}] {why}: the next invocation starts a fresh instance",
            self.name()
        );
        for id in stop {
            if let Some(instance) = self.live.lock().unwrap().get(&id) {
                instance.terminate(KillReason::Reaped);
            }
        }
        self.rebalance();
    }

    /// Counts a throttled invocation; a flood logs one line a second, not one per message.
    fn throttled(&self) -> InvokeError {
        let count = self.throttles.fetch_add(1, Ordering::Relaxed) + 1;
        let second = self.born.elapsed().as_secs() + 1;
        if self.throttle_logged.swap(second, Ordering::Relaxed) != second {
            tracing::warn!(
                "[{}] throttled: {} invocations in flight is its limit ({count} throttled so far)",
                self.name(),
                self.spec.concurrency_limit()
            );
        }
        InvokeError::Throttled {
            limit: self.spec.concurrency_limit(),
            reserved: self.spec.reserved_concurrency.is_some(),
        }
    }

    /// Invocations waiting or running now.
    /// Lets go of queued invocations nobody waits for (their connection
    /// closed, their caller gave up); returns how many.
    pub fn drop_abandoned(&self) -> usize {
        self.pool.purge_abandoned()
    }

    /// How many times its code changed under it (`--watch`).
    pub fn reloads(&self) -> usize {
        self.reloads.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> usize {
        self.pool.in_flight()
    }

    /// Starts and stops instances as the pool decides.
    fn rebalance(self: &Arc<Self>) {
        let changes = self.pool.rebalance();
        for id in changes.stop {
            if let Some(instance) = self.live.lock().unwrap().get(&id) {
                tracing::info!(
                    "[{}] instance {id} idle for {:?}: stopped",
                    self.name(),
                    self.spec.keep_warm
                );
                instance.terminate(KillReason::Reaped);
            }
        }
        if changes.start.is_empty() {
            return;
        }
        let mut tasks = self.tasks.lock().unwrap();
        while tasks.try_join_next().is_some() {}
        for id in changes.start {
            self.counts.cold_starts.inc();
            let instance = Instance::new(
                id,
                self.spec.clone(),
                self.pool.clone(),
                self.metrics.clone(),
            );
            self.live.lock().unwrap().insert(id, instance.clone());
            tasks.spawn(self.clone().run(instance));
        }
    }

    /// Runs one instance from spawn to end, then settles what it left.
    async fn run(self: Arc<Self>, instance: Arc<Instance>) {
        let name = self.name().to_string();
        let router = runtime_api::router(instance.clone());
        let held = Arc::downgrade(&instance);
        let current: process::CurrentRequest =
            Arc::new(move || held.upgrade().and_then(|i| i.request_id()));
        let journal = self.metrics.clone();
        let outcome = match process::start(&self.spec, instance.id, router, current, journal).await
        {
            Ok(mut running) => {
                instance.set_pid(running.pid);
                let status = tokio::select! {
                    status = running.child.wait() => status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                    _ = instance.killed() => {
                        let _ = running.child.kill().await;
                        "killed".to_string()
                    }
                };
                process::kill_group(running.pid);
                process::kill_marked(&running.marker);
                running.server.abort();
                Ok(status)
            }
            Err(e) => Err(e),
        };
        let ending = instance.ending();
        let error = match (&outcome, ending.reason) {
            (Err(e), _) => InvokeError::Spawn(e.clone()),
            (_, Some(KillReason::Timeout)) => InvokeError::Timeout(self.spec.timeout.as_secs_f64()),
            (_, Some(KillReason::Shutdown | KillReason::Reaped)) => InvokeError::ShuttingDown,
            (Ok(status), _) if !ending.initialised => InvokeError::Init(status.clone()),
            (Ok(status), _) => InvokeError::Exited(status.clone()),
        };
        let quiet = matches!(
            ending.reason,
            Some(KillReason::Shutdown | KillReason::Reaped)
        );
        match &outcome {
            Err(e) => tracing::error!("[{name}] cannot start: {e}"),
            Ok(_) if quiet => {}
            Ok(status) => tracing::warn!(
                "[{name}] instance {} ended ({status}): {error}",
                instance.id
            ),
        }
        if let Some(held) = ending.held {
            instance.fail(held, error);
        } else if !ending.initialised && !quiet {
            // An instance that never asked for work fails the invocation that started it,
            // so a broken function errors instead of leaving its queue waiting forever.
            if let Some(invocation) = self.pool.take_waiting() {
                let _ = invocation.reply.send(Err(error));
            }
        }
        self.pool.gone(instance.id);
        self.live.lock().unwrap().remove(&instance.id);
        // Work may be waiting for the slot this instance held.
        self.rebalance();
    }

    /// Fails queued work, stops every instance and waits for their processes to end.
    pub async fn shutdown(&self) {
        let (waiting, ids) = self.pool.close();
        for invocation in waiting {
            let _ = invocation.reply.send(Err(InvokeError::ShuttingDown));
        }
        for id in ids {
            if let Some(instance) = self.live.lock().unwrap().get(&id) {
                instance.terminate(KillReason::Shutdown);
            }
        }
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        while tasks.join_next().await.is_some() {}
    }

    /// Processes alive now (for tests and logs).
    pub fn instance_count(&self) -> usize {
        self.pool.instance_count()
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

/// Stops instances idle past the keep-warm time, while the function lives.
async fn reap(function: Weak<Function>) {
    let period = function
        .upgrade()
        .map(|f| (f.spec.keep_warm / 2).clamp(Duration::from_millis(100), Duration::from_secs(30)))
        .unwrap_or_default();
    loop {
        tokio::time::sleep(period).await;
        match function.upgrade() {
            Some(f) if !f.pool.is_closed() => f.rebalance(),
            _ => return,
        }
    }
}

/// This function's counters, made once: an invocation touches no label map.
struct Counts {
    success: Counter,
    error: Counter,
    timeout: Counter,
    crash: Counter,
    throttled: Counter,
    failed: Counter,
    seconds: Histogram,
    cold_starts: Counter,
    /// Let go unstarted: the connection they were for closed.
    dropped: Counter,
}

impl Counts {
    fn new(metrics: &Metrics, name: &str) -> Self {
        let outcome = |outcome: &str| {
            metrics
                .invocations
                .get_or_create(&OutcomeLabels {
                    function: name.to_string(),
                    outcome: outcome.to_string(),
                })
                .clone()
        };
        let function = FunctionLabel {
            function: name.to_string(),
        };
        Self {
            success: outcome("success"),
            error: outcome("error"),
            timeout: outcome("timeout"),
            crash: outcome("crash"),
            throttled: outcome("throttled"),
            failed: outcome("failed"),
            dropped: outcome("dropped"),
            seconds: metrics.invocation_seconds.get_or_create(&function).clone(),
            cold_starts: metrics.cold_starts.get_or_create(&function).clone(),
        }
    }

    fn record(&self, result: &Result<Bytes, InvokeError>, started: Instant) {
        let counter = match result {
            Ok(_) => &self.success,
            Err(InvokeError::Function { .. }) => &self.error,
            Err(InvokeError::Timeout(_)) => &self.timeout,
            Err(InvokeError::Exited(_) | InvokeError::Init(_)) => &self.crash,
            // Never started: no duration to observe.
            Err(InvokeError::Throttled { .. }) => {
                self.throttled.inc();
                return;
            }
            Err(InvokeError::Spawn(_) | InvokeError::ShuttingDown) => &self.failed,
            // Never started either.
            Err(InvokeError::Abandoned) => {
                self.dropped.inc();
                return;
            }
        };
        counter.inc();
        self.seconds.observe(started.elapsed().as_secs_f64());
    }
}
