//! Serverless Framework services run from their `serverless.yml`, as
//! serverless-offline users have them: authorizers by name, SQS and HTTP
//! events, `${self:custom…}` names, `${file(…)}`, `IS_OFFLINE` checks.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::common::apps::start_serverless;
use crate::common::*;

/// A Node service: its authorizer (by name) refuses and admits, `whoami` is
/// two-way, a broadcast goes through its SQS outbox to every socket, and the
/// socket is also at `/`, where serverless-offline serves it.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_service_runs_from_its_serverless_yml() {
    let app = start_serverless("sls-node", &[]).await;
    let url = app.gateway.ws_url();
    assert!(
        url.ends_with("/dev"),
        "the stage from ${{opt:stage, 'dev'}}: {url}"
    );
    let refused = connect_async(format!("{url}?token=nobody")).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
        "{refused:?}"
    );
    let (mut ada, _) = connect_async(format!("{url}?token=user-ada"))
        .await
        .unwrap();
    // serverless-offline's clients connect to the root.
    let root = url.trim_end_matches("/dev");
    let (mut bob, _) = connect_async(format!("{root}/?token=user-bob"))
        .await
        .unwrap();
    // Served at the root, any path is the socket's: a plain GET is told to upgrade.
    let (status, _, _) = http(app.gateway.local_addr(), "GET", "/1796600000000", "").await;
    assert_eq!(status, 426);
    let me = ask(&mut ada, r#"{"action":"whoami"}"#).await;
    assert_eq!(
        me,
        json!({"user": "ada", "plan": "free", "stage": "dev", "where": "offline"})
    );
    let stored = app.stored_ids("sls-chat-dev-connections").await;
    assert_eq!(
        stored.len(),
        2,
        "${{self:custom.tableName}} names the table"
    );
    ada.send(Message::text(r#"{"action":"broadcast","text":"hi all"}"#))
        .await
        .unwrap();
    for ws in [&mut ada, &mut bob] {
        let got: Value = serde_json::from_str(&next_text(ws).await).unwrap();
        assert_eq!(got, json!({"from": "ada", "text": "hi all"}));
    }
    bob.close(None).await.unwrap();
    eventually("$disconnect deleted bob", async || {
        app.stored_ids("sls-chat-dev-connections").await.len() == 1
    })
    .await;
    app.gateway.shutdown().await;
}

/// A Python service: `${file(./settings.yml):${sls:stage}}`, `${env:…, 'default'}`,
/// `--stage` through `-p stage=…`, an SQS worker with batch item failures and an
/// `httpApi` route beside the API.
#[tokio::test(flavor = "multi_thread")]
async fn a_python_service_runs_from_its_serverless_yml() {
    let app = start_serverless("sls-python", &[("stage", "prod")]).await;
    let url = app.gateway.ws_url();
    assert!(url.ends_with("/prod"), "{url}");
    let (mut ws, _) = connect_async(&url).await.unwrap();
    let joined = ask(&mut ws, r#"{"action":"join","room":"lobby"}"#).await;
    assert_eq!(
        joined,
        json!({"greeting": "welcome", "room": "lobby", "members": 1})
    );
    let unknown = ask(&mut ws, r#"{"action":"dance"}"#).await;
    assert_eq!(unknown["offline"], true, "{unknown}");
    let db = aws_sdk_dynamodb::Client::new(&app.sdk);
    let rooms = db.scan().table_name("rooms-prod").send().await.unwrap();
    assert_eq!(rooms.count(), 1, "the prod table from settings.yml");
    let (status, _, body) = http(app.gateway.local_addr(), "GET", "/health", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["ok"], true);
    app.gateway.shutdown().await;
}

/// A service file with a mistake names the key.
#[test]
fn a_bad_service_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serverless.yml");
    std::fs::write(
        &path,
        "service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  f:\n    handler: h.h\n    environment:\n      TABLE: ${self:custom.missing}\n",
    )
    .unwrap();
    let err = wsgate::serverless::load(&path, &Default::default(), true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("serverless.yml")
            && err.contains("functions.f.environment.TABLE")
            && err.contains("self:custom.missing"),
        "{err}"
    );
}

/// A service that bundles the JS SDK v2 and configures no endpoint: its
/// DynamoDB calls go to `dynamodb.us-east-1.amazonaws.com`, which inside the
/// function reaches the local backend; `@connections` by `domainName/stage`.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_bundling_the_sdk_v2_reaches_the_local_backend() {
    let app_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/sls-node-v2");
    assert!(
        app_dir.join("node_modules/aws-sdk").is_dir(),
        "{}: run `npm ci` there first (scripts/test does)",
        app_dir.display()
    );
    let app = start_serverless("sls-node-v2", &[]).await;
    let mut ada = app.connect().await;
    let mut bob = app.connect().await;
    assert_eq!(app.stored_ids("sls-legacy-chat-dev").await.len(), 2);
    ada.send(Message::text(r#"{"action":"say","text":"v2 says hi"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ada).await, "v2 says hi");
    assert_eq!(next_text(&mut bob).await, "v2 says hi");
    app.gateway.shutdown().await;
}
