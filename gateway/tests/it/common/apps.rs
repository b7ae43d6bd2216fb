//! The apps in tests/apps, each run from its SAM template on its own emulator.

use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use testkit::Emulator;
use wsgate::Gateway;
use wsgate::template::{self, TemplateOptions};

use super::*;

pub struct TemplateApp {
    pub gateway: Gateway,
    /// Held so the server lives as long as the app (dropping it stops the emulator).
    #[allow(dead_code)]
    backend: Emulator,
    pub sdk: aws_config::SdkConfig,
}

/// Loads `tests/apps/{name}/template.yaml` as `wsgate --template` does, on a fresh emulator.
pub async fn start_app(name: &str) -> TemplateApp {
    start_template(&format!("apps/{name}/template.yaml")).await
}

/// Loads a template under `tests/` as `wsgate --template` does, on a fresh emulator.
pub async fn start_template(relative: &str) -> TemplateApp {
    start_template_with(relative, &[]).await
}

/// The same, with `--parameter Name=value` overrides.
pub async fn start_template_with(relative: &str, parameters: &[(&str, &str)]) -> TemplateApp {
    logs();
    let name = relative;
    let backend = Emulator::start();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(relative);
    let options = TemplateOptions {
        endpoint_url: Some(backend.endpoint().to_string()),
        listen: "127.0.0.1:0".parse().unwrap(),
        python: python(),
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let loaded = template::load(&path, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
    launch(name, loaded.config, backend).await
}

/// Starts a loaded app with the tests' CA, beside its emulator.
async fn launch(name: &str, mut config: wsgate::Config, backend: Emulator) -> TemplateApp {
    config.tls.ca_dir = Some(ca_dir());
    let gateway = Gateway::start(config)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let sdk = backend.sdk_config().await;
    TemplateApp {
        gateway,
        backend,
        sdk,
    }
}

/// Loads `tests/apps/{name}/serverless.yml` as `wsgate --serverless` does (on
/// port 0, whatever its `websocketPort`), on a fresh emulator.
pub async fn start_serverless(name: &str, options: &[(&str, &str)]) -> TemplateApp {
    logs();
    let backend = Emulator::start();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apps")
        .join(name)
        .join("serverless.yml");
    let template_options = TemplateOptions {
        endpoint_url: Some(backend.endpoint().to_string()),
        listen: "127.0.0.1:0".parse().unwrap(),
        python: python(),
        parameters: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let loaded = wsgate::serverless::load(&path, &template_options, true)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    launch(name, loaded.config, backend).await
}

impl TemplateApp {
    pub async fn connect(&self) -> Ws {
        let (ws, response) = connect_async(self.gateway.ws_url()).await.unwrap();
        assert_eq!(response.status(), 101);
        ws
    }

    /// The `connectionId`s the chat apps' table holds.
    pub async fn stored_ids(&self, table: &str) -> Vec<String> {
        let db = aws_sdk_dynamodb::Client::new(&self.sdk);
        let out = db.scan().table_name(table).send().await.unwrap();
        let mut ids: Vec<String> = out
            .items()
            .iter()
            .filter_map(|i| i.get("connectionId")?.as_s().ok().cloned())
            .collect();
        ids.sort();
        ids
    }

    pub async fn store_id(&self, table: &str, id: &str) {
        let db = aws_sdk_dynamodb::Client::new(&self.sdk);
        db.put_item()
            .table_name(table)
            .item("connectionId", AttributeValue::S(id.into()))
            .send()
            .await
            .unwrap();
    }
}

/// The chat every app implements: messages reach every socket, and a stored id
/// whose socket is gone is cleaned up when a post to it answers 410.
pub async fn chat_scenario(app: &TemplateApp) {
    // The table is named after its logical id (no TableName in the templates).
    let table = "ConnectionsTable";
    let mut alice = app.connect().await;
    let mut bob = app.connect().await;
    assert_eq!(app.stored_ids(table).await.len(), 2, "$connect stored both");
    let stale = "c3RhbGVJZDAwMDA=";
    app.store_id(table, stale).await;
    alice
        .send(Message::text(
            r#"{"action":"sendmessage","data":"hello, everyone"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(next_text(&mut alice).await, "hello, everyone");
    assert_eq!(next_text(&mut bob).await, "hello, everyone");
    eventually("the stale id is deleted after its 410", async || {
        !app.stored_ids(table).await.contains(&stale.to_string())
    })
    .await;
    bob.close(None).await.unwrap();
    eventually("$disconnect deletes bob's id", async || {
        app.stored_ids(table).await.len() == 1
    })
    .await;
}

/// Starts an app from tests/apps, runs the chat on it, and stops it.
pub async fn chat_in(name: &str) {
    let app = start_app(name).await;
    chat_scenario(&app).await;
    app.gateway.shutdown().await;
}
