//! `$connect`: records the socket under its user (or as not yet authorized).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(handlers::routes::connect).await
}
