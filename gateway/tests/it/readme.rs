//! The README's walk-through, command by command: mint-token, websocat, the aws CLI.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::app::*;
use crate::common::*;

/// The secret the README uses (wsgate.toml's default).
const SECRET: &str = "local-development-secret";

pub struct Websocat {
    pub child: tokio::process::Child,
    pub stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Websocat {
    pub fn start(url: &str) -> Self {
        let mut child = tokio::process::Command::new("websocat")
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("websocat runs (scripts/test installs it)");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            lines,
        }
    }

    pub async fn type_line(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    pub async fn read_line(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("websocat prints a line within 20 s")
            .unwrap()
            .expect("websocat is still connected")
    }
}

/// `aws apigatewaymanagementapi OPERATION --endpoint-url … --connection-id=ID [more]`
async fn manage(endpoint: &str, operation: &str, id: &str, more: &[&str]) -> std::process::Output {
    let id = format!("--connection-id={id}");
    let mut args = vec![
        "apigatewaymanagementapi",
        operation,
        "--endpoint-url",
        endpoint,
        &id,
    ];
    args.extend_from_slice(more);
    aws_cli(&args).await
}

fn text(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walk_through_works_as_written() {
    let app = start_app_in("authorizer", &[]).await;
    // TOKEN=$(TOKEN_SECRET=local-development-secret target/debug/mint-token 1234)
    let minted = tokio::process::Command::new(bin("mint-token"))
        .arg("1234")
        .env("TOKEN_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    let token = text(&minted);

    // websocat "ws://127.0.0.1:8080/local?token=$TOKEN"
    let mut ws = Websocat::start(&format!("{}?token={token}", app.gateway.ws_url()));
    ws.type_line(r#"{"action":"ping","name":"Stepan"}"#).await;
    let pong: Value = serde_json::from_str(&ws.read_line().await).unwrap();
    assert_eq!(pong, json!({"action":"pong","message":"Hello, Stepan!"}));
    ws.type_line(r#"{"action":"dance"}"#).await;
    let error: Value = serde_json::from_str(&ws.read_line().await).unwrap();
    assert_eq!(
        error,
        json!({"action":"error","message":"Action \"dance\" is not implemented"})
    );

    // aws --endpoint-url … sqs send-message --queue-url …/000000000000/NotifyUser …
    let endpoint = app.backend.endpoint();
    notify_user_with_cli(
        endpoint,
        r#"{"userId":"1234","data":{"type":"download","url":"https://example.com/report.pdf"}}"#,
    )
    .await;
    assert_eq!(
        ws.read_line().await,
        r#"{"type":"download","url":"https://example.com/report.pdf"}"#
    );

    // ID=$(aws … dynamodb scan … --query 'Items[0].ConnectionId.S' --output text)
    let scan = aws_cli(&[
        "--endpoint-url",
        endpoint,
        "dynamodb",
        "scan",
        "--table-name",
        "Connections",
        "--query",
        "Items[0].ConnectionId.S",
        "--output",
        "text",
    ])
    .await;
    let id = text(&scan);
    assert_eq!(id.len(), 16, "{id}");
    let management = app.gateway.management_endpoint();
    let posted = manage(
        &management,
        "post-to-connection",
        &id,
        &["--data", "hello from the CLI"],
    )
    .await;
    text(&posted);
    assert_eq!(ws.read_line().await, "hello from the CLI");
    let info = manage(&management, "get-connection", &id, &[]).await;
    assert!(text(&info).contains("ConnectedAt"));
    let deleted = manage(&management, "delete-connection", &id, &[]).await;
    text(&deleted);
    // The record goes with $disconnect; websocat ends once its input does too.
    eventually("the record's removal", async || {
        !app.record_exists(&id).await
    })
    .await;
    drop(ws.stdin);
    let status = tokio::time::timeout(Duration::from_secs(20), ws.child.wait()).await;
    assert!(
        matches!(status, Ok(Ok(_))),
        "websocat did not end: {status:?}"
    );
    let gone = manage(&management, "post-to-connection", &id, &["--data", "late"]).await;
    assert!(String::from_utf8_lossy(&gone.stderr).contains("GoneException"));
    app.gateway.shutdown().await;
}
