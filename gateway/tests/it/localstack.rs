//! The same end-to-end scenario against LocalStack in a container, through
//! testcontainers, so MiniStack, moto and LocalStack are held to one behaviour. Where no
//! Docker engine answers, or LocalStack's image cannot be pulled (no registry), the
//! test says so in one line and passes; with REQUIRE_LOCALSTACK=1 it fails instead.

use testcontainers_modules::localstack::LocalStack;
use testcontainers_modules::testcontainers::ImageExt;
use testcontainers_modules::testcontainers::runners::AsyncRunner;

use crate::common::app::*;

/// The community tag docker-compose.yml uses: it starts without an auth token.
const TAG: &str = "4.14";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_behaves_the_same_on_localstack() {
    let started = LocalStack::default()
        .with_tag(TAG)
        .with_env_var("SERVICES", "dynamodb,sqs")
        .start()
        .await;
    let container = match started {
        Ok(container) => container,
        Err(e) if std::env::var("REQUIRE_LOCALSTACK").as_deref() == Ok("1") => {
            panic!("REQUIRE_LOCALSTACK=1, but LocalStack did not start: {e}")
        }
        Err(e) => {
            testkit::skipped(
                "localstack",
                &format!(
                    "LocalStack did not start here ({e}); REQUIRE_LOCALSTACK=1 makes this a failure"
                ),
            );
            return;
        }
    };
    let port = container.get_host_port_ipv4(4566).await.unwrap();
    let backend = Backend::External(format!("http://127.0.0.1:{port}"));
    notification_scenario(start_app_on(backend, Source::Template, "query", &[]).await).await;
}
