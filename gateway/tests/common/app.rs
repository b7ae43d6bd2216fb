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
    logs();
    let moto = Moto::start();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut config = match source {
        Source::Template => {
            let mut options = wsgate::template::TemplateOptions {
                // The binaries are wherever this test's build put them.
                bin_dir: Some(bin_dir()),
                endpoint_url: Some(moto.endpoint().to_string()),
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
            config.aws.endpoint_url = Some(moto.endpoint().to_string());
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
