//! `$disconnect`: forgets the socket.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(handlers::routes::disconnect).await
}
