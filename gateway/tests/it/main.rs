//! The gateway's integration tests, in one test binary: one link step for them
//! all instead of one per file. `cargo test -p wsgate --test it connect::` runs
//! one module's tests.

mod common;

mod app;
mod app_auth;
mod authorizer;
pub mod binary;
pub mod browser;
mod cdk;
mod connect;
mod containers;
mod faults;
mod handshake_shapes;
mod integrations;
mod lambda_api;
mod limits;
mod localstack;
mod management;
mod messages;
pub mod metrics;
mod node;
pub mod readme;
mod reload;
mod runtime;
mod scripts;
mod serverless;
mod sigv4;
mod sqs;
mod standalone;
mod template;
mod throttle;
pub mod tls;
