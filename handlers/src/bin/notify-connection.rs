//! The `NotifyConnection` queue consumer of the notification app.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use handlers::{consumers, push::Pusher, settings::Settings, store::ConnectionStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let settings = Settings::from_env();
    let config = handlers::aws_config().await;
    let store = ConnectionStore::new(&config, settings.connections_table);
    let pusher = Pusher::new(&config);
    let (store, pusher) = (&store, &pusher);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumers::notify_connection(store, pusher, event.payload).await)
    }))
    .await
}
