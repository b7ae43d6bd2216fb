//! End to end: the repo's app (from template.yaml and from wsgate.toml), the real
//! handler binaries, moto, the aws CLI.

use crate::common::app::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_the_template() {
    notification_scenario(start_app_from(Source::Template, "query", &[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_wsgate_toml() {
    notification_scenario(start_app_from(Source::Toml, "query", &[]).await).await;
}
