//! The handlers' shared code and handler functions, in-process, against an emulator (MiniStack by default, WSGATE_TEST_BACKEND=moto for moto).

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use handlers::app::App;
use handlers::consumers;
use handlers::messages::NotifyConnection;
use handlers::queue::Queue;
use handlers::routes;
use handlers::settings::Settings;
use handlers::store::ConnectionRecord;
use serde_json::{Value, json};
use testkit::Emulator;

async fn table(sdk: &aws_config::SdkConfig, name: &str) {
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("ConnectionId"))
        .attribute_definitions(attr("UserId"))
        .key_schema(key("ConnectionId", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("UserIdIndex")
                .key_schema(key("UserId", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

async fn queue(sdk: &aws_config::SdkConfig, name: &str) -> String {
    aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// Every message now in a queue, parsed.
async fn drain(sdk: &aws_config::SdkConfig, url: &str) -> Vec<NotifyConnection> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            out.push(NotifyConnection::parse(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

fn ws_event(connection_id: &str, extra: Value) -> Value {
    let mut e = json!({
        "requestContext": { "connectionId": connection_id, "connectedAt": 1700000000000i64 },
    });
    if let (Value::Object(e), Value::Object(extra)) = (&mut e, extra) {
        e.extend(extra);
    }
    e
}

fn sqs_event(bodies: &[&str]) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (i, body) in bodies.iter().enumerate() {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("m{i}"));
        m.body = Some(body.to_string());
        event.records.push(m);
    }
    event
}

struct Env {
    _backend: Emulator,
    sdk: aws_config::SdkConfig,
    app: App,
    queue_url: String,
}

async fn env() -> Env {
    env_with(&[]).await
}

/// An app against a fresh emulator, with these settings over the defaults.
async fn env_with(vars: &[(&str, &str)]) -> Env {
    let backend = Emulator::start();
    let sdk = backend.sdk_config().await;
    table(&sdk, "Connections").await;
    let queue_url = queue(&sdk, "NotifyConnection").await;
    queue(&sdk, "CloseUnauthorized").await;
    let settings = Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    Env {
        app: App::new(settings, &sdk),
        sdk,
        queue_url,
        _backend: backend,
    }
}

fn record(id: &str, user: &str) -> ConnectionRecord {
    ConnectionRecord {
        connection_id: id.into(),
        user_id: Some(user.into()),
        connected_at: 5,
        authorized: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_finds_connections_by_user() {
    let env = env().await;
    for (id, user) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
        env.app.store.put(&record(id, user)).await.unwrap();
    }
    let mut alice = env.app.store.connections_of("alice").await.unwrap();
    alice.sort();
    assert_eq!(alice, ["a1", "a2"]);
    assert!(
        env.app
            .store
            .connections_of("nobody")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        env.app
            .store
            .get("b1")
            .await
            .unwrap()
            .unwrap()
            .user_id
            .as_deref(),
        Some("bob")
    );
    env.app.store.delete("a1").await.unwrap();
    env.app.store.delete("never-there").await.unwrap();
    assert_eq!(env.app.store.connections_of("alice").await.unwrap(), ["a2"]);
    assert_eq!(env.app.store.get("a1").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_sends_in_batches_of_ten() {
    let env = env().await;
    let messages: Vec<_> = (0..23)
        .map(|i| NotifyConnection {
            connection_id: format!("c{i}"),
            data: json!(i),
        })
        .collect();
    // Through a proxy that counts the SendMessageBatch requests: 23 messages are three.
    let proxy =
        testkit::CountingProxy::start(env._backend.endpoint(), "AmazonSQS.SendMessageBatch").await;
    let counted_sdk = testkit::sdk_config(&proxy.endpoint).await;
    Queue::new(&counted_sdk, env.queue_url.clone())
        .send_all(&messages)
        .await
        .unwrap();
    assert_eq!(proxy.count(), 3, "batches of ten: 10 + 10 + 3");
    let mut got = drain(&env.sdk, &env.queue_url).await;
    got.sort_by_key(|m| m.data.as_i64());
    assert_eq!(got, messages);
    // A queue URL works as well as a name; a missing queue is a clear error.
    Queue::new(&env.sdk, env.queue_url.clone())
        .send(&messages[0])
        .await
        .unwrap();
    let err = Queue::new(&env.sdk, "Missing")
        .send(&messages[0])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Missing"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_needs_a_user_and_prefers_the_authorizers() {
    let env = env().await;
    let refused = routes::connect(&env.app, ws_event("c0", json!({})))
        .await
        .unwrap();
    assert_eq!(refused["statusCode"], 400);
    let empty = json!({"queryStringParameters": {"userId": "  "}});
    assert_eq!(
        routes::connect(&env.app, ws_event("c0", empty))
            .await
            .unwrap()["statusCode"],
        400
    );

    let ok = routes::connect(
        &env.app,
        ws_event("c1", json!({"queryStringParameters": {"userId": "1234"}})),
    )
    .await
    .unwrap();
    assert_eq!(ok["statusCode"], 200);
    let r = env.app.store.get("c1").await.unwrap().unwrap();
    assert_eq!(
        (r.user_id.as_deref(), r.connected_at),
        (Some("1234"), 1700000000000)
    );

    let both = json!({
        "queryStringParameters": {"userId": "mallory"},
        "requestContext": {"connectionId": "c2", "authorizer": {"userId": "alice", "principalId": "alice"}},
    });
    routes::connect(&env.app, both).await.unwrap();
    assert_eq!(
        env.app
            .store
            .get("c2")
            .await
            .unwrap()
            .unwrap()
            .user_id
            .as_deref(),
        Some("alice")
    );

    routes::disconnect(&env.app, ws_event("c1", json!({})))
        .await
        .unwrap();
    assert_eq!(env.app.store.get("c1").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_default_answer_through_the_queue() {
    let env = env().await;
    routes::ping(
        &env.app,
        ws_event(
            "c1",
            json!({"body": r#"{"action":"ping","name":"Stepan"}"#}),
        ),
    )
    .await
    .unwrap();
    routes::default(
        &env.app,
        ws_event("c2", json!({"body": r#"{"action":"dance"}"#})),
    )
    .await
    .unwrap();
    routes::default(&env.app, ws_event("c3", json!({"body": "not json"})))
        .await
        .unwrap();
    let mut got = drain(&env.sdk, &env.queue_url).await;
    got.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
    assert_eq!(
        got[0].data,
        json!({"action":"pong","message":"Hello, Stepan!"})
    );
    assert_eq!(
        got[1].data["message"],
        "Action \"dance\" is not implemented"
    );
    assert_eq!(got[2].data["action"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_user_fans_out_and_reports_malformed_records_alone() {
    let env = env().await;
    for id in ["a1", "a2"] {
        env.app.store.put(&record(id, "alice")).await.unwrap();
    }
    let event = sqs_event(&[
        r#"{"userId":"alice","data":{"type":"download"}}"#,
        "not json",
        r#"{"userId":"nobody","data":1}"#,
        r#"{"data":1}"#,
    ]);
    let response = consumers::notify_user(&env.app, event).await;
    let mut failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    assert_eq!(failed, ["m1", "m3"]);
    let mut got = drain(&env.sdk, &env.queue_url).await;
    got.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
    let ids: Vec<_> = got.iter().map(|m| m.connection_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    assert!(got.iter().all(|m| m.data == json!({"type":"download"})));
}

/// A batch is handled whole: one GSI query per user in it, and every record's
/// messages sent together, ten to a call (counted at the wire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_user_queries_each_user_once_per_batch() {
    let env = env().await;
    for (id, user) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
        env.app.store.put(&record(id, user)).await.unwrap();
    }
    let queries =
        testkit::CountingProxy::start(env._backend.endpoint(), "DynamoDB_20120810.Query").await;
    let sends =
        testkit::CountingProxy::start(&queries.endpoint, "AmazonSQS.SendMessageBatch").await;
    let counted_sdk = testkit::sdk_config(&sends.endpoint).await;
    let app = App::new(Settings::from_lookup(|_| None).unwrap(), &counted_sdk);
    let bodies: Vec<String> = (0..10)
        .map(|i| {
            let user = if i < 6 { "alice" } else { "bob" };
            format!(r#"{{"userId":"{user}","data":{i}}}"#)
        })
        .collect();
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let response = consumers::notify_user(&app, sqs_event(&bodies)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(queries.count(), 2, "one query per user, not per message");
    assert_eq!(sends.count(), 2, "16 messages: 10 + 6");
    let got = drain(&env.sdk, &env.queue_url).await;
    assert_eq!(got.len(), 16);
    for i in 0..10 {
        let to: Vec<_> = got
            .iter()
            .filter(|m| m.data == json!(i))
            .map(|m| m.connection_id.as_str())
            .collect();
        assert_eq!(to.len(), if i < 6 { 2 } else { 1 }, "message {i}: {to:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_connection_reports_what_it_could_not_push() {
    let env = env().await;
    // A management API that does not answer: the record must be kept and the message retried.
    let unreachable = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "test", None, None, "t"),
        ))
        .endpoint_url(format!("http://127.0.0.1:{}", testkit::free_port()))
        .build();
    env.app.store.put(&record("c1", "u")).await.unwrap();
    let event = sqs_event(&[
        r#"{"connectionId":"c1","data":"hi"}"#,
        r#"{"data":"no id"}"#,
    ]);
    // The management API is unreachable; the table is the emulator's.
    let mut app = App::new(Settings::from_lookup(|_| None).unwrap(), &unreachable);
    app.store = env.app.store.clone();
    let response = consumers::notify_connection(&app, event).await;
    assert_eq!(response.batch_item_failures.len(), 2);
    assert!(env.app.store.get("c1").await.unwrap().is_some());
}

const SECRET: &str = "test-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_mode_refuses_everything_until_authorize() {
    let env = env_with(&[
        ("AUTH_MODE", "action"),
        ("TOKEN_SECRET", SECRET),
        ("AUTH_GRACE_SECS", "0"),
    ])
    .await;
    // $connect accepts without a user and schedules the grace-period check.
    let ok = routes::connect(&env.app, ws_event("c1", json!({})))
        .await
        .unwrap();
    assert_eq!(ok["statusCode"], 200);
    let r = env.app.store.get("c1").await.unwrap().unwrap();
    assert!(!r.authorized && r.user_id.is_none());
    let closings = queue(&env.sdk, "CloseUnauthorized").await;
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let scheduled = sqs
        .receive_message()
        .queue_url(&closings)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        scheduled.messages()[0].body(),
        Some(r#"{"connectionId":"c1"}"#)
    );

    // Anything but authorize is refused, and does nothing else.
    routes::ping(
        &env.app,
        ws_event("c1", json!({"body": r#"{"action":"ping"}"#})),
    )
    .await
    .unwrap();
    routes::default(
        &env.app,
        ws_event("c1", json!({"body": r#"{"action":"x"}"#})),
    )
    .await
    .unwrap();
    let replies = drain(&env.sdk, &env.queue_url).await;
    assert_eq!(replies.len(), 2);
    assert!(replies.iter().all(|m| {
        m.data["message"]
            .as_str()
            .unwrap()
            .starts_with("Not authorized")
    }));

    // A wrong or expired token is refused; a good one makes the socket the user's.
    let now = handlers::token::now();
    for bad in [
        "garbage".to_string(),
        handlers::token::mint(b"other", "alice", now, 60),
        handlers::token::mint(SECRET.as_bytes(), "alice", now, -1),
    ] {
        let body = json!({"action":"authorize","token":bad}).to_string();
        routes::authorize(&env.app, ws_event("c1", json!({"body": body})))
            .await
            .unwrap();
    }
    let good = handlers::token::mint(SECRET.as_bytes(), "alice", now, 60);
    let body = json!({"action":"authorize","token":good}).to_string();
    routes::authorize(&env.app, ws_event("c1", json!({"body": body})))
        .await
        .unwrap();
    let replies = drain(&env.sdk, &env.queue_url).await;
    let messages: Vec<_> = replies
        .iter()
        .map(|m| m.data["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(messages[0].contains("malformed"), "{messages:?}");
    assert!(messages[1].contains("signature"), "{messages:?}");
    assert!(messages[2].contains("expired"), "{messages:?}");
    assert_eq!(
        replies[3].data,
        json!({"action":"authorized","userId":"alice"})
    );
    let r = env.app.store.get("c1").await.unwrap().unwrap();
    assert!(r.authorized);
    assert_eq!(env.app.store.connections_of("alice").await.unwrap(), ["c1"]);

    // Now ping works; the grace-period check leaves an authorized socket alone.
    routes::ping(
        &env.app,
        ws_event("c1", json!({"body": r#"{"action":"ping","name":"A"}"#})),
    )
    .await
    .unwrap();
    assert_eq!(
        drain(&env.sdk, &env.queue_url).await[0].data["action"],
        "pong"
    );
    let response =
        consumers::close_unauthorized(&env.app, sqs_event(&[r#"{"connectionId":"c1"}"#, "junk"]))
            .await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, ["m1"]);
    assert!(env.app.store.get("c1").await.unwrap().is_some());
}

#[tokio::test]
async fn the_authorizer_and_token_functions() {
    let settings =
        Settings::from_lookup(|k| (k == "TOKEN_SECRET").then(|| SECRET.to_string())).unwrap();
    let minted =
        handlers::auth::token(&settings, &json!({"body": r#"{"userId":"1234"}"#})).unwrap();
    assert_eq!(minted["statusCode"], 200);
    let token = serde_json::from_str::<Value>(minted["body"].as_str().unwrap()).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let no_user = handlers::auth::token(&settings, &json!({"body": "{}"})).unwrap();
    assert_eq!(no_user["statusCode"], 400);

    let event = |t: &str| json!({"type":"REQUEST","methodArn":"arn:x/local/$connect","queryStringParameters":{"token":t}});
    let allow = handlers::auth::authorizer(&settings, &event(&token)).unwrap();
    assert_eq!(allow["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(
        allow["policyDocument"]["Statement"][0]["Resource"],
        "arn:x/local/$connect"
    );
    assert_eq!(allow["context"]["userId"], "1234");
    assert_eq!(allow["principalId"], "1234");
    let expired =
        handlers::token::mint(SECRET.as_bytes(), "1234", handlers::token::now() - 100, 10);
    let deny = handlers::auth::authorizer(&settings, &event(&expired)).unwrap();
    assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");
    let err = handlers::auth::authorizer(&settings, &event("")).unwrap_err();
    assert_eq!(err.to_string(), "Unauthorized");
    let unset = Settings::from_lookup(|_| None).unwrap();
    assert!(
        handlers::auth::authorizer(&unset, &event(&token))
            .unwrap_err()
            .to_string()
            .contains("TOKEN_SECRET")
    );
}
