//! The `ping` route: answers with a pong through the `NotifyConnection` queue.

use handlers::{app::App, routes};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let app = &App::from_env().await?;
    lambda_runtime::run(service_fn(|e: LambdaEvent<serde_json::Value>| {
        routes::ping(app, e.payload)
    }))
    .await
}
