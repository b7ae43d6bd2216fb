//! The native configuration file: one WebSocket API, its routes and its functions.
//!
//! Every key has the default AWS has; an unknown key is an error that names it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::apigw::authorizer::IdentitySource;
use crate::apigw::selection::RouteSelector;

mod env;
mod integrations;
mod validate;

pub use integrations::{
    ContentHandling, IntegrationConfig, IntegrationResponseConfig, IntegrationType,
    MappingTemplate, Passthrough,
};

/// A config that could not be used; each variant names the file, and the key where one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the config file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// AWS's hard limit on an integration: API Gateway gives up after 29 s.
pub const AWS_INTEGRATION_TIMEOUT_SECS: u64 = 29;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionConfig>,
    #[serde(default)]
    pub routes: BTreeMap<String, RouteConfig>,
    /// What routes lead to besides a Lambda proxy: AWS services, Lambda without
    /// the proxy, HTTP backends, MOCK; a route names one with `integration`.
    #[serde(default)]
    pub integrations: BTreeMap<String, IntegrationConfig>,
    /// Lambda REQUEST authorizers, by name; `$connect` names one with `authorizer`.
    #[serde(default)]
    pub authorizers: BTreeMap<String, AuthorizerConfig>,
    /// Environment every function gets (a function's own `env` wins), like SAM's Globals.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Plain HTTP beside the WebSocket API: function routes (an HTTP API) and static files.
    #[serde(default)]
    pub http: HttpConfig,
    /// SQS event source mappings: queues whose messages invoke a function.
    #[serde(default)]
    pub sqs: Vec<SqsMappingConfig>,
    /// Tables and queues created at start-up when they are missing.
    #[serde(default)]
    pub provision: ProvisionConfig,
    /// The Node that runs `nodejs*` functions, and the runtime folder.
    #[serde(default)]
    pub node: NodeConfig,
    /// TLS on the gateway's port, and the local certificate authority.
    #[serde(default)]
    pub tls: TlsConfig,
    /// Request models (JSON Schema, draft 4) by name, for routes' `request_models`.
    #[serde(default)]
    pub models: BTreeMap<String, RequestModel>,
    /// The folder relative paths resolve against (the config file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Reload a function when its code changes on disk (`--watch`).
    #[serde(skip)]
    pub watch: bool,
    /// Run this when sources under `base_dir` change (`--build`).
    #[serde(skip)]
    pub build: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub stage: String,
    pub listen: SocketAddr,
    pub route_selection_expression: RouteSelector,
    /// AWS: 10 minutes without a frame from the client closes the connection.
    pub idle_timeout_secs: u64,
    /// AWS: a connection lives at most 2 hours.
    pub max_lifetime_secs: u64,
    /// AWS: at most 29 s; a function's own timeout may cut it shorter.
    pub integration_timeout_secs: u64,
    /// The API id seen in events (`requestContext.apiId`); random when left out.
    pub api_id: Option<String>,
    /// AWS: 32 KB per frame.
    pub max_frame_bytes: usize,
    /// AWS: 128 KB per message (also the `@connections` POST limit).
    pub max_message_bytes: usize,
    /// The stage's variables: `stageVariables` in every event.
    pub stage_variables: BTreeMap<String, String>,
    /// API keys a `$connect` with `api_key_required` accepts in `x-api-key`.
    pub api_keys: Vec<String>,
    /// `@connections` and the Lambda API take only SigV4-signed requests, as on AWS.
    pub sigv4: bool,
    /// The live inspector at `/_wsgate/` (`--no-inspector` turns it off).
    pub inspector: bool,
    /// A client must send its whole request head (the WebSocket handshake, an
    /// HTTP request) within this time, or its connection is closed.
    pub header_timeout_secs: u64,
    /// The socket also at `/`, where serverless-offline serves it (set for
    /// `serverless.yml` input), beside `/{stage}`.
    pub serve_at_root: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            stage: "local".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            route_selection_expression: RouteSelector::default(),
            idle_timeout_secs: 600,
            max_lifetime_secs: 7200,
            integration_timeout_secs: AWS_INTEGRATION_TIMEOUT_SECS,
            api_id: None,
            max_frame_bytes: 32 * 1024,
            max_message_bytes: 128 * 1024,
            stage_variables: BTreeMap::new(),
            api_keys: Vec::new(),
            sigv4: true,
            header_timeout_secs: 10,
            inspector: true,
            serve_at_root: false,
        }
    }
}

