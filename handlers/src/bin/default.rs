//! The `default` route of the notification app.
#![recursion_limit = "256"]

use handlers::{queue::Notifier, routes, settings::Settings};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let settings = Settings::from_env();
    let notifier = Notifier::new(
        &handlers::aws_config().await,
        settings.notify_connection_queue,
    );
    let notifier = &notifier;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            routes::default(notifier, event.payload).await
        },
    ))
    .await
}
