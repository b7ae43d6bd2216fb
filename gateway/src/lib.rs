//! wsgate: the AWS API Gateway WebSocket API, run locally.
//!
//! The gateway holds the sockets, selects routes, invokes Lambda functions as
//! local processes through the Lambda Runtime API, and serves the
//! `@connections` management API.

pub mod authorizer;
mod aws;
pub mod config;
pub mod events;
mod headers;
mod http_api;
pub mod ids;
pub mod integration;
pub mod lambda;
mod management;
pub mod provision;
pub mod registry;
pub mod routing;
pub mod server;
mod sqs;
pub mod template;
mod ws;

pub use config::Config;
pub use server::Gateway;
