//! `$default`: answers that the action is not implemented.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(handlers::routes::default).await
}
