//! The `CloseUnauthorized` queue consumer: closes sockets that did not authorize in time.

use aws_lambda_events::sqs::SqsEvent;
use handlers::{app::App, consumers};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let app = &App::from_env().await?;
    lambda_runtime::run(service_fn(|e: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumers::close_unauthorized(app, e.payload).await)
    }))
    .await
}
