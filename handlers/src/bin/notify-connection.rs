//! The `NotifyConnection` queue consumer: pushes a message to one socket.

use aws_lambda_events::sqs::SqsEvent;
use handlers::consumers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(|app, event: SqsEvent| async move {
        Ok(consumers::notify_connection(app, event).await)
    })
    .await
}
