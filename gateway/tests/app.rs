//! End to end: the repo's wsgate.toml, the real handler binaries, moto, the aws CLI.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::app::*;
use common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Pings and returns the next frame: whatever was queued for the socket before it, else the pong.
async fn ping(ws: &mut Ws, name: &str) -> Value {
    ws.send(Message::text(
        json!({"action":"ping","name":name}).to_string(),
    ))
    .await
    .unwrap();
    next_json(ws).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_the_template() {
    scenario(Source::Template).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_wsgate_toml() {
    scenario(Source::Toml).await;
}

/// Two users, three sockets, both queues, a stale record and a poison message.
async fn scenario(source: Source) {
    let app = start_app_from(source, "query", &[]).await;

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
