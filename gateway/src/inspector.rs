//! The live inspector at `/_wsgate/`: one page (plain HTML and JavaScript,
//! served from the binary) that polls `/_wsgate/api/state` and shows the open
//! connections, the last frames of the one chosen, the invocations as they
//! happen with their log lines, the functions and the SQS mappings; and the
//! actions: send a frame to a connection, close it, replay a frame as it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::Api;
use crate::apigw::events::iso_time;
use crate::connections::{Outbound, close};
use crate::websocket;

const PAGE: &str = include_str!("inspector.html");
/// The most connections the state lists (the count is always whole).
const LISTED: usize = 500;

pub fn router(api: &Arc<Api>) -> Router<()> {
    Router::new()
        .route("/_wsgate/", get(page))
        .route("/_wsgate", get(page))
        .route("/_wsgate/api/state", get(state))
        .route("/_wsgate/api/connections/{id}/send", post(send))
        .route("/_wsgate/api/connections/{id}/replay", post(replay))
        .route(
            "/_wsgate/api/connections/{id}/close",
            post(close_connection),
        )
        .with_state(api.clone())
}

async fn page(State(api): State<Arc<Api>>) -> Html<&'static str> {
    api.metrics.journal.watched();
    Html(PAGE)
}

/// Everything the page shows, in one snapshot.
async fn state(State(api): State<Arc<Api>>) -> Response {
    let journal = &api.metrics.journal;
    journal.watched();
    let connections: Vec<Value> = api
        .connections
        .list(LISTED)
        .iter()
        .map(|c| {
            let t = &c.traffic;
            json!({
                "id": c.info.connection_id,
                "connectedAt": iso_time(c.info.connected_at_ms),
                "lastActiveAt": iso_time(c.last_active_ms()),
                "sourceIp": c.info.source_ip,
                "userAgent": c.info.user_agent,
                "authorizer": c.info.authorizer,
                "framesIn": t.frames_in.load(Ordering::Relaxed),
                "framesOut": t.frames_out.load(Ordering::Relaxed),
                "bytesIn": t.bytes_in.load(Ordering::Relaxed),
                "bytesOut": t.bytes_out.load(Ordering::Relaxed),
            })
        })
        .collect();
    let functions: Vec<Value> = api
        .model()
        .functions
        .values()
        .map(|f| {
            json!({
                "name": f.name(),
                "runtime": f.spec().runtime,
                "instances": f.instance_count(),
                "inFlight": f.in_flight(),
            })
        })
        .collect();
    let mut mappings = Vec::new();
    for m in &api.config.sqs {
        let depth = queue_depth(&api, &m.queue).await;
        mappings.push(json!({
            "queue": m.queue,
            "function": m.function,
            "batchSize": m.batch_size,
            "waiting": depth.waiting,
            "inFlight": depth.in_flight,
            "dlqDepth": depth.dead_letters,
        }));
    }
    let body = json!({
        "stage": api.stage().to_string(),
        "apiId": api.api_id,
        "connectionCount": api.connections.len(),
        "connections": connections,
        "functions": functions,
        "mappings": mappings,
        "frames": journal.frames(),
        "invocations": journal.invocations(),
        "metrics": api.metrics.render(),
    });
    ([("content-type", "application/json")], body.to_string()).into_response()
}

/// A queue's messages as SQS counts them; None where the backend does not answer.
#[derive(Default)]
struct Depth {
    waiting: Option<u64>,
    in_flight: Option<u64>,
    dead_letters: Option<u64>,
}

/// Asks SQS for a mapping's queue and its dead-letter queue (1 s at most).
async fn queue_depth(api: &Api, queue: &str) -> Depth {
    let ask = async {
        let client = api
            .sqs
            .get_or_init(|| async {
                aws_sdk_sqs::Client::new(&crate::sdk::sdk_config(&api.config.aws).await)
            })
            .await;
        let url = queue_url(client, queue).await?;
        let attrs = attributes(client, &url).await?;
        let count = |name: &str| attrs.get(name).and_then(|v| v.parse().ok());
        let mut depth = Depth {
            waiting: count("ApproximateNumberOfMessages"),
            in_flight: count("ApproximateNumberOfMessagesNotVisible"),
            dead_letters: None,
        };
        let dlq = attrs
            .get("RedrivePolicy")
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string));
        if let Some(arn) = dlq
            && let Some(url) = queue_url(client, &arn).await
            && let Some(attrs) = attributes(client, &url).await
        {
            depth.dead_letters = attrs
                .get("ApproximateNumberOfMessages")
                .and_then(|v| v.parse().ok());
        }
        Some(depth)
    };
    tokio::time::timeout(std::time::Duration::from_secs(1), ask)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A queue given by URL, ARN or name, as its URL.
async fn queue_url(client: &aws_sdk_sqs::Client, queue: &str) -> Option<String> {
    if queue.starts_with("http://") || queue.starts_with("https://") {
        return Some(queue.to_string());
    }
    let name = queue.rsplit(':').next().unwrap_or(queue);
    client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .ok()?
        .queue_url
}

async fn attributes(
    client: &aws_sdk_sqs::Client,
    url: &str,
) -> Option<std::collections::HashMap<String, String>> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .ok()?;
    Some(
        out.attributes?
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect(),
    )
}

fn gone(id: &str) -> Response {
    (StatusCode::GONE, format!("no connection {id}")).into_response()
}

/// Sends a text frame to the connection, as `@connections` POST does.
async fn send(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(conn) = api.connections.get(&id) else {
        return gone(&id);
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    if conn.send(Outbound::Text(text)).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        gone(&id)
    }
}

/// Handles a frame as if the connection had sent it: route, invoke, reply.
async fn replay(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(conn) = api.connections.get(&id) else {
        return gone(&id);
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    api.metrics
        .journal
        .frame(&id, "in", &format!("(replayed) {text}"));
    tokio::spawn(websocket::replay(api.clone(), conn, text));
    StatusCode::ACCEPTED.into_response()
}

/// Closes the connection as `@connections` DELETE does.
async fn close_connection(State(api): State<Arc<Api>>, Path(id): Path<String>) -> Response {
    let Some(conn) = api.connections.get(&id) else {
        return gone(&id);
    };
    let (code, reason) = close::DELETED;
    conn.send(Outbound::Close {
        code,
        reason: reason.into(),
    })
    .await;
    StatusCode::NO_CONTENT.into_response()
}
