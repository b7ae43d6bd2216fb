//! What a function is made of, and the environment a Lambda sandbox gives its process.

use std::path::PathBuf;
use std::time::Duration;

/// Everything needed to start an instance of a function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub command: Vec<String>,
    /// The function's own variables and what the host adds (endpoints,
    /// credentials); they win over Lambda's (see [`FunctionSpec::process_env`]).
    pub env: Vec<(String, String)>,
    /// `LAMBDA_TASK_ROOT`, and the process's working folder.
    pub working_dir: PathBuf,
    /// `_HANDLER`.
    pub handler: String,
    /// The Lambda runtime's name (`nodejs20.x`, `python3.12`, `provided.al2023`).
    pub runtime: String,
    pub region: String,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub max_concurrency: usize,
    /// Lambda's reserved concurrency: invocations in flight beyond it are
    /// throttled. Without it the account's limit applies.
    pub reserved_concurrency: Option<usize>,
    /// An instance idle this long is stopped, as Lambda reclaims idle sandboxes.
    pub keep_warm: Duration,
    pub arn: String,
}

/// What a tool needs to run at all, taken from the gateway's own environment;
/// a Lambda sandbox otherwise starts clean.
const PASSED_ON: &[&str] = &[
    "PATH",
    "HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

/// Lambda's default concurrency limit of an account: what an unreserved function may use.
pub const ACCOUNT_CONCURRENCY: usize = 1000;

impl FunctionSpec {
    /// Invocations in flight (waiting or running) beyond which Lambda throttles.
    pub fn concurrency_limit(&self) -> usize {
        self.reserved_concurrency.unwrap_or(ACCOUNT_CONCURRENCY)
    }

    /// The whole environment of an instance's process, but for the two
    /// variables that differ per instance (the Runtime API, the log stream).
    pub fn process_env(&self) -> Vec<(String, String)> {
        let mut env: std::collections::BTreeMap<String, String> = PASSED_ON
            .iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        let name = &self.name;
        for (k, v) in [
            ("LANG", "C.UTF-8".to_string()),
            ("TZ", ":UTC".into()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
            (
                "LAMBDA_TASK_ROOT",
                self.working_dir.to_string_lossy().into_owned(),
            ),
            ("_HANDLER", self.handler.clone()),
        ] {
            env.insert(k.into(), v);
        }
        env.extend(self.env.iter().cloned());
        env.into_iter().collect()
    }
}
