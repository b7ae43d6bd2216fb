//! The `authorize` route: a token makes the socket its user's (`AUTH_MODE=action`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(handlers::routes::authorize).await
}
