//! The container path for real, against a Docker engine with the images that
//! `scripts/containers` builds where no registry can be reached: the app's image
//! from the Dockerfile, `docker-compose` with moto in LocalStack's place and the
//! README's walk-through against the published ports, and the testcontainers
//! scenario on the moto image. Where no engine answers or the images are
//! missing, each test says so in one line and passes; REQUIRE_DOCKER=1 makes
//! that a failure.

use std::process::Output;
use std::time::Duration;

use testcontainers_modules::testcontainers::GenericImage;
use testcontainers_modules::testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers_modules::testcontainers::runners::AsyncRunner;

use serde_json::json;

use crate::browser::{Chromium, LINKS, STATE};
use crate::common::app::*;
use crate::common::*;
use crate::readme::Websocat;

const APP_IMAGE: &str = "wsgate-local/wsgate:dev";
const MOTO_IMAGE: &str = "wsgate-local/moto";
const MOTO_TAG: &str = "5.2.5";

async fn docker(args: &[&str]) -> Output {
    tokio::process::Command::new("docker")
        .args(args)
        .output()
        .await
        .expect("the docker CLI runs")
}

/// Whether the engine answers with the images; if not, says so (or fails with REQUIRE_DOCKER=1).
async fn images_ready(test: &str) -> bool {
    let moto = format!("{MOTO_IMAGE}:{MOTO_TAG}");
    let found = docker(&["image", "inspect", APP_IMAGE, &moto]).await;
    if found.status.success() {
        return true;
    }
    let why = String::from_utf8_lossy(&found.stderr).trim().to_string();
    if std::env::var("REQUIRE_DOCKER").as_deref() == Ok("1") {
        panic!("REQUIRE_DOCKER=1, but the engine or the images are not there: {why}");
    }
    testkit::skipped(
        test,
        &format!("no engine with {APP_IMAGE} and {moto} ({why}); scripts/containers builds them"),
    );
    false
}

/// `docker-compose` on the repo's files with moto in LocalStack's place, as a
/// project of its own on free ports.
struct Compose {
    project: String,
    env: Vec<(&'static str, String)>,
}

/// Compose v1 (`docker-compose`, Debian's) where it is installed, else v2 (`docker compose`).
fn compose_command() -> std::process::Command {
    let v1 = std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = std::process::Command::new(if v1 { "docker-compose" } else { "docker" });
    if !v1 {
        command.arg("compose");
    }
    command.current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    command
}

impl Compose {
    async fn run(&self, args: &[&str]) -> Output {
        let out = tokio::process::Command::from(compose_command())
            .args(["-p", &self.project])
            .args(["-f", "docker-compose.yml", "-f", "docker-compose.moto.yml"])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .await
            .expect("docker-compose runs");
        assert!(
            out.status.success(),
            "docker-compose {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    async fn healthy(&self, service: &str) -> bool {
        let id = self.run(&["ps", "-q", service]).await;
        let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
        let out = docker(&["inspect", "-f", "{{.State.Health.Status}}", &id]).await;
        String::from_utf8_lossy(&out.stdout).trim() == "healthy"
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        // No container or network is left behind, whatever the test did.
        let _ = compose_command()
            .args(["-p", &self.project])
            .args(["-f", "docker-compose.yml", "-f", "docker-compose.moto.yml"])
            .args(["down", "-v", "--timeout", "5"])
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output();
    }
}

/// `docker-compose up` brings moto and the gateway up healthy; the gateway makes
/// the table and queues in the moto container; the README's walk-through and the
/// browser demo (in Chromium) work against the published ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_runs_the_app_on_moto_and_the_walk_through_passes() {
    if !images_ready("containers::compose").await {
        return;
    }
    let (gateway_port, backend_port) = (testkit::free_port(), testkit::free_port());
    let compose = Compose {
        project: format!("wsgatetest{}", std::process::id()),
        env: vec![
            ("WSGATE_PORT", gateway_port.to_string()),
            ("LOCALSTACK_PORT", backend_port.to_string()),
        ],
    };
    compose.run(&["up", "-d", "--no-build"]).await;
    eventually("both containers healthy", async || {
        compose.healthy("localstack").await && compose.healthy("wsgate").await
    })
    .await;

    // TOKEN=$(docker compose exec wsgate mint-token 1234)
    let minted = compose
        .run(&["exec", "-T", "wsgate", "mint-token", "1234"])
        .await;
    let token = String::from_utf8_lossy(&minted.stdout).trim().to_string();
    let mut ws = Websocat::start(&format!(
        "ws://127.0.0.1:{gateway_port}/local?token={token}"
    ));
    ws.type_line(r#"{"action":"ping","name":"Stepan"}"#).await;
    assert_eq!(
        ws.read_line().await,
        r#"{"action":"pong","message":"Hello, Stepan!"}"#
    );

    // aws --endpoint-url http://localhost:4566 sqs send-message … (the table and
    // queues were made by the gateway in the moto container)
    let endpoint = format!("http://127.0.0.1:{backend_port}");
    notify_user_with_cli(
        &endpoint,
        r#"{"userId":"1234","data":{"type":"download","url":"https://example.com/report.pdf"}}"#,
    )
    .await;
    assert_eq!(
        ws.read_line().await,
        r#"{"type":"download","url":"https://example.com/report.pdf"}"#
    );

    // The browser demo, from the image, in Chromium: it signs in, connects and
    // shows the download link when the notification arrives.
    let browser = Chromium::start().await;
    let mut page = browser
        .open(&format!(
            "http://127.0.0.1:{gateway_port}/web/?userId=carol"
        ))
        .await;
    page.wait_for("the page connects", STATE, |v| v == "connected")
        .await;
    let link = "https://example.com/reports/carol.pdf";
    let body = json!({"userId":"carol","data":{"type":"download","url":link}}).to_string();
    notify_user_with_cli(&endpoint, &body).await;
    page.wait_for("carol's link", LINKS, |v| v == &json!([link]))
        .await;
    drop(ws);
    drop(compose);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The same end-to-end scenario as on MiniStack, moto and LocalStack, with moto
/// in a container that testcontainers starts and removes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_behaves_the_same_on_moto_in_a_container() {
    if !images_ready("containers::testcontainers").await {
        return;
    }
    let container = GenericImage::new(MOTO_IMAGE, MOTO_TAG)
        .with_exposed_port(5000.tcp())
        .with_wait_for(WaitFor::message_on_stderr("Running on"))
        .start()
        .await
        .expect("the moto container starts");
    let port = container.get_host_port_ipv4(5000).await.unwrap();
    let backend = Backend::External(format!("http://127.0.0.1:{port}"));
    notification_scenario(start_app_on(backend, Source::Template, "query", &[]).await).await;
}
