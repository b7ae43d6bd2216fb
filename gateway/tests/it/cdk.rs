//! A CDK app's synthesized output (tests/cdk-app/cdk.out), run as it is:
//! AWS::Lambda::Function code from CDK assets, Fn::Join'd integration URIs and
//! callback URLs, an AWS::Lambda::EventSourceMapping from SQS.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::apps::start_template;
use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_cdk_chat_broadcasts_through_its_queue() {
    let app = start_template("cdk-app/cdk.out/ChatStack.template.json").await;
    let mut alice = app.connect().await;
    let mut bob = app.connect().await;
    // Python puts the message on the queue; the SQS-triggered Node broadcaster
    // posts it to every socket through the stage's callback URL.
    alice
        .send(Message::text(
            r#"{"action":"sendmessage","data":"hi from CDK"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(next_text(&mut alice).await, "hi from CDK");
    assert_eq!(next_text(&mut bob).await, "hi from CDK");
    app.gateway.shutdown().await;
}
