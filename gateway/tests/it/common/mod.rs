//! Test harness: a real gateway on port 0, real function processes, real clients.

pub mod app;
pub mod apps;
pub mod procs;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use wsgate::{Config, Gateway};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The workspace's build folder, where `cargo build --workspace` put the test functions.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/<test> -> target/debug
    exe.parent().unwrap().parent().unwrap().to_owned()
}

pub fn bin(name: &str) -> String {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`, as scripts/test does)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// The local certificate authority the tests' gateways share.
pub fn ca_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("wsgate-ca")
}

/// The venv's Python (awslambdaric, boto3), as scripts/test makes it.
pub use testkit::python;

pub struct TestGateway {
    pub gateway: Gateway,
    /// Held for its `Drop`: the log folder lives as long as the gateway.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

/// The config every test starts from; `extra` adds routes and functions.
/// `{probe}`, `{garbage}`, `{log}`, `{python}` and `{pyapp}` are filled in.
pub fn config_text(api: &str, extra: &str, log: &Path) -> String {
    // One local CA for every test, in the build's scratch folder rather than $HOME.
    let tls = if extra.contains("[tls]") {
        String::new()
    } else {
        format!("[tls]\nca_dir = \"{}\"\n", ca_dir().display())
    };
    let text = format!(
        r#"
[api]
stage = "test"
listen = "127.0.0.1:0"
api_id = "testapi123"
{api}
{tls}
{extra}
"#
    );
    text.replace("{probe}", &bin("probe"))
        .replace("{garbage}", &bin("garbage"))
        .replace("{log}", &log.to_string_lossy())
        .replace(
            "{pyapp}",
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/python")
                .to_string_lossy(),
        )
}

/// The usual app: every route to the probe, with a route response on `echo`.
pub const PROBE_APP: &str = r#"
[functions.probe]
command = ["{probe}"]
env = { PROBE_LOG = "{log}" }
timeout_secs = 2
max_concurrency = 4

[routes]
"$connect" = { function = "probe" }
"$disconnect" = { function = "probe" }
"$default" = { function = "probe" }
echo = { function = "probe", route_response = true }
"#;

pub async fn start(extra: &str) -> TestGateway {
    start_with("", extra).await
}

/// Like `start`, with lines added to the `[api]` table.
/// The gateway's log in the test's output (shown when a test fails).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}

pub async fn start_with(api: &str, extra: &str) -> TestGateway {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let text = config_text(api, extra, &log);
    let config = Config::from_toml(&text, Path::new("test.toml"), dir.path())
        .unwrap_or_else(|e| panic!("test config: {e}"));
    let gateway = Gateway::start(config).await.unwrap();
    TestGateway { gateway, dir, log }
}

impl TestGateway {
    pub fn url(&self, query: &str) -> String {
        format!("{}{query}", self.gateway.ws_url())
    }

    pub async fn connect(&self, query: &str) -> Ws {
        let (ws, response) = connect_async(self.url(query)).await.unwrap();
        assert_eq!(response.status(), 101);
        ws
    }

    /// Every event the probe recorded so far.
    pub fn events(&self) -> Vec<Value> {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        // A line a process is writing right now may be read in part: whole lines only.
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        std::str::from_utf8(&bytes[..whole])
            .expect("the probe writes UTF-8")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until the probe recorded an event that matches.
    pub async fn wait_event(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(e) = self.events().into_iter().find(|e| matches(e)) {
                return e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no {what} event arrived; events: {:#?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `$disconnect` event of a connection.
    pub async fn disconnect_of(&self, connection_id: &str) -> Value {
        self.wait_event("$disconnect", |e| {
            e["requestContext"]["eventType"] == "DISCONNECT"
                && e["requestContext"]["connectionId"] == connection_id
        })
        .await
    }

    pub fn management_endpoint(&self) -> String {
        self.gateway.management_endpoint()
    }
}

/// The id of a connection, learnt from an echo through the probe.
/// A connection id as it travels in a path: base64's `/`, `+` and `=`
/// percent-encoded, as the SDKs send it.
pub fn path_id(id: &str) -> String {
    id.replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D")
}

pub async fn connection_id(ws: &mut Ws) -> String {
    let reply = ask(ws, r#"{"action":"echo"}"#).await;
    reply["connectionId"].as_str().unwrap().to_string()
}

/// Sends a text frame and reads the next text frame as JSON.
pub async fn ask(ws: &mut Ws, text: &str) -> Value {
    ws.send(Message::text(text)).await.unwrap();
    next_json(ws).await
}

pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a frame within 15 s")
            .expect("the connection is open")
            .expect("a valid frame");
        match frame {
            Message::Text(t) => return t.as_str().to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

pub async fn next_json(ws: &mut Ws) -> Value {
    let text = next_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Reads until the server's close frame; returns its code and reason.
pub async fn expect_close(ws: &mut Ws) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a close within 15 s");
        match frame {
            Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// An aws-sdk management client pointed at the gateway.
pub async fn management_client(endpoint: &str) -> aws_sdk_apigatewaymanagement::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_apigatewaymanagement::Client::new(&config)
}

/// Just enough HTTP/1.1 to send exact paths (clients normalise some encodings away).
/// Returns the status, the head and the body (read by Content-Length, or to the end).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String, String) {
    // Signed as an SDK signs, where AWS wants it.
    let service = if path.contains("@connections") {
        Some("execute-api")
    } else if path.starts_with("/2015-03-31/") {
        Some("lambda")
    } else {
        None
    };
    let host = addr.to_string();
    let headers = match service {
        Some(service) => testkit::sigv4_headers(
            method,
            &format!("http://{host}{path}"),
            &[("host", &host)],
            body.as_bytes(),
            service,
        ),
        None => Vec::new(),
    };
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    http_with(addr, method, path, &headers, body).await
}

/// A raw HTTP/1.1 request with these extra headers (none added for signing).
pub async fn http_with(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    // A large body waits for the server's go-ahead, as SDKs send one: a server
    // that refuses it from its length answers at once, and nothing is cut off mid-send.
    let large = body.len() > 1024 * 1024;
    let expect = if large {
        "Expect: 100-continue\r\n"
    } else {
        ""
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}{expect}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    if large {
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("an answer to Expect: 100-continue within 30 s")
            .unwrap();
        let interim = String::from_utf8_lossy(&buf[..n]).to_string();
        if let Some(rest) = interim.strip_prefix("HTTP/1.1 100 Continue\r\n\r\n") {
            out.extend_from_slice(rest.as_bytes());
            s.write_all(body.as_bytes()).await.unwrap();
        } else {
            out.extend_from_slice(&buf[..n]);
        }
    } else if let Err(e) = s.write_all(body.as_bytes()).await {
        // A server may answer (413) and close before reading a body it refuses:
        // what it answered is still there to read.
        eprintln!("the body was cut off ({e}); reading the answer");
    }
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("an HTTP answer within 30 s")
            .unwrap();
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            let complete = match length {
                Some(len) => rest.len() >= len,
                None => n == 0,
            };
            if complete {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, head.to_string(), rest.to_string());
            }
        }
        assert!(n > 0, "the connection closed mid-answer: {text}");
    }
}

/// Polls `check` until it holds; fails after 40 s naming `what`.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "{what} did not happen within 40 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the aws CLI (the venv's, else PATH's) with test credentials, without
/// blocking the runtime that serves the gateway.
pub async fn aws_cli(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(testkit::venv_program("aws"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_PAGER", "")
        .output()
        .await
        .expect("the aws CLI runs")
}

/// A queue's URL, by name.
pub async fn queue_url(sdk: &aws_config::SdkConfig, queue: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let out = sqs.get_queue_url().queue_name(queue).send().await.unwrap();
    out.queue_url.unwrap()
}

/// Waits for messages in a (dead-letter) queue and returns their bodies.
pub async fn dead_letters(sdk: &aws_config::SdkConfig, queue: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = queue_url(sdk, queue).await;
    let mut bodies = Vec::new();
    eventually(&format!("a message in {queue}"), async || {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        bodies.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_string)),
        );
        !bodies.is_empty()
    })
    .await;
    bodies
}
