//! The WebSocket side of the API, by phase: the handshake (`$connect` and its
//! authorizer), the session (frames in and out until the close, then
//! `$disconnect`), and the dispatch of one message to its route.

mod dispatch;
mod handshake;
mod session;
mod upgrade;

pub use handshake::{unrouted, upgrade, upgrade_at_root};

/// Handles a text message as if `conn` had sent it (the inspector's replay).
pub async fn replay(
    api: std::sync::Arc<crate::api::Api>,
    conn: std::sync::Arc<crate::connections::Connection>,
    text: String,
) {
    dispatch::message(api, conn, text).await
}
