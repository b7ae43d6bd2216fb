//! `$disconnect`: forgets the socket.

use handlers::{app::App, routes};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let app = &App::from_env().await?;
    lambda_runtime::run(service_fn(|e: LambdaEvent<serde_json::Value>| {
        routes::disconnect(app, e.payload)
    }))
    .await
}
