//! The `NotifyUser` queue consumer: fans a message out to every socket of a user.

use aws_lambda_events::sqs::SqsEvent;
use handlers::consumers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(
        |app, event: SqsEvent| async move { Ok(consumers::notify_user(app, event).await) },
    )
    .await
}
