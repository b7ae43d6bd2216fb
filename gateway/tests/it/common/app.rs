//! The repo's app (wsgate.toml, the handler binaries) on an emulator, for end-to-end tests.

use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::SinkExt;
use serde_json::{Value, json};
use testkit::Emulator;
use tokio_tungstenite::tungstenite::Message;
use wsgate::{Config, Gateway};

use super::*;

/// DynamoDB and SQS for a test: an emulator of its own, or an endpoint
/// started elsewhere (LocalStack in a container).
pub enum Backend {
    Emulator(Emulator),
    External(String),
}

impl Backend {
    pub fn endpoint(&self) -> &str {
        match self {
            Backend::Emulator(e) => e.endpoint(),
            Backend::External(e) => e,
        }
    }
}

pub struct App {
    pub backend: Backend,
    pub gateway: Gateway,
    pub sdk: aws_config::SdkConfig,
}

/// Where the app's description comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// wsgate.toml, the native config.
    Toml,
    /// template.yaml, the SAM template that also deploys to AWS.
    Template,
}

/// The app in an authentication mode (what scripts/dev does with
/// WSGATE_AUTH_MODE) from template.yaml, with template parameters.
pub async fn start_app_in(mode: &str, parameters: &[(&str, &str)]) -> App {
    start_app_from(Source::Template, mode, parameters).await
}

pub async fn start_app_from(source: Source, mode: &str, parameters: &[(&str, &str)]) -> App {
    start_app_on(
        Backend::Emulator(Emulator::start()),
        source,
        mode,
        parameters,
    )
    .await
}

pub async fn start_app_on(
    backend: Backend,
    source: Source,
    mode: &str,
    parameters: &[(&str, &str)],
) -> App {
    logs();
    let endpoint = backend.endpoint().to_string();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut config = match source {
        Source::Template => {
            let mut options = wsgate::template::TemplateOptions {
                // The binaries are wherever this test's build put them.
                bin_dir: Some(bin_dir()),
                endpoint_url: Some(endpoint.clone()),
                static_dir: Some(repo.join("web")),
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            };
            let defaults = [
                ("StageName", "local"),
                ("AuthMode", mode),
                ("TokenSecret", "local-development-secret"),
            ];
            for (k, v) in defaults.iter().chain(parameters) {
                options.parameters.insert(k.to_string(), v.to_string());
            }
            wsgate::template::load(&repo.join("template.yaml"), &options)
                .unwrap()
                .config
        }
        Source::Toml => {
            let path = repo.join("wsgate.toml");
            let target = bin_dir().parent().unwrap().to_owned();
            let authorizer = if mode == "authorizer" { "token" } else { "" };
            let mut text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("${CARGO_TARGET_DIR:-target}", &target.to_string_lossy())
                .replace("${WSGATE_AUTH_MODE:-authorizer}", mode)
                .replace("${WSGATE_CONNECT_AUTHORIZER-token}", authorizer);
            for (name, value) in parameters {
                // The template's parameters are these variables in wsgate.toml.
                let var = match *name {
                    "TokenSecret" => "TOKEN_SECRET",
                    "AuthGraceSecs" => "AUTH_GRACE_SECS",
                    other => panic!("wsgate.toml has no variable for {other}"),
                };
                let start = text
                    .find(&format!("${{{var}:-"))
                    .expect("a variable of wsgate.toml");
                let end = start + text[start..].find('}').unwrap();
                text.replace_range(start..=end, value);
            }
            let mut config = Config::from_toml(&text, &path, path.parent().unwrap()).unwrap();
            config.api.listen = "127.0.0.1:0".parse().unwrap();
            config.aws.endpoint_url = Some(endpoint.clone());
            config
        }
    };
    // Quick redelivery (above the time a batch takes here), so a poison message reaches its DLQ within seconds.
    for q in &mut config.provision.queues {
        q.visibility_timeout_secs = 3;
    }
    // The visibility timeout must cover the functions' timeouts, as on AWS.
    for f in config.functions.values_mut() {
        f.timeout_secs = f.timeout_secs.min(3);
    }
    let gateway = Gateway::start(config).await.unwrap();
    let sdk = testkit::sdk_config(&endpoint).await;
    App {
        backend,
        gateway,
        sdk,
    }
}

