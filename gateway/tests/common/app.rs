//! The repo's app (wsgate.toml, the handler binaries) on moto, for end-to-end tests.

use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use testkit::Moto;
use wsgate::{Config, Gateway};

use super::*;

pub struct App {
    pub moto: Moto,
    pub gateway: Gateway,
    pub sdk: aws_config::SdkConfig,
}

/// The repo's wsgate.toml in an authentication mode (what scripts/dev does with
/// WSGATE_AUTH_MODE), with `vars` filled in as the environment would.
pub async fn start_app_in(mode: &str, vars: &[(&str, &str)]) -> App {
    let moto = Moto::start();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wsgate.toml");
    // The binaries are wherever this test's build put them.
    let target = bin_dir().parent().unwrap().to_owned();
    let authorizer = if mode == "authorizer" { "token" } else { "" };
    let mut text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("${CARGO_TARGET_DIR:-target}", &target.to_string_lossy())
        .replace("${WSGATE_AUTH_MODE:-authorizer}", mode)
        .replace("${WSGATE_CONNECT_AUTHORIZER-token}", authorizer);
    for (name, value) in vars {
        let start = text
            .find(&format!("${{{name}:-"))
            .expect("a variable of wsgate.toml");
        let end = start + text[start..].find('}').unwrap();
        text.replace_range(start..=end, value);
    }
    let mut config = Config::from_toml(&text, &path, path.parent().unwrap()).unwrap();
    config.api.listen = "127.0.0.1:0".parse().unwrap();
    config.aws.endpoint_url = Some(moto.endpoint().to_string());
    // Quick redelivery (above the time a batch takes here), so a poison message reaches its DLQ within seconds.
    for q in &mut config.provision.queues {
        q.visibility_timeout_secs = 3;
    }
    let gateway = Gateway::start(config).await.unwrap();
    let sdk = moto.sdk_config().await;
    App { moto, gateway, sdk }
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
        let endpoint = self.moto.endpoint();
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
