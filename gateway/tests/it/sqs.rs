//! SQS event source mappings against an emulator: nothing is lost when a function
//! crashes, times out, reports failures, or the backend is down for a while.

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use testkit::{Emulator, Kind};

use crate::common::*;

fn handled(gw: &TestGateway, body: &str) -> usize {
    gw.events().iter().filter(|e| e["handled"] == body).count()
}

fn mapping(endpoint: &str, extra_mapping: &str, provision: bool) -> String {
    let provision = if provision {
        r#"
[[provision.queues]]
name = "Work"
visibility_timeout_secs = 3
dead_letter = { name = "Work-DLQ", max_receive_count = 2 }
"#
    } else {
        ""
    };
    format!(
        r#"
[aws]
endpoint_url = "{endpoint}"

[functions.probe]
command = ["{{probe}}"]
env = {{ PROBE_LOG = "{{log}}" }}
timeout_secs = 2

[[sqs]]
function = "probe"
queue = "Work"
{extra_mapping}
{provision}
"#
    )
}

async fn send(sdk: &aws_config::SdkConfig, queue: &str, bodies: &[String]) {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = queue_url(sdk, queue).await;
    for body in bodies {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
}

async fn queue_is_empty(sdk: &aws_config::SdkConfig, queue: &str) -> bool {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = queue_url(sdk, queue).await;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attrs.values().all(|v| v == "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_or_a_timeout_loses_no_message() {
    let backend = Emulator::start();
    let gw = start(&mapping(backend.endpoint(), "batch_size = 1", true)).await;
    let sdk = backend.sdk_config().await;
    let bodies: Vec<String> = [
        json!({"do":"crash-once","id":1}),
        json!({"do":"hang-once","id":2}),
        json!({"do":"ok","id":3}),
    ]
    .iter()
    .map(|b| b.to_string())
    .collect();
    send(&sdk, "Work", &bodies).await;
    eventually("every message handled", async || {
        bodies.iter().all(|b| handled(&gw, b) >= 1)
    })
    .await;
    eventually("the queue drained", async || {
        queue_is_empty(&sdk, "Work").await
    })
    .await;
    for b in &bodies {
        assert_eq!(handled(&gw, b), 1, "{b} handled once");
    }
    assert!(queue_is_empty(&sdk, "Work-DLQ").await);
    // The metrics say the same: the crash and the hang failed their batches
    // (counted once the deletes are answered, which may be after the queue looks empty).
    use crate::metrics::sample;
    let mut text = String::new();
    let counted = |text: &str| {
        sample(
            text,
            r#"wsgate_sqs_records_total{queue="Work",outcome="handled"}"#,
        ) >= 3.0
            && sample(
                text,
                r#"wsgate_sqs_batches_total{queue="Work",outcome="failed"}"#,
            ) >= 2.0
    };
    eventually("the batches counted", async || {
        (_, _, text) = http(gw.gateway.local_addr(), "GET", "/_wsgate/metrics", "").await;
        counted(&text)
    })
    .await;
    assert!(counted(&text), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_item_failures_are_retried_alone_and_end_in_the_dlq() {
    let backend = Emulator::start();
    let gw = start(&mapping(
        backend.endpoint(),
        "batch_size = 10\nbatching_window_secs = 1\nreport_batch_item_failures = true",
        true,
    ))
    .await;
    let sdk = backend.sdk_config().await;
    let good: Vec<String> = (0..4)
        .map(|i| json!({"do":"ok","id":i}).to_string())
        .collect();
    let poison = json!({"do":"fail","id":"poison"}).to_string();
    let mut all = good.clone();
    all.insert(2, poison.clone());
    send(&sdk, "Work", &all).await;

    // The poison message is received twice, then the redrive policy moves it:
    // the inspector shows it in the mapping's DLQ.
    let addr = gw.gateway.local_addr();
    eventually("the inspector's DLQ depth", async || {
        let (_, _, body) = http(addr, "GET", "/_wsgate/api/state", "").await;
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        state["mappings"][0]["dlqDepth"] == 1
    })
    .await;
    let dead = dead_letters(&sdk, "Work-DLQ").await;
    assert_eq!(dead, vec![poison]);
    eventually("the queue drained", async || {
        queue_is_empty(&sdk, "Work").await
    })
    .await;
    // The good ones of the failing batch were deleted, not redelivered with it.
    for b in &good {
        assert_eq!(handled(&gw, b), 1, "{b}");
    }
    // Records are what Lambda sends.
    let batch = gw
        .wait_event("an SQS batch", |e| e["Records"].is_array())
        .await;
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(batch.clone()).unwrap();
    let record = &event.records[0];
    assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
    assert!(
        record
            .event_source_arn
            .as_deref()
            .unwrap()
            .ends_with(":Work")
    );
    assert!(record.attributes.contains_key("ApproximateReceiveCount"));
    assert!(record.receipt_handle.is_some() && record.md5_of_body.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_wait_out_a_backend_that_is_down() {
    // The gateway starts first, pointed at a port where nothing listens yet.
    let port = testkit::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    // Until the backend comes, something on its port takes each connection and
    // closes it: the attempts can be counted.
    let down = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let refuser = tokio::spawn({
        let attempts = attempts.clone();
        async move {
            while let Ok((socket, _)) = down.accept().await {
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                drop(socket);
            }
        }
    });
    let gw = start(&mapping(
        &endpoint,
        "batch_size = 1\nmax_concurrency = 1",
        false,
    ))
    .await;
    // The SDK retries a call 3 times; a 5th attempt is the poller's own retry
    // after the SDK gave up: the outage reached the poller, which waits it out.
    eventually("the poller retried after the SDK gave up", async || {
        attempts.load(std::sync::atomic::Ordering::Relaxed) >= 5
    })
    .await;
    refuser.abort();
    let _ = refuser.await;

    let backend = Emulator::start_on(Kind::for_tests(), port);
    let sdk = backend.sdk_config().await;
    aws_sdk_sqs::Client::new(&sdk)
        .create_queue()
        .queue_name("Work")
        .send()
        .await
        .unwrap();
    let body = json!({"do":"ok","id":"late"}).to_string();
    send(&sdk, "Work", std::slice::from_ref(&body)).await;
    eventually("the message handled after the outage", async || {
        handled(&gw, &body) == 1
    })
    .await;
}
