//! `--watch`: a function whose code changes on disk gets fresh instances; the
//! socket stays open, a busy instance finishes its invocation first.

use std::path::Path;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use wsgate::{Config, Gateway};

use crate::common::*;

/// Replaces a file the way a build does: write beside it, then rename over it.
fn rebuild(from: &str, to: &Path) {
    let fresh = to.with_extension("new");
    std::fs::copy(from, &fresh).unwrap();
    std::fs::rename(&fresh, to).unwrap();
}

/// `echo` is routed; `hello` is not yet, and with no `$default` it is Forbidden.
async fn echo_but_no_hello(ws: &mut Ws) {
    assert_eq!(ask(ws, r#"{"action":"echo"}"#).await["routeKey"], "echo");
    assert_eq!(
        ask(ws, r#"{"action":"hello"}"#).await["message"],
        "Forbidden"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_binary_gets_fresh_instances_and_no_socket_drops() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("fn");
    std::fs::create_dir(&code).unwrap();
    let binary = code.join("bootstrap");
    std::fs::copy(bin("probe"), &binary).unwrap();
    let extra = format!(
        r#"
[functions.probe]
command = ["{}"]
env = {{ PROBE_LOG = "{{log}}" }}
timeout_secs = 30
max_concurrency = 2

[routes]
echo = {{ function = "probe", route_response = true }}
"#,
        binary.display()
    );
    let text = config_text("", &extra, &dir.path().join("events.jsonl"));
    let mut config = Config::from_toml(&text, Path::new("test.toml"), dir.path()).unwrap();
    config.watch = true;
    let gateway = Gateway::start(config).await.unwrap();
    let url = gateway.ws_url();
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let old = ask(&mut ws, r#"{"action":"echo"}"#).await["pid"].clone();

    // A slow message is being handled (held at a gate) when the code changes.
    let gate = dir.path().join("gate");
    let held = serde_json::json!({"action": "echo", "do": format!("wait:{}", gate.display())});
    ws.send(Message::text(held.to_string())).await.unwrap();
    let events = dir.path().join("events.jsonl");
    eventually("the slow message is being handled", async || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"MESSAGE\""))
            .count()
            == 2
    })
    .await;
    rebuild(&bin("probe"), &binary);
    let function = gateway.function("probe").unwrap();
    eventually("the code change taken", async || function.reloads() == 1).await;
    std::fs::write(&gate, "").unwrap();
    let slow = next_json(&mut ws).await;
    assert_eq!(
        slow["pid"], old,
        "the busy instance finished its invocation: {slow}"
    );

    // The next message, on the same socket, runs on a fresh instance.
    let fresh = ask(&mut ws, r#"{"action":"echo"}"#).await;
    assert_ne!(fresh["pid"], old, "{fresh}");
    assert_eq!(gateway.connection_count(), 1);
    gateway.shutdown().await;
}

/// `--build`: a burst of source changes runs the build once; a failing build
/// leaves the gateway serving.
#[tokio::test(flavor = "multi_thread")]
async fn source_changes_run_the_build_once_and_a_failure_keeps_serving() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("handler.rs"), "fn main() {}").unwrap();
    // The probe's own records go elsewhere: they are not sources.
    let records = tempfile::tempdir().unwrap();
    let text = config_text("", PROBE_APP, &records.path().join("events.jsonl"));
    let mut config = Config::from_toml(&text, Path::new("test.toml"), dir.path()).unwrap();
    // The build's own output goes under target/, which is never watched.
    config.build = Some(
        "mkdir -p target && echo run >> target/builds.log && ! grep -q broken src/handler.rs"
            .into(),
    );
    let gateway = Gateway::start(config).await.unwrap();
    let builds = || {
        std::fs::read_to_string(dir.path().join("target/builds.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    for i in 0..5 {
        std::fs::write(src.join("handler.rs"), format!("fn main() {{ {i} }}")).unwrap();
    }
    eventually("a build after the burst", async || builds() == 1).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(builds(), 1, "one build for a burst of changes");

    std::fs::write(src.join("handler.rs"), "broken").unwrap();
    eventually("a build after the breaking change", async || builds() == 2).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(gateway.ws_url())
        .await
        .unwrap();
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
    gateway.shutdown().await;
}

/// With `--watch`, an edited config adds a route live: the open socket stays
/// and uses it; an invalid edit is reported and the running model stays.
#[tokio::test(flavor = "multi_thread")]
async fn an_edited_config_adds_a_route_live() {
    let app = |routes: &str| {
        format!(
            r#"
[functions.probe]
command = ["{{probe}}"]
env = {{ PROBE_LOG = "{{log}}" }}

[routes]
echo = {{ function = "probe", route_response = true }}
{routes}
"#
        )
    };
    let running = crate::binary::run_wsgate_with(&app(""), &["--watch"], &[]).await;
    let file = running.dir.path().join("wsgate.toml");
    let events = running.dir.path().join("events.jsonl");
    let (mut ws, _) = tokio_tungstenite::connect_async(&running.url)
        .await
        .unwrap();
    echo_but_no_hello(&mut ws).await;

    let added = app(r#"hello = { function = "probe", route_response = true }"#);
    std::fs::write(&file, config_text("", &added, &events)).unwrap();
    eventually("the reload", async || running.log().contains("reloaded:")).await;
    let reply = ask(&mut ws, r#"{"action":"hello"}"#).await;
    assert_eq!(reply["routeKey"], "hello", "{reply}");

    // A broken edit: reported as at start-up, and nothing changes.
    std::fs::write(&file, "[api]\nidle_timeout = 5\n").unwrap();
    eventually("the refusal", async || {
        running.log().contains("the running model stays")
    })
    .await;
    assert!(running.log().contains("idle_timeout"), "{}", running.log());
    assert_eq!(
        ask(&mut ws, r#"{"action":"hello"}"#).await["routeKey"],
        "hello"
    );
}

/// A SAM template whose echo route (and, with `extra`, more) runs the probe.
fn template(extra: &str) -> String {
    let route = |name: &str, key: &str| {
        format!(
            r#"
  {name}Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: {key}
      Target: !Sub integrations/${{Integration}}
  {name}RouteResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Api
      RouteId: !Ref {name}Route
      RouteResponseKey: $default
"#
        )
    };
    let mut text = String::from(
        r#"Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: live
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: live}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Probe.Arn}/invocations
  Probe:
    Type: AWS::Serverless::Function
    Properties: {Runtime: provided.al2023, Handler: probe}
"#,
    );
    text.push_str(&route("Echo", "echo"));
    if !extra.is_empty() {
        text.push_str(&route("Hello", extra));
    }
    text
}

/// The binary with `--watch` on a template written to a folder of its own.
async fn run_template(text: &str) -> (crate::binary::Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("template.yaml");
    std::fs::write(&file, text).unwrap();
    let bins = bin_dir().to_string_lossy().into_owned();
    let path = file.to_string_lossy().into_owned();
    let args = [
        "--template",
        path.as_str(),
        "--bin-dir",
        bins.as_str(),
        "--listen",
        "127.0.0.1:0",
        "--watch",
    ];
    (crate::binary::run_wsgate_with("", &args, &[]).await, dir)
}

/// The same through a SAM template: a route added to it is live at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_template_change_adds_a_route_live() {
    let (running, dir) = run_template(&template("")).await;
    let file = dir.path().join("template.yaml");
    let (mut ws, _) = tokio_tungstenite::connect_async(&running.url)
        .await
        .unwrap();
    echo_but_no_hello(&mut ws).await;
    std::fs::write(&file, template("hello")).unwrap();
    eventually("the reload", async || running.log().contains("reloaded:")).await;
    assert_eq!(
        ask(&mut ws, r#"{"action":"hello"}"#).await["routeKey"],
        "hello"
    );
}

/// A renamed stage: the old stage's sockets close with 1001 (the stage is
/// gone), the new name takes clients, the old one answers 403.
#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_stage_closes_the_old_stages_sockets() {
    let (running, dir) = run_template(&template("")).await;
    let file = dir.path().join("template.yaml");
    let (mut ws, _) = tokio_tungstenite::connect_async(&running.url)
        .await
        .unwrap();
    assert_eq!(
        ask(&mut ws, r#"{"action":"echo"}"#).await["routeKey"],
        "echo"
    );
    std::fs::write(
        &file,
        template("").replace("StageName: live", "StageName: next"),
    )
    .unwrap();
    assert_eq!(expect_close(&mut ws).await.0, 1001);
    let renamed = running.url.replace("/live", "/next");
    let (mut ws, _) = tokio_tungstenite::connect_async(&renamed).await.unwrap();
    let reply = ask(&mut ws, r#"{"action":"echo"}"#).await;
    assert_eq!(reply["routeKey"], "echo", "{reply}");
    match tokio_tungstenite::connect_async(&running.url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("the old stage still answers: {:?}", other.map(|_| ())),
    }
}