impl ApiConfig {
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_secs)
    }
    pub fn integration_timeout(&self) -> Duration {
        Duration::from_secs(self.integration_timeout_secs)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    pub region: String,
    /// DynamoDB/SQS endpoint handed to functions (moto, LocalStack); none for real AWS.
    pub endpoint_url: Option<String>,
    /// The account id in ARNs.
    pub account_id: String,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            endpoint_url: None,
            account_id: "000000000000".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Program and arguments: a Lambda binary, `python3 -m awslambdaric app.handler`, …
    /// Left out for a `nodejs*` runtime, which wsgate runs itself.
    #[serde(default)]
    pub command: Vec<String>,
    /// A Lambda runtime name; `nodejs18.x` … `nodejs24.x` run `handler` from `working_dir`.
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// AWS's default is 3 s.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    /// How many instances (processes) may run at once; more work waits for one.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Lambda's reserved concurrency: invocations in flight (waiting or running)
    /// beyond it are throttled at once. Unset: the account's limit, 1000.
    #[serde(default)]
    pub reserved_concurrency: Option<usize>,
    /// The process's working directory (`LAMBDA_TASK_ROOT`); the config's folder by default.
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// `_HANDLER` as Lambda sets it.
    #[serde(default)]
    pub handler: Option<String>,
    /// Layer folders, in order: each is what Lambda would unpack into `/opt`
    /// (`nodejs/node_modules`, `python`, `bin`, `lib`).
    #[serde(default)]
    pub layers: Vec<PathBuf>,
}

fn default_timeout() -> u64 {
    3
}
fn default_memory() -> u32 {
    128
}
fn default_concurrency() -> usize {
    10
}

impl FunctionConfig {
    /// True for the runtimes wsgate launches itself (`nodejs*`).
    pub fn is_node(&self) -> bool {
        self.command.is_empty()
            && self
                .runtime
                .as_deref()
                .is_some_and(|r| r.starts_with("nodejs"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The Node that runs every `nodejs*` runtime (`WSGATE_NODE`, else `node` on the PATH).
    pub binary: String,
    /// A Node per runtime, e.g. `"nodejs22.x" = "/opt/node22/bin/node"`.
    pub runtimes: BTreeMap<String, String>,
    /// Where `scripts/node-runtime` installed aws-lambda-ric and the SDK
    /// (`WSGATE_NODE_RUNTIME`, else `~/.cache/wsgate/node-runtime`).
    pub runtime_dir: Option<PathBuf>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            binary: std::env::var("WSGATE_NODE").unwrap_or_else(|_| "node".into()),
            runtimes: BTreeMap::new(),
            runtime_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Serve TLS (`wss://`, `https://`) on the gateway's port beside plain HTTP.
    pub enabled: bool,
    /// The local certificate authority's folder, created once and kept
    /// (`WSGATE_CA_DIR`, else `~/.local/share/wsgate/ca`).
    pub ca_dir: Option<PathBuf>,
    /// In function processes, `{apiId}.execute-api.{region}.amazonaws.com`
    /// reaches this gateway (a preloaded library; see the README).
    pub execute_api_host: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ca_dir: None,
            execute_api_host: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A Lambda proxy integration of this function; or else `integration`.
    #[serde(default)]
    pub function: Option<String>,
    /// An integration from `[integrations]`.
    #[serde(default)]
    pub integration: Option<String>,
    /// The route has a `$default` route response: the integration's answer goes
    /// back to the client (two-way); without one the route is one-way.
    #[serde(default)]
    pub route_response: bool,
    /// An authorizer from `[authorizers]` (only on `$connect`, as on AWS).
    #[serde(default)]
    pub authorizer: Option<String>,
    /// The handshake needs one of `api.api_keys` in `x-api-key` (only on `$connect`, as on AWS).
    #[serde(default)]
    pub api_key_required: bool,
    /// Picks the model a message is checked against: `$request.body.<path>`, or a fixed key.
    #[serde(default)]
    pub model_selection_expression: Option<String>,
    /// Model selection key (or `$default`) → a name under `[models]`.
    #[serde(default)]
    pub request_models: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `"POST /token" = { function = "token" }`: invoked with HTTP API (payload 2.0) events.
    #[serde(default)]
    pub routes: BTreeMap<HttpRouteKey, HttpRouteConfig>,
    /// A folder served at `/web/` (and `/` redirects there).
    #[serde(default)]
    pub static_dir: Option<PathBuf>,
}

/// A JSON Schema (draft 4, as API Gateway's models), compiled when the config loads.
/// Written as a table, or as a string of JSON.
#[derive(Clone, Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub struct RequestModel {
    pub schema: serde_json::Value,
    pub validator: std::sync::Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for RequestModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestModel")
            .field("schema", &self.schema)
            .finish()
    }
}

impl TryFrom<serde_json::Value> for RequestModel {
    type Error = String;
    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        let schema = match value {
            serde_json::Value::String(text) => serde_json::from_str(&text)
                .map_err(|e| format!("the model's schema is not JSON: {e}"))?,
            other => other,
        };
        let validator = jsonschema::draft4::new(&schema)
            .map_err(|e| format!("the model's schema is not a JSON Schema: {e}"))?;
        Ok(Self {
            schema,
            validator: std::sync::Arc::new(validator),
        })
    }
}

