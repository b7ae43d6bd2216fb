//! `POST /token`: mints a token for a user (a stand-in for a real login).

use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handlers::run(|app, event: Value| async move { handlers::auth::token(&app.settings, &event) })
        .await
}
