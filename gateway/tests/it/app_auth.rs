//! The app's two ways to know the user: a token checked by the `$connect`
//! authorizer, and the `authorize` action with a grace period.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use handlers::token;
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::common::app::*;
use crate::common::*;

const SECRET: &str = "a-test-secret-of-some-length";

async fn handshake_status(url: String) -> u16 {
    match connect_async(url).await {
        Err(Error::Http(r)) => r.status().as_u16(),
        Ok((_, r)) => r.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

/// A token from the app's own `POST /token`.
async fn token_for(app: &App, user: &str) -> String {
    let (status, _, body) = http(
        app.gateway.local_addr(),
        "POST",
        "/token",
        &json!({ "userId": user }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["userId"], user);
    reply["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_before_the_handshake() {
    let app = start_app_in("authorizer", &[("TokenSecret", SECRET)]).await;
    let url = app.gateway.ws_url();
    let now = token::now();

    // Missing or empty: 401 without the authorizer. Wrong, expired, forged: 403.
    assert_eq!(handshake_status(url.clone()).await, 401);
    assert_eq!(handshake_status(format!("{url}?token=")).await, 401);
    let wrong = token::mint(b"another secret", "alice", now, 60);
    let expired = token::mint(SECRET.as_bytes(), "alice", now - 120, 60);
    for bad in [wrong.as_str(), expired.as_str(), "not-a-token"] {
        assert_eq!(
            handshake_status(format!("{url}?token={bad}")).await,
            403,
            "{bad}"
        );
    }
    // A bare ?userId= is no longer trusted.
    assert_eq!(handshake_status(format!("{url}?userId=alice")).await, 401);
    let (status, _, _) = http(app.gateway.local_addr(), "POST", "/token", "{}").await;
    assert_eq!(status, 400);

    // A good token connects, as its user, whatever the query says.
    let alice = token_for(&app, "alice").await;
    let before = app.connections_of("alice").await;
    let (mut ws, _) = connect_async(format!("{url}?token={alice}&userId=mallory"))
        .await
        .unwrap();
    let mine: Vec<_> = app
        .connections_of("alice")
        .await
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(app.connections_of("mallory").await.is_empty());

    ws.send(Message::text(r#"{"action":"ping","name":"Alice"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["message"], "Hello, Alice!");
    app.send_with_cli(
        "NotifyUser",
        r#"{"userId":"alice","data":{"type":"download","url":"https://example.com/a.pdf"}}"#,
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "download");
    app.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorize_action_with_a_grace_period() {
    let app = start_app_in("action", &[("TokenSecret", SECRET), ("AuthGraceSecs", "4")]).await;
    let url = app.gateway.ws_url();

    // A socket that never authorizes is told why and closed after the grace
    // period. It goes first and warms on the way every function the next
    // socket's grace must cover (the refusal, the default route, authorize), so
    // no cold start eats into it.
    let (mut lazy, _) = connect_async(url.clone()).await.unwrap();
    for text in [
        r#"{"action":"ping","name":"x"}"#,
        r#"{"action":"dance"}"#,
        r#"{"action":"authorize","token":"junk"}"#,
    ] {
        lazy.send(Message::text(text)).await.unwrap();
    }
    let good = token_for(&app, "alice").await;
    // Its refusals and the reason it is closed, in whatever order they arrive
    // (each is a function's own push).
    let mut told = Vec::new();
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(15), lazy.next())
            .await
            .expect("a frame within 15 s")
        {
            Some(Ok(Message::Text(text))) => told.push(text.to_string()),
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            other => panic!("expected a frame, got {other:?}"),
        }
    };
    assert!(
        told.iter()
            .any(|t| t.contains("Not authorized within 4 s: closing")),
        "{told:?}"
    );
    assert_eq!(code, Some(1000));

    // Anyone connects; nothing but authorize is allowed until then.
    let (mut ws, _) = connect_async(url.clone()).await.unwrap();
    ws.send(Message::text(r#"{"action":"ping","name":"x"}"#))
        .await
        .unwrap();
    let refusal = next_json(&mut ws).await;
    assert_eq!(refusal["action"], "error");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .starts_with("Not authorized"),
        "{refusal}"
    );
    ws.send(Message::text(r#"{"action":"dance"}"#))
        .await
        .unwrap();
    assert!(
        next_json(&mut ws).await["message"]
            .as_str()
            .unwrap()
            .starts_with("Not authorized")
    );

    // Wrong and expired tokens are refused with a reason; the socket may try again.
    let expired = token::mint(SECRET.as_bytes(), "alice", token::now() - 120, 60);
    for (bad, why) in [("junk", "malformed"), (expired.as_str(), "expired")] {
        ws.send(Message::text(
            json!({"action":"authorize","token":bad}).to_string(),
        ))
        .await
        .unwrap();
        let reply = next_json(&mut ws).await;
        assert!(reply["message"].as_str().unwrap().contains(why), "{reply}");
    }
    // Unauthorized sockets are not the user's: notifications do not reach them.
    assert!(app.connections_of("alice").await.is_empty());

    ws.send(Message::text(
        json!({"action":"authorize","token":good}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws).await,
        json!({"action":"authorized","userId":"alice"})
    );
    assert_eq!(app.connections_of("alice").await.len(), 1);

    // The authorized one outlives its grace period and works.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    ws.send(Message::text(r#"{"action":"ping","name":"Alice"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["message"], "Hello, Alice!");
    app.send_with_cli("NotifyUser", r#"{"userId":"alice","data":"for alice"}"#)
        .await;
    assert_eq!(next_text(&mut ws).await, "for alice");
    app.gateway.shutdown().await;
}
