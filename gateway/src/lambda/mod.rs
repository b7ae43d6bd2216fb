//! Lambda functions as local processes, driven through the Lambda Runtime API.
//!
//! Each function keeps a queue of invocations and a pool of instances. An
//! instance is one process plus its own Runtime API listener, so the gateway
//! always knows which process holds which invocation (and runtimes that expect
//! `AWS_LAMBDA_RUNTIME_API` to be a bare `host:port`, like Python's
//! `awslambdaric`, work unchanged).

mod function;
mod instance;
mod runtime_api;

pub use function::{Function, FunctionSpec};

/// Why an invocation failed; the messages follow what Lambda reports.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    /// The handler reported an error through `/invocation/{id}/error`.
    #[error("{error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("Task timed out after {0:.2} seconds")]
    Timeout(f64),
    #[error("Runtime exited with error: {0} (Runtime.ExitError)")]
    Exited(String),
    #[error("Runtime failed to initialise: {0} (Runtime.InitError)")]
    Init(String),
    #[error("cannot start the function's process: {0}")]
    Spawn(String),
    #[error("the gateway is shutting down")]
    ShuttingDown,
}
