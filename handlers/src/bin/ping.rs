//! The `ping` route: answers with a pong through the `NotifyConnection` queue.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(handlers::routes::ping).await
}
