//! Shared code of the notification app's Lambda functions: settings from the
//! environment, the connection store (DynamoDB), the notification queue (SQS),
//! the push client (the API Gateway management API), and SQS batch handling.
//!
//! Nothing here knows whether it runs on AWS or under wsgate: endpoints come
//! from the standard `AWS_ENDPOINT_URL_<SERVICE>` variables the SDK reads.

pub mod app;
pub mod auth;
pub mod batch;
pub mod consumers;
pub mod messages;
pub mod push;
pub mod queue;
pub mod routes;
pub mod settings;
pub mod store;
pub mod token;
pub mod ws_event;

use lambda_runtime::Error;

/// Logs as JSON lines, as Lambda's advanced logging expects; `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL` set the level.
pub fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level.to_lowercase()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .try_init();
}

/// The SDK config of a function: region, credentials and endpoints from the environment.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The `main` of every function: logging, the app's clients (built once, kept for
/// the life of the process, as Lambda keeps them between invocations), then the
/// Runtime API loop with `handler`.
pub async fn run<E, R, F, Fut>(handler: F) -> Result<(), Error>
where
    E: serde::de::DeserializeOwned,
    R: serde::Serialize,
    F: Fn(&'static app::App, E) -> Fut,
    Fut: std::future::Future<Output = Result<R, Error>>,
{
    init_logging();
    let app: &'static app::App = Box::leak(Box::new(app::App::from_env().await?));
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<E>| handler(app, event.payload),
    ))
    .await
}

/// Turns any error into the runtime's error type, for `?` in handlers.
pub fn fail(message: impl std::fmt::Display) -> Error {
    message.to_string().into()
}
