//! The `NotifyUser` queue consumer of the notification app.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use handlers::{consumers, queue::Notifier, settings::Settings, store::ConnectionStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let settings = Settings::from_env();
    let config = handlers::aws_config().await;
    let store = ConnectionStore::new(&config, settings.connections_table);
    let notifier = Notifier::new(&config, settings.notify_connection_queue);
    let (store, notifier) = (&store, &notifier);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumers::notify_user(store, notifier, event.payload).await)
    }))
    .await
}