/// `METHOD /path`, checked when the config loads.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct HttpRouteKey {
    key: String,
    split: usize,
    filter: axum::routing::MethodFilter,
}

// Keys are ordered and compared by their text.
impl PartialEq for HttpRouteKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for HttpRouteKey {}
impl PartialOrd for HttpRouteKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl std::borrow::Borrow<str> for HttpRouteKey {
    fn borrow(&self) -> &str {
        &self.key
    }
}
impl Ord for HttpRouteKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a route key: it must be `METHOD /path`, e.g. `POST /token`")]
pub struct BadRouteKey(String);

impl HttpRouteKey {
    pub fn parse(key: &str) -> Result<Self, BadRouteKey> {
        let bad = || BadRouteKey(key.to_string());
        let (method, path) = key.split_once(' ').ok_or_else(bad)?;
        let method: axum::http::Method = method.parse().map_err(|_| bad())?;
        let filter = axum::routing::MethodFilter::try_from(method).map_err(|_| bad())?;
        if !path.starts_with('/') {
            return Err(bad());
        }
        Ok(Self {
            key: key.to_string(),
            split: key.len() - path.len(),
            filter,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn path(&self) -> &str {
        &self.key[self.split..]
    }

    pub fn method_filter(&self) -> axum::routing::MethodFilter {
        self.filter
    }
}

impl TryFrom<String> for HttpRouteKey {
    type Error = BadRouteKey;
    fn try_from(key: String) -> Result<Self, BadRouteKey> {
        Self::parse(&key)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRouteConfig {
    pub function: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerConfig {
    pub function: String,
    /// `route.request.header.<name>` / `route.request.querystring.<name>`; all must be non-empty.
    #[serde(default)]
    pub identity_source: Vec<IdentitySource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsMappingConfig {
    pub function: String,
    /// A queue name, URL or ARN.
    pub queue: String,
    /// AWS default 10; above 10 needs a batching window.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long to gather a batch (MaximumBatchingWindowInSeconds).
    #[serde(default)]
    pub batching_window_secs: u64,
    /// Honour `batchItemFailures` in the function's response (FunctionResponseTypes).
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// Pollers working the queue at once (ScalingConfig.MaximumConcurrency).
    #[serde(default = "default_pollers")]
    pub max_concurrency: usize,
}

fn default_batch_size() -> usize {
    10
}
/// Batches an SQS event source works at once when the template does not cap
/// it: Lambda "starts processing five batches at a time with five concurrent
/// invocations of your function" (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
/// It scales beyond that under a backlog; five keep a local backend's CPU for the work.
pub const DEFAULT_POLLERS: usize = 5;

fn default_pollers() -> usize {
    DEFAULT_POLLERS
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionConfig {
    #[serde(default)]
    pub tables: Vec<TableConfig>,
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// SNS topics, with the queues subscribed to them.
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
    /// Step Functions state machines (what the backend runs; MiniStack and moto do).
    #[serde(default)]
    pub state_machines: Vec<StateMachineConfig>,
}

impl ProvisionConfig {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.queues.is_empty()
            && self.topics.is_empty()
            && self.state_machines.is_empty()
    }
}

/// An SNS topic and its SQS subscribers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub name: String,
    /// Queues (by name) that get every message published to the topic.
    #[serde(default)]
    pub queues: Vec<QueueSubscription>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSubscription {
    pub queue: String,
    /// The message as published, without SNS's JSON envelope.
    #[serde(default)]
    pub raw_message_delivery: bool,
}

/// A state machine from its Amazon States Language definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMachineConfig {
    pub name: String,
    /// The definition, as JSON text.
    pub definition: String,
    /// `STANDARD` (the default) or `EXPRESS` (what StartSyncExecution needs).
    #[serde(default = "default_state_machine_type")]
    pub kind: String,
}

fn default_state_machine_type() -> String {
    "STANDARD".into()
}

/// A DynamoDB table with string keys, billed per request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub name: String,
    pub partition_key: String,
    #[serde(default)]
    pub sort_key: Option<String>,
    #[serde(default)]
    pub indexes: Vec<IndexConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub name: String,
    pub partition_key: String,
    #[serde(default)]
    pub sort_key: Option<String>,
}

/// An SQS queue, with its dead-letter queue when one is named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    /// AWS default 30 s.
    #[serde(default = "default_visibility")]
    pub visibility_timeout_secs: u64,
    #[serde(default)]
    pub dead_letter: Option<DeadLetterConfig>,
    /// A FIFO queue (its name ends in `.fifo`).
    #[serde(default)]
    pub fifo: bool,
    /// FIFO: deduplicate by a hash of the body when no deduplication id is sent.
    #[serde(default)]
    pub content_based_deduplication: bool,
}

fn default_visibility() -> u64 {
    30
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    pub name: String,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

impl Config {
    /// Reads, parses and checks a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::from_toml(&text, path, base)
    }

    /// Parses config text; `path` is only used to name the file in errors.
    /// `${NAME}` and `${NAME:-default}` are replaced from the environment first.
    pub fn from_toml(text: &str, path: &Path, base_dir: &Path) -> Result<Self, ConfigError> {
        let text = env::expand_env(text, |k| std::env::var(k).ok()).map_err(|message| {
            ConfigError::Parse {
                path: path.to_owned(),
                message,
            }
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.base_dir = std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_owned());
        config.validate(path)?;
        config.resolve_paths();
        Ok(config)
    }

    /// Checks a config built in code (from a template) and resolves its paths.
    pub(crate) fn finish(mut self, path: &Path) -> Result<Self, ConfigError> {
        self.validate(path)?;
        self.resolve_paths();
        Ok(self)
    }

    /// Relative programs and working folders are relative to the config file's folder.
    fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        for dir in [&mut self.tls.ca_dir, &mut self.node.runtime_dir]
            .into_iter()
            .flatten()
        {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        if let Some(dir) = self.http.static_dir.take() {
            self.http.static_dir = Some(if dir.is_relative() {
                base.join(dir)
            } else {
                dir
            });
        }
        // An empty authorizer name means none (so `${VAR-name}` can switch it off).
        for r in self.routes.values_mut() {
            if r.authorizer.as_deref() == Some("") {
                r.authorizer = None;
            }
        }
        for f in self.functions.values_mut() {
            if let Some(program) = f.command.first_mut()
                && program.contains('/')
                && Path::new(program.as_str()).is_relative()
            {
                *program = base.join(&*program).to_string_lossy().into_owned();
            }
            for (k, v) in &self.env {
                f.env.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for layer in &mut f.layers {
                if layer.is_relative() {
                    *layer = base.join(&*layer);
                }
            }
            f.working_dir = Some(match f.working_dir.take() {
                Some(dir) if dir.is_relative() => base.join(dir),
                Some(dir) => dir,
                None => base.clone(),
            });
        }
    }

    /// The integration a route leads to (names were checked at load).
    pub fn route_integration(&self, route: &RouteConfig) -> Option<IntegrationConfig> {
        match (&route.function, &route.integration) {
            (_, Some(name)) => self.integrations.get(name).cloned(),
            (Some(function), None) => Some(IntegrationConfig::lambda_proxy(function)),
            (None, None) => None,
        }
    }

    /// A config with defaults and nothing routed, for tests and embedding.
    pub fn empty(base_dir: &Path) -> Self {
        Self {
            api: ApiConfig::default(),
            aws: AwsConfig::default(),
            functions: BTreeMap::new(),
            routes: BTreeMap::new(),
            integrations: BTreeMap::new(),
            authorizers: BTreeMap::new(),
            env: BTreeMap::new(),
            http: HttpConfig::default(),
            sqs: Vec::new(),
            provision: ProvisionConfig::default(),
            node: NodeConfig::default(),
            tls: TlsConfig::default(),
            models: BTreeMap::new(),
            base_dir: base_dir.to_owned(),
            watch: false,
            build: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("wsgate.toml"), Path::new("/srv/app"))
    }

    #[test]
    fn defaults_follow_aws() {
        let c = parse("").unwrap();
        assert_eq!(c.api.stage, "local");
        assert_eq!(c.api.idle_timeout_secs, 600);
        assert_eq!(c.api.max_lifetime_secs, 7200);
        assert_eq!(c.api.integration_timeout_secs, 29);
        assert_eq!(c.api.max_frame_bytes, 32768);
        assert_eq!(c.api.max_message_bytes, 131072);
        assert_eq!(c.aws.region, "us-east-1");
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let err = parse("[api]\nstagee = \"x\"\n").unwrap_err().to_string();
        assert!(err.starts_with("wsgate.toml:"), "{err}");
        assert!(err.contains("stagee"), "{err}");
    }

    #[test]
    fn route_to_missing_function_is_named() {
        let err = parse("[routes]\nping = { function = \"nope\" }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`routes.ping.function`"), "{err}");
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = parse("[functions.f]\ncommand = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("functions.f.command"), "{err}");
        let err = parse("[api]\nintegration_timeout_secs = 30\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("api.integration_timeout_secs"), "{err}");
        let err =
            parse("[routes]\n\"$connct\" = { function = \"f\" }\n[functions.f]\ncommand=[\"x\"]\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("$connct"), "{err}");
        let err = parse("[api]\nroute_selection_expression = \"action\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("route_selection_expression"), "{err}");
    }

    #[test]
    fn sqs_mappings_are_checked() {
        let base = "[functions.f]\ncommand = [\"x\"]\n";
        let ok = parse(&format!("{base}[[sqs]]\nfunction = \"f\"\nqueue = \"Q\"\n")).unwrap();
        assert_eq!(ok.sqs[0].batch_size, 10);
        assert_eq!(ok.sqs[0].max_concurrency, DEFAULT_POLLERS);
        let err = parse(&format!("{base}[[sqs]]\nfunction = \"g\"\nqueue = \"Q\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sqs[0].function"), "{err}");
        let err = parse(&format!(
            "{base}[[sqs]]\nfunction = \"f\"\nqueue = \"Q\"\nbatch_size = 50\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("batching_window_secs"), "{err}");
        let err = parse(&format!(
            "{base}[[sqs]]\nfunction = \"f\"\nqueue = \"Q\"\n[[provision.queues]]\nname = \"Q\"\nvisibility_timeout_secs = 1\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("visibility_timeout_secs (1)"), "{err}");
        let err = parse("[[provision.queues]]\nname = \"Q\"\ndead_letter = { name = \"D\" }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_receive_count"), "{err}");
    }

    #[test]
    fn a_layer_must_be_a_folder() {
        let err = parse("[functions.f]\ncommand = [\"x\"]\nlayers = [\"no/such/layer\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("functions.f.layers") && err.contains("no/such/layer"),
            "{err}"
        );
    }

    #[test]
    fn request_models_are_compiled_and_named() {
        let base = "[functions.f]\ncommand = [\"x\"]\n";
        let ok = parse(&format!(
            "{base}[models.M]\ntype = \"object\"\nrequired = [\"a\"]\n[routes]\n\"$default\" = {{ function = \"f\", request_models = {{ \"$default\" = \"M\" }} }}\n"
        ))
        .unwrap();
        assert!(
            ok.models["M"]
                .validator
                .is_valid(&serde_json::json!({"a": 1}))
        );
        assert!(!ok.models["M"].validator.is_valid(&serde_json::json!({})));
        let err = parse(&format!(
            "{base}[routes]\n\"$default\" = {{ function = \"f\", request_models = {{ \"$default\" = \"Nope\" }} }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("request_models") && err.contains("Nope"),
            "{err}"
        );
        let err = parse("[models]\nM = \"{ not json\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn what_wsgate_init_writes_loads() {
        let c = parse(include_str!("../init.toml")).unwrap();
        assert_eq!(c.api.stage, "local");
        assert!(c.functions["echo"].is_node());
        assert_eq!(c.routes["$default"].function.as_deref(), Some("echo"));
    }

    #[test]
    fn integrations_are_parsed_and_checked() {
        let base = "[functions.f]\ncommand = [\"x\"]\n";
        let ok = parse(&format!(
            "{base}[integrations.Q]\ntype = \"AWS\"\nuri = \"arn:aws:apigateway:us-east-1:sqs:path/0/Jobs\"\nrequest_templates = {{ \"$default\" = \"Action=SendMessage&MessageBody=$util.urlEncode($input.body)\" }}\n[integrations.Q.responses.\"/2\\\\d\\\\d/\"]\ntemplates = {{ \"$default\" = \"{{}}\" }}\n[routes]\nsubmit = {{ integration = \"Q\", route_response = true }}\nping = {{ function = \"f\" }}\n"
        ))
        .unwrap();
        assert_eq!(ok.integrations["Q"].kind, IntegrationType::Aws);
        assert!(
            ok.route_integration(&ok.routes["ping"])
                .is_some_and(|i| i.kind == IntegrationType::AwsProxy)
        );
        let err = |text: &str| parse(&format!("{base}{text}")).unwrap_err().to_string();
        let e = err("[routes]\nx = { integration = \"Nope\" }\n");
        assert!(
            e.contains("routes.x.integration") && e.contains("Nope"),
            "{e}"
        );
        let e = err("[routes]\nx = { }\n");
        assert!(e.contains("routes.x") && e.contains("needs"), "{e}");
        let e = err("[integrations.I]\ntype = \"AWS\"\nuri = \"https://x\"\n");
        assert!(e.contains("integrations.I.uri"), "{e}");
        let e = err("[integrations.I]\ntype = \"HTTP\"\nuri = \"ftp://x\"\n");
        assert!(e.contains("integrations.I.uri"), "{e}");
        let e = err(
            "[integrations.I]\ntype = \"MOCK\"\nrequest_templates = { \"200\" = \"#if($a)\" }\n",
        );
        assert!(
            e.contains("request_templates") && e.contains("line 1"),
            "{e}"
        );
        let e = err(
            "[integrations.I]\ntype = \"MOCK\"\nrequest_parameters = { \"integration.request.header.X\" = \"body\" }\n",
        );
        assert!(e.contains("request_parameters"), "{e}");
        let e = err("[integrations.I]\ntype = \"MOCK\"\n[integrations.I.responses.\"200\"]\n");
        assert!(e.contains("responses") && e.contains("/regex/"), "{e}");
        let e = err(
            "[integrations.I]\ntype = \"AWS\"\nuri = \"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:0:function:g/invocations\"\n",
        );
        assert!(e.contains("no function `g`"), "{e}");
        let e = err("[integrations.I]\ntype = \"MOCKED\"\n");
        assert!(e.contains("MOCKED"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let c = parse(
            "[functions.f]\ncommand = [\"target/debug/f\", \"arg\"]\n[functions.g]\ncommand = [\"python3\", \"-m\", \"awslambdaric\"]\nworking_dir = \"py\"\n",
        )
        .unwrap();
        assert_eq!(c.functions["f"].command[0], "/srv/app/target/debug/f");
        assert_eq!(c.functions["f"].command[1], "arg");
        assert_eq!(c.functions["g"].command[0], "python3");
        assert_eq!(
            c.functions["g"].working_dir.as_deref(),
            Some(Path::new("/srv/app/py"))
        );
    }
}
