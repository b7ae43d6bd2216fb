//! The handlers' shared code and handler functions, in-process, against moto.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use handlers::consumers;
use handlers::messages::NotifyConnection;
use handlers::push::Pusher;
use handlers::queue::Notifier;
use handlers::routes;
use handlers::store::{ConnectionRecord, ConnectionStore};
use serde_json::{Value, json};
use testkit::Moto;

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
    _moto: Moto,
    sdk: aws_config::SdkConfig,
    store: ConnectionStore,
    notifier: Notifier,
    queue_url: String,
}

async fn env() -> Env {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    table(&sdk, "Connections").await;
    let queue_url = queue(&sdk, "NotifyConnection").await;
    Env {
        store: ConnectionStore::new(&sdk, "Connections"),
        notifier: Notifier::new(&sdk, "NotifyConnection"),
        sdk,
        queue_url,
        _moto: moto,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_finds_connections_by_user() {
    let env = env().await;
    for (id, user) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
        env.store
            .put(&ConnectionRecord {
                connection_id: id.into(),
                user_id: user.into(),
                connected_at: 5,
            })
            .await
            .unwrap();
    }
    let mut alice = env.store.connections_of("alice").await.unwrap();
    alice.sort();
    assert_eq!(alice, ["a1", "a2"]);
    assert!(env.store.connections_of("nobody").await.unwrap().is_empty());
    assert_eq!(env.store.get("b1").await.unwrap().unwrap().user_id, "bob");
    env.store.delete("a1").await.unwrap();
    env.store.delete("never-there").await.unwrap();
    assert_eq!(env.store.connections_of("alice").await.unwrap(), ["a2"]);
    assert_eq!(env.store.get("a1").await.unwrap(), None);
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
    env.notifier.notify_all(&messages).await.unwrap();
    let mut got = drain(&env.sdk, &env.queue_url).await;
    got.sort_by_key(|m| m.data.as_i64());
    assert_eq!(got, messages);
    // A queue URL works as well as a name; a missing queue is a clear error.
    Notifier::new(&env.sdk, env.queue_url.clone())
        .notify(&messages[0])
        .await
        .unwrap();
    let err = Notifier::new(&env.sdk, "Missing")
        .notify(&messages[0])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Missing"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_needs_a_user_and_prefers_the_authorizers() {
    let env = env().await;
    let refused = routes::connect(&env.store, ws_event("c0", json!({})))
        .await
        .unwrap();
    assert_eq!(refused["statusCode"], 400);
    let empty = json!({"queryStringParameters": {"userId": "  "}});
    assert_eq!(
        routes::connect(&env.store, ws_event("c0", empty))
            .await
            .unwrap()["statusCode"],
        400
    );

    let ok = routes::connect(
        &env.store,
        ws_event("c1", json!({"queryStringParameters": {"userId": "1234"}})),
    )
    .await
    .unwrap();
    assert_eq!(ok["statusCode"], 200);
    let r = env.store.get("c1").await.unwrap().unwrap();
    assert_eq!(
        (r.user_id.as_str(), r.connected_at),
        ("1234", 1700000000000)
    );

    let both = json!({
        "queryStringParameters": {"userId": "mallory"},
        "requestContext": {"connectionId": "c2", "authorizer": {"userId": "alice", "principalId": "alice"}},
    });
    routes::connect(&env.store, both).await.unwrap();
    assert_eq!(env.store.get("c2").await.unwrap().unwrap().user_id, "alice");

    routes::disconnect(&env.store, ws_event("c1", json!({})))
        .await
        .unwrap();
    assert_eq!(env.store.get("c1").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_default_answer_through_the_queue() {
    let env = env().await;
    routes::ping(
        &env.notifier,
        ws_event(
            "c1",
            json!({"body": r#"{"action":"ping","name":"Stepan"}"#}),
        ),
    )
    .await
    .unwrap();
    routes::default(
        &env.notifier,
        ws_event("c2", json!({"body": r#"{"action":"dance"}"#})),
    )
    .await
    .unwrap();
    routes::default(&env.notifier, ws_event("c3", json!({"body": "not json"})))
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
        env.store
            .put(&ConnectionRecord {
                connection_id: id.into(),
                user_id: "alice".into(),
                connected_at: 1,
            })
            .await
            .unwrap();
    }
    let event = sqs_event(&[
        r#"{"userId":"alice","data":{"type":"download"}}"#,
        "not json",
        r#"{"userId":"nobody","data":1}"#,
        r#"{"data":1}"#,
    ]);
    let response = consumers::notify_user(&env.store, &env.notifier, event).await;
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
    env.store
        .put(&ConnectionRecord {
            connection_id: "c1".into(),
            user_id: "u".into(),
            connected_at: 1,
        })
        .await
        .unwrap();
    let event = sqs_event(&[
        r#"{"connectionId":"c1","data":"hi"}"#,
        r#"{"data":"no id"}"#,
    ]);
    let response =
        consumers::notify_connection(&env.store, &Pusher::new(&unreachable), event).await;
    assert_eq!(response.batch_item_failures.len(), 2);
    assert!(env.store.get("c1").await.unwrap().is_some());
}
