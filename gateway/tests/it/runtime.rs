//! Functions as processes behind the Lambda Runtime API: Rust's lambda_runtime,
//! Python's awslambdaric, concurrency, crashes, timeouts and misbehaving runtimes.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn alive(pid: u64) -> bool {
    crate::common::procs::alive(pid as u32)
}

#[tokio::test]
async fn a_lambda_runtime_binary_gets_what_lambda_gives_it() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let before = now_ms();
    let reply = ask(&mut ws, r#"{"action":"echo"}"#).await;
    assert_eq!(
        reply["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:probe"
    );
    let deadline = reply["deadline"].as_i64().unwrap();
    assert!(
        deadline > before && deadline <= now_ms() + 2_000,
        "{deadline}"
    );
    assert!(reply["traceId"].as_str().unwrap().starts_with("Root=1-"));
    assert_eq!(reply["requestId"].as_str().unwrap().len(), 36);
    let api = reply["runtimeApi"].as_str().unwrap();
    assert!(api.starts_with("127.0.0.1:") && !api.contains('/'), "{api}");
    assert_eq!(reply["region"], "us-east-1");
    assert_eq!(reply["memory"], "128");
    assert_eq!(reply["managementEndpoint"], gw.management_endpoint());
    // A global endpoint would send DynamoDB and SQS calls to the gateway.
    assert_eq!(reply["globalEndpoint"], serde_json::Value::Null);
}

#[tokio::test]
async fn python_awslambdaric_runs_a_python_handler() {
    let gw = start(&format!(
        r#"
[functions.py]
command = ["{python}", "-m", "awslambdaric", "app.handler"]
working_dir = "{{pyapp}}"
timeout_secs = 10
[routes]
"$default" = {{ function = "py", route_response = true }}
"#,
        python = python()
    ))
    .await;
    let mut ws = gw.connect("").await;
    let reply = ask(&mut ws, r#"{"action":"anything","n":1}"#).await;
    assert_eq!(reply["python"], true);
    assert_eq!(reply["echo"], r#"{"action":"anything","n":1}"#);
    assert_eq!(reply["function"], "py");
    assert_eq!(
        reply["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:py"
    );
    let remaining = reply["remainingMs"].as_i64().unwrap();
    assert!(remaining > 0 && remaining <= 10_000, "{remaining}");
    // A raised exception is reported through /error and becomes AWS's error frame.
    let frame = ask(&mut ws, r#"{"do":"error"}"#).await;
    assert_eq!(frame["message"], "Internal server error");
    // The same instance keeps serving.
    assert_eq!(ask(&mut ws, r#"{"n":2}"#).await["python"], true);
}

#[tokio::test]
async fn a_python_handler_that_fails_to_load_fails_the_invocation_only() {
    let gw = start(&format!(
        r#"
[functions.py]
command = ["{python}", "-m", "awslambdaric", "no_such_module.handler"]
working_dir = "{{pyapp}}"
[routes]
"$default" = {{ function = "py", route_response = true }}
"#,
        python = python()
    ))
    .await;
    let mut ws = gw.connect("").await;
    for _ in 0..2 {
        let frame = ask(&mut ws, r#"{"n":1}"#).await;
        assert_eq!(frame["message"], "Internal server error");
    }
}

#[tokio::test]
async fn instances_start_on_demand_up_to_the_concurrency_limit() {
    let gw = start(&PROBE_APP.replace("max_concurrency = 4", "max_concurrency = 2")).await;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        sockets.push(gw.connect("").await);
    }
    // One warm instance so far (the connects ran one after another).
    let function = gw.gateway.function("probe").unwrap();
    assert_eq!(function.instance_count(), 1);
    // Held at a gate until the second instance is up: a slow cold start must not
    // let the warm one serve all five before it.
    let gate = gw.dir.path().join("gate");
    let held = serde_json::json!({"action": "echo", "do": format!("wait:{}", gate.display())});
    for ws in &mut sockets {
        ws.send(Message::text(held.to_string())).await.unwrap();
    }
    eventually("a second instance for the waiting work", async || {
        function.in_flight() == 5 && function.instance_count() == 2
    })
    .await;
    // Both take one now; until the gate opens nothing frees either.
    eventually("both instances hold one", async || {
        gw.events()
            .iter()
            .filter(|e| e["requestContext"]["eventType"] == "MESSAGE")
            .count()
            == 2
    })
    .await;
    std::fs::write(&gate, "").unwrap();
    let mut pids = HashSet::new();
    for ws in &mut sockets {
        let reply = next_json(ws).await;
        assert_eq!(reply["routeKey"], "echo", "{reply}");
        pids.insert(reply["pid"].as_u64().unwrap());
    }
    assert_eq!(
        pids.len(),
        2,
        "five concurrent messages, at most two instances"
    );
    assert!(function.instance_count() <= 2);
}

#[tokio::test]
async fn a_crash_or_timeout_kills_the_instance_and_the_next_call_gets_a_fresh_one() {
    let gw = start(&PROBE_APP.replace("max_concurrency = 4", "max_concurrency = 1")).await;
    let mut ws = gw.connect("").await;
    let pid = async |ws: &mut Ws| {
        ask(ws, r#"{"action":"echo"}"#).await["pid"]
            .as_u64()
            .unwrap()
    };
    let mut before = pid(&mut ws).await;
    // A crash, then a hang that runs into the 2 s timeout: each time the process is
    // killed (not left running) and the next call gets a fresh one.
    for what in ["crash", "hang"] {
        let frame = ask(&mut ws, &format!(r#"{{"action":"echo","do":"{what}"}}"#)).await;
        assert_eq!(frame["message"], "Internal server error", "{what}");
        let after = pid(&mut ws).await;
        assert_ne!(before, after, "{what}");
        assert!(!alive(before), "{what}");
        before = after;
    }
}

#[tokio::test]
async fn a_runtime_that_talks_garbage_fails_its_invocations_and_nothing_else() {
    let gw = start(
        r#"
[functions.garbage]
command = ["{garbage}"]
[functions.probe]
command = ["{probe}"]
[routes]
"$default" = { function = "garbage", route_response = true }
echo = { function = "probe", route_response = true }
"#,
    )
    .await;
    let mut ws = gw.connect("").await;
    for _ in 0..3 {
        let frame = ask(&mut ws, r#"{"action":"junk"}"#).await;
        assert_eq!(frame["message"], "Internal server error");
    }
    // The same garbage instance served all three (it is not killed for bad output).
    assert_eq!(gw.gateway.function("garbage").unwrap().instance_count(), 1);
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
}

#[tokio::test]
async fn a_function_whose_program_is_missing_fails_cleanly() {
    let gw = start(
        r#"
[functions.missing]
command = ["/nonexistent/bootstrap"]
[routes]
"$connect" = { function = "missing" }
"#,
    )
    .await;
    for _ in 0..2 {
        match tokio_tungstenite::connect_async(gw.url("")).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status().as_u16(), 502)
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(gw.gateway.function("missing").unwrap().instance_count(), 0);
}

/// Messages whose callers gave up (the integration timed out) are never started,
/// so a flood from a client that left does not starve the next one.
#[tokio::test(flavor = "multi_thread")]
async fn work_nobody_waits_for_is_not_started() {
    let gw = start_with(
        "integration_timeout_secs = 1",
        r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }
timeout_secs = 10
max_concurrency = 1

[routes]
echo = { function = "probe", route_response = true }
"#,
    )
    .await;
    // A warm instance first: the flood's first message starts at once, whatever
    // a cold start costs on a loaded machine.
    let mut warm = gw.connect("").await;
    assert_eq!(
        ask(&mut warm, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
    let mut flood = gw.connect("").await;
    for _ in 0..5 {
        flood
            .send(Message::text(r#"{"action":"echo","do":"sleep:2500"}"#))
            .await
            .unwrap();
    }
    for _ in 0..5 {
        assert_eq!(
            next_json(&mut flood).await["message"],
            "Internal server error"
        );
    }
    // The flood's socket stays open: its four queued messages are let go because
    // their caller gave up, not because their connection closed (which drops them too).
    // The first is still running; once it is done, the instance skips the four
    // abandoned ones and is free: nothing is in flight any more.
    let function = gw.gateway.function("probe").unwrap();
    eventually("the first ended and the rest were let go", async || {
        function.in_flight() == 0
    })
    .await;
    let mut next = gw.connect("").await;
    let reply = ask(&mut next, r#"{"action":"echo"}"#).await;
    assert_eq!(reply["routeKey"], "echo", "{reply}");
    let started = gw
        .events()
        .iter()
        .filter(|e| e["requestContext"]["eventType"] == "MESSAGE")
        .count();
    assert_eq!(
        started, 3,
        "only the warm-up, the first of the flood and the next client's message ran"
    );
    drop(flood);
    gw.gateway.shutdown().await;
}

/// Every process an instance started ends with it, even one in a session of its
/// own (setsid), which a process-group kill misses.
#[tokio::test(flavor = "multi_thread")]
async fn an_instances_descendants_end_with_it() {
    let mark = format!("descendant-{}", std::process::id());
    let gw = start(&format!(
        r#"
[functions.spawner]
command = ["{python}", "-m", "awslambdaric", "spawner.handler"]
working_dir = "{{pyapp}}"
env = {{ PROBE_MARK = "{mark}" }}
timeout_secs = 10

[routes]
"$default" = {{ function = "spawner", route_response = true }}
"#,
        python = python()
    ))
    .await;
    let marked = || crate::common::procs::carrying(&format!("PROBE_MARK={mark}"));
    let mut ws = gw.connect("").await;
    ws.send(Message::text("go")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "spawned");
    assert!(marked() >= 2, "the runtime and its detached helper run");
    gw.gateway.shutdown().await;
    eventually("the detached helper ends with its instance", async || {
        marked() == 0
    })
    .await;
}

/// An answer over Lambda's 6 MB limit fails its invocation at once
/// (`Function.ResponseSizeTooLarge`); the instance is not killed for a timeout.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_answer_fails_at_once() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let pid = ask(&mut ws, r#"{"action":"echo"}"#).await["pid"].clone();
    let reply = ask(&mut ws, r#"{"action":"echo","do":"huge"}"#).await;
    assert_eq!(reply["message"], "Internal server error", "{reply}");
    // The same process answers next: it was not killed for a timeout.
    assert_eq!(ask(&mut ws, r#"{"action":"echo"}"#).await["pid"], pid);
    gw.gateway.shutdown().await;
}

/// Only the instance's own processes reach its Runtime API: a stranger on the
/// same machine that asks for the next event, or posts a forged answer, gets
/// nothing, and the instance goes on serving.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_cannot_use_an_instances_runtime_api() {
    let gw = start(PROBE_APP).await;
    let mut ws = gw.connect("").await;
    let first = ask(&mut ws, r#"{"action":"echo"}"#).await;
    let api: std::net::SocketAddr = first["runtimeApi"].as_str().unwrap().parse().unwrap();

    // Waiting for the next event: the instance is idle, so an event would come at once.
    let stranger =
        tokio::spawn(
            async move { http(api, "GET", "/2018-06-01/runtime/invocation/next", "").await },
        );
    let forged = tokio::spawn(async move {
        http(
            api,
            "POST",
            "/2018-06-01/runtime/invocation/x/response",
            "{}",
        )
        .await
    });
    let reply = ask(&mut ws, r#"{"action":"echo"}"#).await;
    assert_eq!(reply["pid"], first["pid"], "the instance answered: {reply}");
    // Refused at once (the connection is closed on it), not held: a stranger kept
    // waiting in `/next` would be a runtime the pool hands work to.
    for call in [stranger, forged] {
        let outcome = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("the stranger's request was held instead of refused");
        assert!(outcome.is_err(), "the stranger got an answer: {outcome:?}");
    }
    assert_eq!(gw.gateway.function("probe").unwrap().instance_count(), 1);
    gw.gateway.shutdown().await;
}
