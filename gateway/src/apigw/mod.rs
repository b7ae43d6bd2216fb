//! API Gateway's shapes, with no I/O: the events it sends to functions, how it
//! selects routes and reads authorizer policies, the headers it hands on, and
//! the error bodies it answers with. Everything here is a pure function of its
//! inputs, so the handlers in `websocket/`, `management.rs` and `http_api.rs`
//! share it without importing each other.

pub mod authorizer;
pub mod errors;
pub mod events;
pub mod headers;
pub mod selection;
