//! What hyper does not keep of a client's request head, and API Gateway passes
//! on: the header names as the client spelled them (hyper lower-cases them;
//! `token: x` must reach `$connect` as `token`, not `Token`), and how the
//! client came: over TLS or not, to which port (`X-Forwarded-Proto` / `-Port`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A head bigger than this is not recorded; its names fall back to a usual spelling.
const MAX_HEAD: usize = 16 * 1024;

/// The bytes of a connection's first request head, as they arrive.
#[derive(Clone, Default)]
pub struct RawHead(Arc<Recording>);

#[derive(Default)]
struct Recording {
    /// Set once the head is whole (or too big): later reads cost one atomic load.
    done: AtomicBool,
    bytes: Mutex<Vec<u8>>,
}

impl RawHead {
    /// Called with what each read brought, until the head is whole.
    pub fn record(&self, read: &[u8]) {
        if read.is_empty() || self.0.done.load(Ordering::Relaxed) {
            return;
        }
        let mut bytes = self.0.bytes.lock().unwrap();
        bytes.extend_from_slice(read);
        if bytes.windows(4).any(|w| w == b"\r\n\r\n") || bytes.len() > MAX_HEAD {
            self.0.done.store(true, Ordering::Relaxed);
        }
    }

    /// The header names in the order they came, spelled as sent; the bytes are
    /// let go (a connection's later requests get none).
    pub fn take_names(&self) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.0.bytes.lock().unwrap());
        self.0.done.store(true, Ordering::Relaxed);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Vec::new();
        };
        String::from_utf8_lossy(&bytes[..end])
            .split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(name, _)| name.trim().to_string())
            .collect()
    }
}

/// What a request knows of its client beyond hyper's parts (a request extension).
#[derive(Clone, Debug, Default)]
pub struct ClientHead {
    /// Header names as spelled, in arrival order (empty when not recorded).
    pub names: Vec<String>,
    pub tls: bool,
    /// The gateway's port the client connected to.
    pub port: u16,
}

impl ClientHead {
    /// The client's spelling of a header name hyper gives lower-cased.
    pub fn spelling(&self, lower: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(lower))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_spelling_across_reads() {
        let head = RawHead::default();
        head.record(b"GET /dev HTTP/1.1\r\nHost: x\r\ntoken: a\r\nSec-WebSocket-Key");
        head.record(b": k\r\nX-Custom-ID: 1\r\n\r\nbody");
        head.record(b"more: not a header\r\n\r\n");
        let names = head.take_names();
        assert_eq!(names, ["Host", "token", "Sec-WebSocket-Key", "X-Custom-ID"]);
        assert!(head.take_names().is_empty());
        let client = ClientHead {
            names,
            ..Default::default()
        };
        assert_eq!(client.spelling("x-custom-id"), Some("X-Custom-ID"));
        assert_eq!(client.spelling("missing"), None);
    }
}
