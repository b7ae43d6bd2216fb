//! The `$connect` REQUEST authorizer: checks `?token=`.

use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(
        |app, event: Value| async move { handlers::auth::authorizer(&app.settings, &event) },
    )
    .await
}
