//! Beyond a function's concurrency, work is throttled at once in AWS's shapes
//! (the WebSocket error frame, HTTP API's 429, Lambda's TooManyRequestsException,
//! an SQS batch back in its queue), never queued without bound.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::json;
use testkit::Emulator;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// An echo the probe holds until `gate` exists.
fn held_at(gate: &std::path::Path) -> Message {
    Message::text(json!({"action":"echo","do":format!("wait:{}", gate.display())}).to_string())
}

/// Sends `n` copies of `message` in one go.
async fn send_many(ws: &mut Ws, message: &Message, n: usize) {
    for _ in 0..n {
        ws.feed(message.clone()).await.unwrap();
    }
    ws.flush().await.unwrap();
}

fn messages_started(gw: &TestGateway) -> usize {
    gw.events()
        .iter()
        .filter(|e| e["requestContext"]["eventType"] == "MESSAGE")
        .count()
}

/// Two in flight at most, held by a gate the test opens (WebSocket and HTTP
/// callers alike), with a timeout that never frees a slot during the test.
const GATED: &str = r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }
timeout_secs = 120
max_concurrency = 2
reserved_concurrency = 2

[routes]
echo = { function = "probe", route_response = true }

[http.routes]
"POST /work" = { function = "probe" }
"#;

/// 20 000 frames from a client that then leaves: all but the first two are
/// throttled at once; nothing more starts for it, and the next client is
/// answered as soon as the two running ones end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_throttled_and_the_next_client_is_served() {
    let gw = start(GATED).await;
    let function = gw.gateway.function("probe").unwrap();
    let gate = gw.dir.path().join("gate");
    let mut flood = gw.connect("").await;
    send_many(&mut flood, &held_at(&gate), 20_000).await;
    // Every throttled frame is answered at once with API Gateway's error frame.
    let mut errors = 0;
    while errors < 19_998 {
        let frame = next_json(&mut flood).await;
        assert_eq!(frame["message"], "Internal server error", "{frame}");
        errors += 1;
    }
    // The two admitted ones are held at the gate: nothing has freed a slot.
    assert_eq!(function.in_flight(), 2);
    eventually("the flood's two invocations started", async || {
        messages_started(&gw) == 2
    })
    .await;
    drop(flood);

    // The two that ran end; nothing else of the flood ever starts.
    std::fs::write(&gate, "").unwrap();
    eventually("the flood's two invocations ended", async || {
        function.in_flight() == 0
    })
    .await;
    let mut next = gw.connect("").await;
    let reply = ask(&mut next, r#"{"action":"echo"}"#).await;
    assert_eq!(reply["routeKey"], "echo", "{reply}");
    assert_eq!(
        messages_started(&gw),
        3,
        "two of the flood, then the next client's"
    );
    assert!(function.instance_count() <= 2);
    gw.gateway.shutdown().await;
}

