//! The `CloseUnauthorized` queue consumer: closes sockets that did not authorize in time.

use aws_lambda_events::sqs::SqsEvent;
use handlers::consumers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(|app, event: SqsEvent| async move {
        Ok(consumers::close_unauthorized(app, event).await)
    })
    .await
}
