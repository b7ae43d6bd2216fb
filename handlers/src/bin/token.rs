//! `POST /token`: mints a token for a user (a stand-in for a real login).

use handlers::{auth, settings::Settings};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let settings = &Settings::from_env()?;
    settings.secret()?;
    lambda_runtime::run(service_fn(|e: LambdaEvent<serde_json::Value>| async move {
        auth::token(settings, &e.payload)
    }))
    .await
}