/// HTTP API answers 429 beyond the function's concurrency; the Lambda API
/// answers TooManyRequestsException, which the aws CLI reports by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_lambda_callers_get_429() {
    let gw = start(GATED).await;
    let function = gw.gateway.function("probe").unwrap();
    let addr = gw.gateway.local_addr();
    // Two calls held at a gate take both places until the test opens it: however
    // slow the aws CLI is to start, no timeout frees a place meanwhile.
    let gate = gw.dir.path().join("gate");
    let held = format!("/work?do=wait:{}", gate.display());
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let held = held.clone();
            tokio::spawn(async move { http(addr, "POST", &held, "").await })
        })
        .collect();
    eventually("two in flight", async || function.in_flight() == 2).await;

    let (status, head, body) = http(addr, "POST", "/work", "").await;
    assert_eq!(status, 429, "{head}");
    assert_eq!(body, r#"{"message":"Too Many Requests"}"#);

    let endpoint = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    // One attempt: the CLI would otherwise retry until the slow ones time out.
    let output = tokio::process::Command::new(testkit::venv_program("aws"))
        .args([
            "lambda",
            "invoke",
            "--endpoint-url",
            &endpoint,
            "--function-name",
            "probe",
            "--payload",
            "{}",
            out.to_str().unwrap(),
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TooManyRequestsException"), "{stderr}");
    assert!(stderr.contains("Rate Exceeded."), "{stderr}");

    let path = "/2015-03-31/functions/probe/invocations";
    let (status, head, body) = http(addr, "POST", path, "{}").await;
    assert_eq!(status, 429, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-amzn-errortype: toomanyrequestsexception"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded",
        "{body}"
    );
    assert_eq!(
        function.in_flight(),
        2,
        "the two held calls kept their places"
    );
    std::fs::write(&gate, "").unwrap();
    for call in busy {
        let (status, _, _) = call.await.unwrap();
        assert_eq!(status, 200, "the held calls end once the gate opens");
    }
    gw.gateway.shutdown().await;
}

/// An SQS batch that is throttled goes back to its queue and is delivered
/// later; nothing reaches the DLQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_sqs_batch_is_delivered_later() {
    let backend = Emulator::start();
    let gw = start(&format!(
        r#"
[aws]
endpoint_url = "{endpoint}"

[functions.probe]
command = ["{{probe}}"]
env = {{ PROBE_LOG = "{{log}}" }}
timeout_secs = 2
reserved_concurrency = 1

[[sqs]]
function = "probe"
queue = "Work"
batch_size = 1
max_concurrency = 3

[[provision.queues]]
name = "Work"
visibility_timeout_secs = 3
dead_letter = {{ name = "Work-DLQ", max_receive_count = 10 }}
"#,
        endpoint = backend.endpoint()
    ))
    .await;
    let sdk = backend.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = queue_url(&sdk, "Work").await;
    let bodies: Vec<String> = (0..3)
        .map(|i| json!({"do":"sleep:1000","id":i}).to_string())
        .collect();
    for body in &bodies {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    eventually("every message handled", async || {
        bodies
            .iter()
            .all(|b| gw.events().iter().any(|e| e["handled"] == *b))
    })
    .await;
    let received_again = gw
        .events()
        .iter()
        .filter(|e| e["Records"].is_array())
        .any(|e| e["Records"][0]["attributes"]["ApproximateReceiveCount"] != "1");
    assert!(received_again, "a throttled batch came back from the queue");
    for b in &bodies {
        let times = gw.events().iter().filter(|e| e["handled"] == *b).count();
        assert_eq!(times, 1, "{b}");
    }
    let dlq = queue_url(&sdk, "Work-DLQ").await;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(dlq)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs
            .attributes
            .unwrap()
            .values()
            .next()
            .map(String::as_str),
        Some("0")
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    gw.gateway.shutdown().await;
}

/// Four processes, no reserved concurrency: nothing throttles. The timeout
/// never frees a slot while a test holds invocations at its gate.
const FOUR: &str = r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }
timeout_secs = 120
max_concurrency = 4

[routes]
echo = { function = "probe", route_response = true }
"#;

/// A client floods 2 000 slow messages and leaves: its messages still queued
/// (the account's 1 000 in flight; the rest were throttled) are never started
/// and are counted as dropped, the four running finish, and the next client's
/// message is answered once a process is free, not after the flood would have
/// drained (250 s). The flood's four running ones wait at a gate the test
/// opens, so every state it waits for holds until the test moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_clients_queued_messages_are_dropped() {
    let gw = start(FOUR).await;
    let function = gw.gateway.function("probe").unwrap();
    let gate = gw.dir.path().join("gate");
    let mut flood = gw.connect("").await;
    send_many(&mut flood, &held_at(&gate), 2_000).await;
    eventually("four of the flood running", async || {
        messages_started(&gw) == 4
    })
    .await;
    // The account's 1 000 in flight (waiting or running) fill up; beyond, Lambda throttles.
    eventually("the flood queued", async || function.in_flight() == 1_000).await;
    drop(flood);
    eventually("the gone client's queue let go", async || {
        function.in_flight() == 4
    })
    .await;

    // The four running ones end; the next client's message is the next to start.
    std::fs::write(&gate, "").unwrap();
    let mut next = gw.connect("").await;
    let asked = std::time::Instant::now();
    let reply = ask(&mut next, r#"{"action":"echo","do":"sleep:1000"}"#).await;
    let waited = asked.elapsed();
    assert_eq!(reply["routeKey"], "echo", "{reply}");
    assert_eq!(
        messages_started(&gw),
        5,
        "the flood's four, then the next client's"
    );
    // The handler's second: far from the 250 s the flood would have taken.
    assert!(
        waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    eprintln!("the next client's answer came after {waited:?}");
    // Its 996 queued, and any frame of its own dispatched after it left; each
    // is counted as its dispatch sees the refusal, which may come a little later.
    let dropped = async || {
        let (_, _, metrics) = http(gw.gateway.local_addr(), "GET", "/_wsgate/metrics", "").await;
        crate::metrics::sample(
            &metrics,
            r#"wsgate_invocations_total{function="probe",outcome="dropped"}"#,
        )
    };
    eventually(
        "every queued message of the flood counted as dropped",
        async || dropped().await >= 996.0,
    )
    .await;
    gw.gateway.shutdown().await;
}

/// Fair under a flood: a client keeps 900 one-second messages queued on four
/// processes (no reserved concurrency; within the account's 1 000 in flight,
/// beyond which everyone is throttled, as on Lambda) and stays connected.
/// Another client's message takes its turn at the next free process, as it
/// would have an environment of its own on AWS, instead of waiting behind the
/// flood (225 s). The flood's first four wait at a gate the test opens once
/// the other client's message is queued, so the order is the queue's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_does_not_starve_the_next() {
    let gw = start(FOUR).await;
    let function = gw.gateway.function("probe").unwrap();
    let gate = gw.dir.path().join("gate");
    let mut flood = gw.connect("").await;
    let slow = Message::text(r#"{"action":"echo","do":"sleep:1000"}"#);
    // The four held ones first, running before the rest is sent: frames are
    // dispatched concurrently, so sent together any four might start first.
    send_many(&mut flood, &held_at(&gate), 4).await;
    eventually("four of the flood running", async || {
        messages_started(&gw) == 4
    })
    .await;
    send_many(&mut flood, &slow, 896).await;
    eventually("the flood queued", async || function.in_flight() == 900).await;

    let mut next = gw.connect("").await;
    let asked = std::time::Instant::now();
    next.send(Message::text(r#"{"action":"echo","do":"sleep:1000"}"#))
        .await
        .unwrap();
    eventually("its message queued behind the flood", async || {
        function.in_flight() == 901
    })
    .await;
    std::fs::write(&gate, "").unwrap();
    let reply = next_json(&mut next).await;
    let waited = asked.elapsed();
    assert_eq!(reply["routeKey"], "echo", "{reply}");
    // Where its start came among all the starts (each process logs its event as it starts).
    let place = gw
        .events()
        .iter()
        .filter(|e| e["requestContext"]["eventType"] == "MESSAGE")
        .position(|e| e["requestContext"]["connectionId"] == reply["connectionId"])
        .expect("its event was logged")
        + 1;
    eprintln!(
        "beside a flood, the next client's message started {place}th, answered after {waited:?}"
    );
    // Its turn came within one round of the four processes once they were free:
    // the flood's four, at most three more of the flood (their writes to the
    // log may race its own), then its own. In arrival order it would be 901st.
    assert!(place <= 8, "its message started {place}th");
    drop(flood);
    gw.gateway.shutdown().await;
}
