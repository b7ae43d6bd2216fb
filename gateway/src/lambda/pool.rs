//! A function's invocation queue and the states of its instances. Every change
//! of state happens here, under one lock; how many instances to start and
//! which to stop is [`plan`], a pure function of those states.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::InvokeError;
use super::invocation::{Invocation, Owner, Permit};
use super::queue::{FairQueue, NotQueued};

/// Why an invocation was not queued.
pub(super) enum Refused {
    /// As many invocations as the function's concurrency allows are in flight.
    Throttled,
    Closed,
    /// The connection it was for has closed.
    Gone,
}

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum InstanceState {
    /// Spawned; has not asked for work yet.
    Starting,
    /// Waiting in `/next` since then.
    Idle { since: Instant },
    /// Holds an invocation.
    Busy,
    /// Answered and on its way back to `/next`: about to be free, so no new
    /// process is started for the work it will take.
    Returning,
    /// Being stopped (idle too long, or shutdown): takes no more work.
    Stopping,
}

/// What to do now: start this many instances, stop these.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Plan {
    pub start: usize,
    pub stop: Vec<u64>,
}

/// The scaling decision. Starts instances while waiting work outnumbers the
/// instances that are or will soon be free, up to `max` processes in all
/// (stopping ones count: their processes still run). Stops instances idle for
/// `keep_warm` or longer, but only while nothing waits.
pub(super) fn plan(
    states: &BTreeMap<u64, InstanceState>,
    waiting: usize,
    max: usize,
    keep_warm: Duration,
    now: Instant,
) -> Plan {
    let free = states
        .values()
        .filter(|s| {
            matches!(
                s,
                InstanceState::Starting | InstanceState::Idle { .. } | InstanceState::Returning
            )
        })
        .count();
    let start = waiting
        .saturating_sub(free)
        .min(max.saturating_sub(states.len()));
    let stop = if waiting == 0 {
        states
            .iter()
            .filter(|(_, s)| {
                matches!(s, InstanceState::Idle { since } if now.duration_since(*since) >= keep_warm)
            })
            .map(|(id, _)| *id)
            .collect()
    } else {
        Vec::new()
    };
    Plan { start, stop }
}

#[derive(Default)]
struct Board {
    states: BTreeMap<u64, InstanceState>,
    next_id: u64,
    closed: bool,
    /// Instances up to this id run old code: they take no more work.
    retired_through: u64,
}

pub(super) struct Pool {
    /// Waiting invocations, taken round-robin across their owners.
    queue: FairQueue,
    board: Mutex<Board>,
    max: usize,
    /// Invocations waiting or running at most; beyond it Lambda throttles.
    limit: usize,
    in_flight: Arc<AtomicUsize>,
    keep_warm: Duration,
}

/// Ids of the instances to start and to stop, already entered as Starting / Stopping.
#[derive(Debug, Default)]
pub(super) struct Changes {
    pub start: Vec<u64>,
    pub stop: Vec<u64>,
}

impl Pool {
    /// A pool of at most `max` processes, taking at most `limit` invocations
    /// in flight (waiting or running).
    pub fn new(max: usize, limit: usize, keep_warm: Duration) -> Self {
        Self {
            queue: FairQueue::default(),
            board: Mutex::default(),
            max,
            limit,
            in_flight: Arc::default(),
            keep_warm,
        }
    }

    /// Admits an invocation within the concurrency limit and queues it.
    pub fn submit(
        &self,
        payload: Bytes,
        reply: oneshot::Sender<Result<Bytes, InvokeError>>,
        owner: Option<Arc<Owner>>,
    ) -> Result<(), Refused> {
        if let Some(owner) = owner.as_ref().filter(|o| o.is_gone()) {
            owner.count_dropped();
            return Err(Refused::Gone);
        }
        let permit = match self.admit() {
            Some(permit) => permit,
            None => {
                // Work whose callers gave up still holds places: let it go, then look again.
                self.purge_abandoned();
                self.admit().ok_or(Refused::Throttled)?
            }
        };
        let invocation = Invocation {
            payload,
            reply,
            permit,
            owner,
        };
        match self.queue.push(invocation) {
            Ok(()) => Ok(()),
            Err(NotQueued::Closed) => Err(Refused::Closed),
            // It left while this was admitted.
            Err(NotQueued::Gone(invocation)) => {
                invocation.drop_unstarted();
                Err(Refused::Gone)
            }
        }
    }

