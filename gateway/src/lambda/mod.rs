//! Lambda functions as local processes, driven through the Lambda Runtime API.
//! Nothing here knows of API Gateway: a function takes a JSON payload and
//! gives back the bytes its handler answered, or an error as Lambda reports it.
//!
//! - `function.rs`: a function's `invoke`, and the lives of its instances.
//! - `pool.rs`: admission, the instances' states, and the scaling decision as
//!   a pure function.
//! - `queue.rs`: the waiting invocations, taken round-robin across owners
//!   (connections, SQS event sources) so one flood cannot starve the rest.
//! - `instance.rs`: one instance: the invocation it holds, its timeout, REPORT.
//! - `runtime_api.rs`: the Runtime API an instance's process talks to; it asks
//!   the instance for the next invocation and hands it the answer.
//! - `process.rs`: spawning the process, its log lines, its process group.
//! - `peer.rs`: who is on the other end of a Runtime API connection.
//! - `orphans.rs`: no function process outlives a gateway that dies.
//! - `procinfo.rs`: which processes carry an instance's marker, their memory.
//! - `portable.rs`: Linux's own means or portable ones (macOS, other Unixes).
//! - `spec.rs`: what a function is made of, and the environment Lambda gives it.
//!
//! Each instance has its own Runtime API listener, so the gateway always knows
//! which process holds which invocation (and runtimes that expect
//! `AWS_LAMBDA_RUNTIME_API` to be a bare `host:port`, like Python's
//! `awslambdaric`, work unchanged).

mod function;
mod instance;
mod invocation;
mod orphans;
mod peer;
mod pool;
mod portable;
mod process;
mod procinfo;
mod queue;
mod runtime_api;
mod spec;

pub use function::Function;
pub use invocation::Owner;
pub use portable::FORCE as FORCE_PORTABLE_PROCESSES;
pub use spec::FunctionSpec;

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
    /// The connection it was for closed before an instance took it.
    #[error("not started: the client's connection closed first")]
    Abandoned,
    /// As many invocations as the function's concurrency allows are already in
    /// flight: Lambda's `TooManyRequestsException`.
    #[error("Rate Exceeded: {limit} invocations already in flight (TooManyRequestsException)")]
    Throttled { limit: usize, reserved: bool },
}

impl InvokeError {
    /// Lambda's `Reason` for a throttled invocation.
    pub fn throttle_reason(&self) -> Option<&'static str> {
        match self {
            Self::Throttled { reserved: true, .. } => {
                Some("ReservedFunctionConcurrentInvocationLimitExceeded")
            }
            Self::Throttled {
                reserved: false, ..
            } => Some("ConcurrentInvocationLimitExceeded"),
            _ => None,
        }
    }
}
