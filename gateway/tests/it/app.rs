//! End to end: the repo's app (from template.yaml and from wsgate.toml), the real
//! handler binaries, the aws CLI, on every backend the README offers (MiniStack,
//! scripts/dev's default, and moto; LocalStack in localstack.rs).

use testkit::{Emulator, Kind};

use crate::common::app::*;

async fn on(kind: Kind, source: Source) -> App {
    start_app_on(
        Backend::Emulator(Emulator::start_kind(kind)),
        source,
        "query",
        &[],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_the_template_on_ministack() {
    notification_scenario(on(Kind::MiniStack, Source::Template).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_wsgate_toml_on_ministack() {
    notification_scenario(on(Kind::MiniStack, Source::Toml).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_the_template_on_moto() {
    notification_scenario(on(Kind::Moto, Source::Template).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_exactly_the_users_sockets_from_wsgate_toml_on_moto() {
    notification_scenario(on(Kind::Moto, Source::Toml).await).await;
}
