//! What just happened, for the inspector: the last frames both ways and the
//! last invocations with their log lines. Kept only while someone watches (the
//! inspector asked within the last 30 s), so a gateway nobody inspects pays one
//! atomic load per frame. Bounded: old entries fall off.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use serde::Serialize;

const FRAMES: usize = 500;
const INVOCATIONS: usize = 200;
const LINES_PER_INVOCATION: usize = 50;
/// A frame's text is kept up to this many bytes.
const FRAME_TEXT: usize = 2048;
/// How long a look at the inspector keeps the journal recording.
const WATCH_MS: i64 = 30_000;

#[derive(Clone, Serialize)]
pub struct Frame {
    pub at_ms: i64,
    pub connection: String,
    /// `in` (from the client) or `out` (to it).
    pub direction: &'static str,
    pub text: String,
}

#[derive(Clone, Serialize)]
pub struct Invocation {
    pub at_ms: i64,
    pub function: String,
    pub request_id: String,
    /// What invoked it: a route key, `sqs`, `authorizer`, `lambda`.
    pub trigger: String,
    pub duration_ms: f64,
    pub cold_start: bool,
    pub outcome: String,
    pub logs: Vec<String>,
}

#[derive(Default)]
pub struct Journal {
    /// Someone looked lately: only then is the clock read (frames are a hot path).
    on: AtomicBool,
    watched_until_ms: AtomicI64,
    frames: Mutex<VecDeque<Frame>>,
    invocations: Mutex<VecDeque<Invocation>>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Journal {
    /// Someone looks: record for the next 30 s.
    pub fn watched(&self) {
        self.watched_until_ms
            .store(now_ms() + WATCH_MS, Ordering::Relaxed);
        self.on.store(true, Ordering::Relaxed);
    }

    pub fn watching(&self) -> bool {
        if !self.on.load(Ordering::Relaxed) {
            return false;
        }
        let watching = self.watched_until_ms.load(Ordering::Relaxed) > now_ms();
        if !watching {
            self.on.store(false, Ordering::Relaxed);
        }
        watching
    }

    pub fn frame(&self, connection: &str, direction: &'static str, text: &str) {
        if !self.watching() {
            return;
        }
        let mut end = text.len().min(FRAME_TEXT);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        push_bounded(
            &mut self.frames.lock().unwrap(),
            FRAMES,
            Frame {
                at_ms: now_ms(),
                connection: connection.to_string(),
                direction,
                text: text[..end].to_string(),
            },
        );
    }

    /// An invocation has started (its end fills in the rest).
    pub fn started(&self, function: &str, request_id: &str, trigger: String, cold_start: bool) {
        if !self.watching() {
            return;
        }
        push_bounded(
            &mut self.invocations.lock().unwrap(),
            INVOCATIONS,
            Invocation {
                at_ms: now_ms(),
                function: function.to_string(),
                request_id: request_id.to_string(),
                trigger,
                duration_ms: 0.0,
                cold_start,
                outcome: "running".into(),
                logs: Vec::new(),
            },
        );
    }

    pub fn ended(&self, request_id: &str, duration_ms: f64, outcome: &str) {
        self.update(request_id, |i| {
            i.duration_ms = duration_ms;
            i.outcome = outcome.to_string();
        });
    }

    /// A line the function wrote while handling `request_id`.
    pub fn log(&self, request_id: &str, line: &str) {
        self.update(request_id, |i| {
            if i.logs.len() < LINES_PER_INVOCATION {
                i.logs.push(line.to_string());
            }
        });
    }

    fn update(&self, request_id: &str, change: impl FnOnce(&mut Invocation)) {
        if !self.watching() {
            return;
        }
        let mut all = self.invocations.lock().unwrap();
        if let Some(i) = all.iter_mut().rev().find(|i| i.request_id == request_id) {
            change(i);
        }
    }

    pub fn frames(&self) -> Vec<Frame> {
        self.frames.lock().unwrap().iter().cloned().collect()
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().unwrap().iter().cloned().collect()
    }
}

/// Appends, dropping the oldest entry when `max` are kept already.
fn push_bounded<T>(list: &mut VecDeque<T>, max: usize, item: T) {
    if list.len() == max {
        list.pop_front();
    }
    list.push_back(item);
}

/// What invoked a function, read from its event: the route key of an API
/// Gateway event, `sqs`, `authorizer`, or `lambda` for anything else.
pub fn trigger(payload: &[u8]) -> String {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return "lambda".into();
    };
    if event["Records"].is_array() {
        return "sqs".into();
    }
    if event["type"] == "REQUEST" && event["methodArn"].is_string() {
        return "authorizer".into();
    }
    match event["requestContext"]["routeKey"].as_str() {
        Some(route) => route.to_string(),
        None => "lambda".into(),
    }
}