impl App {
    pub async fn connect(&self, user: &str) -> (Ws, String) {
        let before = self.connections_of(user).await;
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("{}?userId={user}", self.gateway.ws_url()))
                .await
                .unwrap();
        // The record appears when $connect has run, which is before the handshake ends.
        let after = self.connections_of(user).await;
        let new: Vec<_> = after
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        assert_eq!(new.len(), 1, "exactly one new record for {user}");
        (ws, new[0].clone())
    }

    pub async fn connections_of(&self, user: &str) -> Vec<String> {
        let out = aws_sdk_dynamodb::Client::new(&self.sdk)
            .query()
            .table_name("Connections")
            .index_name("UserIdIndex")
            .key_condition_expression("UserId = :u")
            .expression_attribute_values(":u", AttributeValue::S(user.into()))
            .send()
            .await
            .unwrap();
        out.items()
            .iter()
            .map(|i| i["ConnectionId"].as_s().unwrap().clone())
            .collect()
    }

    pub async fn record_exists(&self, id: &str) -> bool {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name("Connections")
            .key("ConnectionId", AttributeValue::S(id.into()))
            .send()
            .await
            .unwrap()
            .item
            .is_some()
    }

    pub async fn queue_url(&self, name: &str) -> String {
        aws_sdk_sqs::Client::new(&self.sdk)
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    }

    /// Sends a message the way the README does: with the aws CLI.
    pub async fn send_with_cli(&self, queue: &str, body: &str) {
        let url = self.queue_url(queue).await;
        let endpoint = self.backend.endpoint();
        let out = aws_cli(&[
            "sqs",
            "send-message",
            "--endpoint-url",
            endpoint,
            "--queue-url",
            &url,
            "--message-body",
            body,
        ])
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `aws --endpoint-url ENDPOINT sqs send-message --queue-url …/NotifyUser
/// --message-body BODY`, as the README sends it.
pub async fn notify_user_with_cli(endpoint: &str, body: &str) {
    let queue = format!("{endpoint}/000000000000/NotifyUser");
    let sent = aws_cli(&[
        "--endpoint-url",
        endpoint,
        "sqs",
        "send-message",
        "--queue-url",
        &queue,
        "--message-body",
        body,
    ])
    .await;
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
}

/// Pings and returns the next frame: whatever was queued for the socket before it, else the pong.
pub async fn ping(ws: &mut Ws, name: &str) -> Value {
    ws.send(Message::text(
        json!({"action":"ping","name":name}).to_string(),
    ))
    .await
    .unwrap();
    next_json(ws).await
}

/// Two users, three sockets, both queues, a stale record and a poison message:
/// the same scenario on every backend.
pub async fn notification_scenario(app: App) {
    // $connect refuses a socket without a user.
    match tokio_tungstenite::connect_async(app.gateway.ws_url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 400),
        other => panic!("{:?}", other.map(|_| ())),
    }

    let (mut a1, a1_id) = app.connect("alice").await;
    let (mut a2, a2_id) = app.connect("alice").await;
    let (mut b1, b1_id) = app.connect("bob").await;

    // ping → pong, through the NotifyConnection queue.
    assert_eq!(
        ping(&mut a1, "Stepan").await,
        json!({"action":"pong","message":"Hello, Stepan!"})
    );
    // Anything else → not implemented, naming the action.
    a2.send(Message::text(r#"{"action":"dance"}"#))
        .await
        .unwrap();
    let reply = next_json(&mut a2).await;
    assert_eq!(reply["action"], "error");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("\"dance\" is not implemented"),
        "{reply}"
    );
    a2.send(Message::text("no json here")).await.unwrap();
    assert_eq!(next_json(&mut a2).await["action"], "error");

    // A NotifyUser message reaches both of alice's sockets, once each, and not bob's.
    let download = json!({"type":"download","url":"https://example.com/report.pdf"});
    app.send_with_cli(
        "NotifyUser",
        &json!({"userId":"alice","data":download}).to_string(),
    )
    .await;
    assert_eq!(next_json(&mut a1).await, download);
    assert_eq!(next_json(&mut a2).await, download);
    // The next frame each socket gets is its pong: nothing was delivered twice, or to bob.
    for ws in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(ping(ws, "again").await["action"], "pong");
    }

    // A NotifyConnection message reaches one socket; strings arrive as they are.
    app.send_with_cli(
        "NotifyConnection",
        &json!({"connectionId":a2_id,"data":"just you"}).to_string(),
    )
    .await;
    assert_eq!(next_text(&mut a2).await, "just you");
    assert_eq!(ping(&mut a1, "x").await["action"], "pong");

    // Disconnect removes the record.
    b1.close(None).await.unwrap();
    eventually("bob's record removal", async || {
        !app.record_exists(&b1_id).await
    })
    .await;

    // A stale record (its socket long gone) is cleaned up on 410, and the live ones still get the message.
    let stale = "AAAAAAAAAAAAAAA=";
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .put_item()
        .table_name("Connections")
        .item("ConnectionId", AttributeValue::S(stale.into()))
        .item("UserId", AttributeValue::S("alice".into()))
        .item("ConnectedAt", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    app.send_with_cli("NotifyUser", r#"{"userId":"alice","data":"second"}"#)
        .await;
    assert_eq!(next_text(&mut a1).await, "second");
    assert_eq!(next_text(&mut a2).await, "second");
    eventually("the stale record's removal", async || {
        !app.record_exists(stale).await
    })
    .await;
    assert!(app.record_exists(&a1_id).await && app.record_exists(&a2_id).await);

    // A user with no sockets is not an error, and nobody else hears of it.
    app.send_with_cli("NotifyUser", r#"{"userId":"nobody","data":"lost"}"#)
        .await;

    // A poison message lands in the DLQ; the good one beside it is delivered.
    app.send_with_cli("NotifyUser", "this is not JSON").await;
    app.send_with_cli(
        "NotifyUser",
        r#"{"userId":"alice","data":"after the poison"}"#,
    )
    .await;
    assert_eq!(next_text(&mut a1).await, "after the poison");
    assert_eq!(next_text(&mut a2).await, "after the poison");
    let dead = dead_letters(&app.sdk, "NotifyUser-DLQ").await;
    assert_eq!(dead, vec!["this is not JSON".to_string()]);
    // Nothing else was queued for alice: not the poison, not nobody's message.
    assert_eq!(ping(&mut a2, "end").await["action"], "pong");

    drop((a1, a2));
    app.gateway.shutdown().await;
}
