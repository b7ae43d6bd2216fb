//! The `$connect` REQUEST authorizer: checks `?token=`.

use handlers::{auth, settings::Settings};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_logging();
    let settings = &Settings::from_env()?;
    settings.secret()?;
    lambda_runtime::run(service_fn(|e: LambdaEvent<serde_json::Value>| async move {
        auth::authorizer(settings, &e.payload)
    }))
    .await
}
