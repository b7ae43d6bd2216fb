//! A function's waiting invocations, taken round-robin across their owners.
//!
//! On AWS each caller's work would get an execution environment of its own;
//! here a function has a few processes, so when they are all busy, one
//! connection's flood must not starve everyone else. Each owner (a connection,
//! an SQS event source; `None` for callers without one) has a lane kept in
//! arrival order, and lanes take turns: a client with 2 000 queued messages
//! and a client with one are served one each in turn.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;

use super::invocation::Invocation;

#[derive(Default)]
struct Lanes {
    /// Waiting invocations per owner (keyed by the owner's address; 0 for none).
    lanes: HashMap<usize, VecDeque<Invocation>>,
    /// Whose turn it is: each owner with waiting work, once.
    turns: VecDeque<usize>,
    len: usize,
    closed: bool,
}

impl Lanes {
    fn push(&mut self, invocation: Invocation, front: bool) {
        let key = lane_of(&invocation);
        let lane = self.lanes.entry(key).or_insert_with(|| {
            self.turns.push_back(key);
            VecDeque::new()
        });
        if front {
            lane.push_front(invocation);
        } else {
            lane.push_back(invocation);
        }
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Invocation> {
        let key = self.turns.pop_front()?;
        let lane = self.lanes.get_mut(&key).expect("a turn has its lane");
        let invocation = lane.pop_front().expect("a lane in turn is never empty");
        if lane.is_empty() {
            self.lanes.remove(&key);
        } else {
            self.turns.push_back(key);
        }
        self.len -= 1;
        Some(invocation)
    }
}

fn lane_of(invocation: &Invocation) -> usize {
    invocation
        .owner
        .as_ref()
        .map_or(0, |o| std::sync::Arc::as_ptr(o) as usize)
}

/// Unbounded (admission bounds what waits), closable, awaited by instances.
#[derive(Default)]
pub(super) struct FairQueue {
    lanes: Mutex<Lanes>,
    ready: Notify,
}

/// Why an invocation was not queued.
pub(super) enum NotQueued {
    /// The queue takes no more (the function is shutting down).
    Closed,
    /// The connection it is for has left; the invocation comes back to be counted.
    Gone(Invocation),
}

impl FairQueue {
    /// Queues at the back of its owner's lane, unless the queue is closed or
    /// the owner has left. The owner is looked at under the queue's lock: a
    /// connection leaves, then has its work removed under that lock, so work
    /// admitted while it left is either refused here or removed with the rest.
    pub fn push(&self, invocation: Invocation) -> Result<(), NotQueued> {
        {
            let mut lanes = self.lanes.lock().unwrap();
            if lanes.closed {
                return Err(NotQueued::Closed);
            }
            if invocation.owner.as_ref().is_some_and(|o| o.is_gone()) {
                return Err(NotQueued::Gone(invocation));
            }
            lanes.push(invocation, false);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Queues at the front of its owner's lane (work taken and given back; if
    /// its owner left meanwhile, the next pop lets it go); gives it back when closed.
    pub fn push_front(&self, invocation: Invocation) -> Result<(), Invocation> {
        {
            let mut lanes = self.lanes.lock().unwrap();
            if lanes.closed {
                return Err(invocation);
            }
            lanes.push(invocation, true);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// The next invocation in turn, if any waits.
    pub fn try_pop(&self) -> Option<Invocation> {
        self.lanes.lock().unwrap().pop()
    }

    /// Waits for the next invocation in turn; None once closed.
    pub async fn pop(&self) -> Option<Invocation> {
        loop {
            // Registered before looking, so a push in between is not missed.
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut lanes = self.lanes.lock().unwrap();
                if let Some(invocation) = lanes.pop() {
                    return Some(invocation);
                }
                if lanes.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Removes every waiting invocation `drop_it` picks; the rest keep their
    /// lanes and order. Returns those removed.
    pub fn remove_where(&self, drop_it: impl Fn(&Invocation) -> bool) -> Vec<Invocation> {
        let mut lanes = self.lanes.lock().unwrap();
        let Lanes {
            lanes: map,
            turns,
            len,
            ..
        } = &mut *lanes;
        let mut removed = Vec::new();
        for lane in map.values_mut() {
            let kept: VecDeque<Invocation> = lane
                .drain(..)
                .filter_map(|i| {
                    if drop_it(&i) {
                        removed.push(i);
                        None
                    } else {
                        Some(i)
                    }
                })
                .collect();
            *lane = kept;
        }
        map.retain(|_, lane| !lane.is_empty());
        turns.retain(|key| map.contains_key(key));
        *len -= removed.len();
        removed
    }

    /// Invocations waiting now.
    pub fn len(&self) -> usize {
        self.lanes.lock().unwrap().len
    }

    /// Takes no more; wakes every waiter and returns what was waiting.
    pub fn close(&self) -> Vec<Invocation> {
        let mut lanes = self.lanes.lock().unwrap();
        lanes.closed = true;
        let waiting = std::iter::from_fn(|| lanes.pop()).collect();
        drop(lanes);
        self.ready.notify_waiters();
        waiting
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use tokio::sync::oneshot;

    use super::*;
    use crate::lambda::Owner;

    fn invocation(owner: Option<&Arc<Owner>>, n: u8) -> Invocation {
        let (reply, _) = oneshot::channel();
        Invocation {
            payload: Bytes::from(vec![n]),
            reply,
            permit: super::super::invocation::Permit::detached(),
            owner: owner.cloned(),
        }
    }

    fn order(queue: &FairQueue) -> Vec<u8> {
        std::iter::from_fn(|| queue.try_pop())
            .map(|i| i.payload[0])
            .collect()
    }

    #[test]
    fn owners_take_turns_and_each_keeps_its_order() {
        let queue = FairQueue::default();
        let (flood, other) = (Arc::new(Owner::default()), Arc::new(Owner::default()));
        for n in 1..=4 {
            queue.push(invocation(Some(&flood), n)).ok().unwrap();
        }
        queue.push(invocation(Some(&other), 10)).ok().unwrap();
        queue.push(invocation(None, 20)).ok().unwrap();
        queue.push(invocation(Some(&other), 11)).ok().unwrap();
        assert_eq!(queue.len(), 7);
        // The flood came first, yet the others are served after one of its own.
        assert_eq!(order(&queue), vec![1, 10, 20, 2, 11, 3, 4]);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn removed_work_leaves_the_rest_in_turn() {
        let queue = FairQueue::default();
        let (a, b) = (Arc::new(Owner::default()), Arc::new(Owner::default()));
        for n in 1..=3 {
            queue.push(invocation(Some(&a), n)).ok().unwrap();
            queue.push(invocation(Some(&b), 10 + n)).ok().unwrap();
        }
        let removed = queue.remove_where(|i| i.owner.as_ref().is_some_and(|o| Arc::ptr_eq(o, &a)));
        assert_eq!(removed.len(), 3);
        assert_eq!(queue.len(), 3);
        queue.push_front(invocation(Some(&b), 10)).ok().unwrap();
        assert_eq!(order(&queue), vec![10, 11, 12, 13]);
    }

    #[test]
    fn a_gone_owners_work_is_not_queued() {
        let queue = FairQueue::default();
        let owner = Arc::new(Owner::default());
        queue.push(invocation(Some(&owner), 1)).ok().unwrap();
        owner.leave();
        assert!(matches!(
            queue.push(invocation(Some(&owner), 2)),
            Err(NotQueued::Gone(_))
        ));
        assert_eq!(
            queue.len(),
            1,
            "what came before it left stays for the purge"
        );
    }

    #[tokio::test]
    async fn a_waiting_taker_is_woken_by_work_and_by_close() {
        let queue = Arc::new(FairQueue::default());
        let taker = tokio::spawn({
            let queue = queue.clone();
            async move { queue.pop().await.map(|i| i.payload[0]) }
        });
        tokio::task::yield_now().await;
        queue.push(invocation(None, 7)).ok().unwrap();
        assert_eq!(taker.await.unwrap(), Some(7));
        let taker = tokio::spawn({
            let queue = queue.clone();
            async move { queue.pop().await.is_none() }
        });
        tokio::task::yield_now().await;
        assert!(queue.close().is_empty());
        assert!(taker.await.unwrap(), "closed: no more work");
        assert!(matches!(
            queue.push(invocation(None, 8)),
            Err(NotQueued::Closed)
        ));
    }
}
