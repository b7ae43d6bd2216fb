//! The WebSocket side of the API, by phase: the handshake (`$connect` and its
//! authorizer), the session (frames in and out until the close, then
//! `$disconnect`), and the dispatch of one message to its route.

mod dispatch;
mod handshake;
mod session;
mod upgrade;

pub use handshake::upgrade;
