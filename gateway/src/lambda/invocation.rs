//! One invocation as it waits and runs: what it carries, whose it is, and its
//! place among the function's invocations in flight. The pool and its queue
//! both hold invocations; neither owns the type.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::InvokeError;

/// An invocation waiting for, or held by, an instance; its answer goes back
/// through `reply` to the caller of `Function::invoke`.
pub(super) struct Invocation {
    pub payload: Bytes,
    pub reply: oneshot::Sender<Result<Bytes, InvokeError>>,
    /// Its place among the invocations in flight, given back when it is dropped.
    pub permit: Permit,
    /// Who it is for (a WebSocket connection): once gone, it is never started.
    pub owner: Option<Arc<Owner>>,
}

impl Invocation {
    /// Nobody will read its answer: the caller gave up, or the connection it is for closed.
    pub(super) fn abandoned(&self) -> bool {
        self.reply.is_closed() || self.owner.as_ref().is_some_and(|o| o.is_gone())
    }

    /// Let go without starting; a gone owner counts it.
    pub(super) fn drop_unstarted(self) {
        if let Some(owner) = &self.owner {
            owner.count_dropped();
        }
        let _ = self.reply.send(Err(InvokeError::Abandoned));
    }
}

/// Whose invocations they are: a connection, which may leave while its work waits.
#[derive(Debug, Default)]
pub struct Owner {
    gone: std::sync::atomic::AtomicBool,
    /// Invocations let go unstarted because the owner had gone.
    dropped: AtomicUsize,
}

impl Owner {
    pub fn leave(&self) {
        self.gone.store(true, Ordering::Release);
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// One more of its invocations let go unstarted.
    pub(super) fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// How many of its invocations were let go so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// One invocation counted against the function's concurrency, from admission
/// until its answer is sent or it is dropped.
pub(super) struct Permit(Arc<AtomicUsize>);

impl Permit {
    /// The place the caller has just added to `counter`; given back when dropped.
    pub(super) fn counted_on(counter: Arc<AtomicUsize>) -> Self {
        Self(counter)
    }
}

#[cfg(test)]
impl Permit {
    /// A permit counted nowhere else, for tests of the queue alone.
    pub fn detached() -> Self {
        Self(Arc::new(AtomicUsize::new(1)))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