    fn admit(&self) -> Option<Permit> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Permit::counted_on(self.in_flight.clone());
        (before < self.limit).then_some(permit)
    }

    /// Drops queued work nobody waits for any more; the rest keeps its order.
    /// Returns how many were dropped.
    pub fn purge_abandoned(&self) -> usize {
        let dropped = self.queue.remove_where(Invocation::abandoned);
        let count = dropped.len();
        dropped.into_iter().for_each(Invocation::drop_unstarted);
        count
    }

    /// Invocations waiting or running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Decides, and records the decision: new instances as Starting, the ones
    /// to stop as Stopping.
    pub fn rebalance(&self) -> Changes {
        let mut board = self.board.lock().unwrap();
        if board.closed {
            return Changes::default();
        }
        let plan = plan(
            &board.states,
            self.queue.len(),
            self.max,
            self.keep_warm,
            Instant::now(),
        );
        let mut changes = Changes::default();
        for _ in 0..plan.start {
            board.next_id += 1;
            let id = board.next_id;
            board.states.insert(id, InstanceState::Starting);
            changes.start.push(id);
        }
        for id in plan.stop {
            board.states.insert(id, InstanceState::Stopping);
            changes.stop.push(id);
        }
        changes
    }

    fn set(&self, id: u64, state: InstanceState) -> bool {
        let mut board = self.board.lock().unwrap();
        let retired = id <= board.retired_through;
        match board.states.get_mut(&id) {
            // Old code asking for work: it is stopped instead.
            Some(s) if retired && matches!(state, InstanceState::Idle { .. }) => {
                *s = InstanceState::Stopping;
                false
            }
            Some(s) if *s != InstanceState::Stopping => {
                *s = state;
                true
            }
            _ => false,
        }
    }

    /// An instance asks for work: idle until an invocation comes, then busy.
    /// None when the instance is being stopped or the pool is closed.
    pub async fn next(&self, id: u64) -> Option<Invocation> {
        if !self.set(
            id,
            InstanceState::Idle {
                since: Instant::now(),
            },
        ) {
            return None;
        }
        // An invocation whose caller gave up (timed out, went away) is never
        // started: nobody would read its answer.
        let invocation = loop {
            let invocation = self.queue.pop().await?;
            if !invocation.abandoned() {
                break invocation;
            }
            invocation.drop_unstarted();
        };
        if self.set(id, InstanceState::Busy) {
            return Some(invocation);
        }
        // Stopped while it waited: the work goes back, first in its lane, for another instance.
        if let Err(invocation) = self.queue.push_front(invocation) {
            let _ = invocation.reply.send(Err(InvokeError::ShuttingDown));
        }
        None
    }

    /// The function's code changed: every instance now running takes no more
    /// work. Returns the ones to stop now (not holding an invocation); busy
    /// ones finish theirs first and are stopped when they ask for more.
    pub fn retire_all(&self) -> Vec<u64> {
        let mut board = self.board.lock().unwrap();
        board.retired_through = board.next_id;
        let mut stop = Vec::new();
        for (id, s) in board.states.iter_mut() {
            if matches!(s, InstanceState::Starting | InstanceState::Idle { .. }) {
                *s = InstanceState::Stopping;
                stop.push(*id);
            }
        }
        stop
    }

    /// The instance answered its invocation.
    pub fn answered(&self, id: u64) {
        self.set(id, InstanceState::Returning);
    }

    /// The instance's process ended.
    pub fn gone(&self, id: u64) {
        self.board.lock().unwrap().states.remove(&id);
    }

    /// The oldest waiting invocation, to fail when an instance cannot start,
    /// so a broken function errors instead of leaving its queue waiting forever.
    pub fn take_waiting(&self) -> Option<Invocation> {
        self.queue.try_pop()
    }

    /// Takes no more work; returns what was waiting, and the instances to stop.
    pub fn close(&self) -> (Vec<Invocation>, Vec<u64>) {
        let mut board = self.board.lock().unwrap();
        board.closed = true;
        let waiting = self.queue.close();
        let ids = board.states.keys().copied().collect();
        for s in board.states.values_mut() {
            *s = InstanceState::Stopping;
        }
        (waiting, ids)
    }

    pub fn is_closed(&self) -> bool {
        self.board.lock().unwrap().closed
    }

    /// Processes alive now.
    pub fn instance_count(&self) -> usize {
        self.board.lock().unwrap().states.len()
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceState::*;
    use super::*;

    const WARM: Duration = Duration::from_secs(600);

    fn states(list: &[InstanceState]) -> BTreeMap<u64, InstanceState> {
        list.iter()
            .enumerate()
            .map(|(i, s)| (i as u64 + 1, *s))
            .collect()
    }

    fn starts(list: &[InstanceState], waiting: usize, max: usize) -> usize {
        plan(&states(list), waiting, max, WARM, Instant::now()).start
    }

    #[test]
    fn a_burst_starts_instances_up_to_the_limit() {
        assert_eq!(starts(&[], 1, 4), 1);
        assert_eq!(starts(&[], 10, 4), 4);
        // Those already starting will take work too.
        assert_eq!(starts(&[Starting, Starting], 3, 10), 1);
        assert_eq!(starts(&[Busy, Busy, Busy, Busy], 5, 4), 0);
        assert_eq!(starts(&[], 0, 4), 0);
    }

    #[test]
    fn free_and_returning_instances_take_the_work() {
        let now = Instant::now();
        assert_eq!(starts(&[Idle { since: now }], 1, 4), 0);
        // One that just answered is about to ask again: sequential calls reuse it.
        assert_eq!(starts(&[Returning], 1, 4), 0);
        assert_eq!(starts(&[Returning, Busy], 2, 4), 1);
    }

    #[test]
    fn a_crash_or_a_timeout_frees_a_slot_for_a_fresh_instance() {
        // Four busy, one of them crashes or times out: it leaves the board.
        assert_eq!(starts(&[Busy, Busy, Busy, Busy], 2, 4), 0);
        assert_eq!(starts(&[Busy, Busy, Busy], 2, 4), 1);
        // An instance being killed still holds its slot until its process is gone.
        assert_eq!(starts(&[Busy, Busy, Busy, Stopping], 2, 4), 0);
    }

    #[test]
    fn idle_instances_are_reaped_after_keep_warm_while_nothing_waits() {
        let now = Instant::now();
        let old = now - WARM - Duration::from_secs(1);
        let list = states(&[Idle { since: old }, Idle { since: now }, Busy]);
        assert_eq!(plan(&list, 0, 4, WARM, now).stop, vec![1]);
        // Work waiting: every idle instance is about to be used.
        assert_eq!(plan(&list, 1, 4, WARM, now).stop, Vec::<u64>::new());
        assert_eq!(plan(&states(&[Busy]), 0, 4, WARM, now), Plan::default());
    }

    type Answer = oneshot::Receiver<Result<Bytes, InvokeError>>;

    /// Submits an invocation; its caller waits while the receiver lives.
    fn submit(pool: &Pool) -> (bool, Answer) {
        let (reply, rx) = oneshot::channel();
        let ok = pool.submit(Bytes::from_static(b"{}"), reply, None).is_ok();
        (ok, rx)
    }

    #[tokio::test]
    async fn the_pool_records_each_step() {
        let pool = Pool::new(2, 1000, WARM);
        // Callers that wait: their receivers stay alive.
        let (ok, _a) = submit(&pool);
        assert!(ok);
        let changes = pool.rebalance();
        assert_eq!(changes.start, vec![1]);
        assert!(pool.next(1).await.is_some());
        // Busy, and the queue is empty: nothing more to start.
        assert!(pool.rebalance().start.is_empty());
        pool.answered(1);
        let (ok, _b) = submit(&pool);
        assert!(ok);
        assert!(
            pool.rebalance().start.is_empty(),
            "a returning instance takes it"
        );
        pool.gone(1);
        assert_eq!(pool.rebalance().start, vec![2]);
        assert_eq!(pool.instance_count(), 1);
        let (waiting, ids) = pool.close();
        assert_eq!((waiting.len(), ids), (1, vec![2]));
        assert!(!submit(&pool).0);
        assert!(pool.next(2).await.is_none());
    }

    #[tokio::test]
    async fn work_whose_caller_gave_up_is_skipped() {
        let pool = Pool::new(1, 1000, WARM);
        let (ok, answer) = submit(&pool);
        drop(answer);
        let (ok2, _answer) = submit(&pool);
        assert!(ok && ok2);
        pool.rebalance();
        let taken = pool.next(1).await.unwrap();
        assert!(!taken.reply.is_closed(), "the one somebody waits for");
        assert_eq!(pool.queue.len(), 0);
    }

    #[tokio::test]
    async fn a_gone_owners_queued_work_is_never_started() {
        let pool = Pool::new(1, 1000, WARM);
        let owner = Arc::new(Owner::default());
        let submit_for = |owner: Option<Arc<Owner>>| {
            let (reply, rx) = oneshot::channel();
            (
                pool.submit(Bytes::from_static(b"{}"), reply, owner).is_ok(),
                rx,
            )
        };
        let (a, mut gone_a) = submit_for(Some(owner.clone()));
        let (b, _gone_b) = submit_for(Some(owner.clone()));
        let (c, _other) = submit_for(None);
        assert!(a && b && c);
        owner.leave();
        assert_eq!(pool.purge_abandoned(), 2, "both of the gone owner's");
        assert!(matches!(gone_a.try_recv(), Ok(Err(InvokeError::Abandoned))));
        assert!(!submit_for(Some(owner.clone())).0, "refused once gone");
        assert_eq!(owner.dropped(), 3);
        pool.rebalance();
        let taken = pool.next(1).await.unwrap();
        assert!(taken.owner.is_none(), "the other caller's work runs");
    }

    #[tokio::test]
    async fn beyond_the_limit_invocations_are_throttled_until_one_ends() {
        let pool = Pool::new(1, 2, WARM);
        let (a, answer_a) = submit(&pool);
        let (b, _answer_b) = submit(&pool);
        assert!(a && b);
        let (reply, _rx) = oneshot::channel();
        assert!(matches!(
            pool.submit(Bytes::new(), reply, None),
            Err(Refused::Throttled)
        ));
        assert_eq!(pool.in_flight(), 2);
        // A caller that gave up frees its place at once, even while queued.
        drop(answer_a);
        let (c, _answer_c) = submit(&pool);
        assert!(c);
        pool.rebalance();
        let held = pool.next(1).await.unwrap();
        assert_eq!(pool.in_flight(), 2, "running work still counts");
        drop(held);
        assert_eq!(pool.in_flight(), 1);
    }
}
