//! `$disconnect` of the notification app: forgets the socket.
#![recursion_limit = "256"]

use handlers::{routes, settings::Settings, store::ConnectionStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let settings = Settings::from_env();
    let store = ConnectionStore::new(&handlers::aws_config().await, settings.connections_table);
    let store = &store;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            routes::disconnect(store, event.payload).await
        },
    ))
    .await
}
