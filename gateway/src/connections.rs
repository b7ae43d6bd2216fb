//! The open connections, by id, and the channel into each one's session: the
//! last hop of a message's life. A reply, a push from `@connections` or a close
//! is queued here as an [`Outbound`] and written to the socket by the session
//! that owns it (`websocket/session.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};

use crate::apigw::events::{ConnectionInfo, now_ms};

/// Close codes and the reasons API Gateway reports for them in `$disconnect`.
pub mod close {
    pub const NORMAL: (u16, &str) = (1000, "Connection Closed Normally");
    pub const GOING_AWAY: (u16, &str) = (1001, "Going away");
    pub const UNSUPPORTED: (u16, &str) = (1003, "Binary frames are not supported");
    pub const NO_STATUS: (u16, &str) = (1005, "Client-side close frame status not set");
    pub const ABNORMAL: (u16, &str) = (1006, "Connection was closed abnormally");
    pub const TOO_BIG: (u16, &str) = (1009, "Message too big");
    /// `DELETE @connections/{id}` closes as a normal close.
    pub const DELETED: (u16, &str) = NORMAL;
}

/// What the gateway asks a connection's session to do.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Binary(Bytes),
    /// Close with this code; the reason is sent to the client and to `$disconnect`.
    Close {
        code: u16,
        reason: String,
    },
}

pub struct Connection {
    pub info: Arc<ConnectionInfo>,
    /// Boxed: the channel allocates its slots up front, and 8-byte slots keep an
    /// idle connection small.
    tx: mpsc::Sender<Box<Outbound>>,
    last_active_ms: AtomicI64,
    /// Set when the client stopped reading: its session ends, sends fail.
    dead: AtomicBool,
    /// Wakes the session to end it (inline, no allocation: idle sockets stay small).
    wake: Notify,
    /// Frames and bytes both ways, for the inspector.
    pub traffic: Traffic,
    /// Its messages' invocations: when it closes, those still queued are let go.
    pub owner: Arc<crate::lambda::Owner>,
}

/// A connection's frames and bytes in (from the client) and out.
#[derive(Default)]
pub struct Traffic {
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

impl Traffic {
    pub fn inbound(&self, bytes: usize) {
        self.frames_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn outbound(&self, bytes: usize) {
        self.frames_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// How long a send may wait for room in a connection's queue. A client whose
/// queue stays full is not reading: it is closed as dead, as a POST must not hang.
const SEND_WAIT: Duration = Duration::from_secs(3);

impl Connection {
    pub fn new(info: Arc<ConnectionInfo>, tx: mpsc::Sender<Box<Outbound>>) -> Self {
        let last = info.connected_at_ms;
        Self {
            info,
            tx,
            last_active_ms: AtomicI64::new(last),
            dead: AtomicBool::new(false),
            wake: Notify::new(),
            traffic: Traffic::default(),
            owner: Arc::default(),
        }
    }

    /// Marks the connection active now (a frame from the client).
    pub fn touch(&self) {
        self.last_active_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn last_active_ms(&self) -> i64 {
        self.last_active_ms.load(Ordering::Relaxed)
    }

    /// Queues a frame; false when the connection is closing, or stopped reading
    /// (its queue stayed full for `SEND_WAIT`: it is then closed as dead).
    pub async fn send(&self, message: Outbound) -> bool {
        if self.dead.load(Ordering::Acquire) {
            return false;
        }
        // Room in the queue is the usual case: no timer for it.
        let message = match self.tx.try_send(Box::new(message)) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(message)) => message,
        };
        match tokio::time::timeout(SEND_WAIT, self.tx.send(message)).await {
            Ok(sent) => sent.is_ok(),
            Err(_) => {
                tracing::warn!(connection = %self.info.connection_id, "the client stopped reading: closing it");
                self.dead.store(true, Ordering::Release);
                self.wake.notify_one();
                false
            }
        }
    }

    /// Resolves when the connection was found dead; its session ends then.
    pub async fn died(&self) {
        self.wake.notified().await
    }
}

/// Every open connection, by id.
#[derive(Default)]
pub struct Connections {
    connections: Mutex<HashMap<String, Arc<Connection>>>,
}

impl Connections {
    pub fn insert(&self, connection: Arc<Connection>) {
        let id = connection.info.connection_id.clone();
        self.connections.lock().unwrap().insert(id, connection);
    }

    pub fn remove(&self, id: &str) {
        self.connections.lock().unwrap().remove(id);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Connection>> {
        self.connections.lock().unwrap().get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    /// Every open connection, at most `limit` of them.
    pub fn list(&self, limit: usize) -> Vec<Arc<Connection>> {
        self.connections
            .lock()
            .unwrap()
            .values()
            .take(limit)
            .cloned()
            .collect()
    }
}
