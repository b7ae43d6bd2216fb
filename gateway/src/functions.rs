//! The config's functions as this gateway runs them: each one's spec, with the
//! endpoints the gateway hands its process (the management API, DynamoDB and SQS).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::lambda::{Function, FunctionSpec};
use crate::metrics::Metrics;
use crate::node::NodeRuntime;

/// What the gateway adds to every function's process.
pub struct Host {
    /// Where the gateway listens (loopback when it listens on every interface).
    pub addr: SocketAddr,
    pub api_id: String,
    /// Variables for every process: trust of the local CA, the execute-api host.
    pub env: Vec<(String, String)>,
    /// Present when some function runs on a `nodejs*` runtime.
    pub node: Option<NodeRuntime>,
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Node(#[from] crate::node::NodeError),
    #[error("cannot write the library that maps the execute-api host name into {path}: {source}")]
    Hosts {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl Host {
    /// Gathers what functions get: the trust of the local CA (with TLS), the
    /// execute-api host mapping, and the Node runtime when a function needs it.
    pub fn prepare(
        config: &Config,
        addr: SocketAddr,
        api_id: &str,
        tls: Option<&crate::tls::Tls>,
    ) -> Result<Self, HostError> {
        let addr = Self::local(addr);
        let mut env = tls.map(|t| t.trust_env.clone()).unwrap_or_default();
        if config.tls.execute_api_host {
            let dir = std::env::temp_dir().join(format!("wsgate-{}", nix::unistd::getuid()));
            let library = crate::hosts::install(&dir).map_err(|source| HostError::Hosts {
                path: dir.clone(),
                source,
            })?;
            let mut hosts = vec![execute_api_host(api_id, &config.aws.region)];
            hosts.extend(service_hosts(config));
            env.extend(crate::hosts::env(&library, &hosts, addr));
        }
        let node_runtimes: Vec<&str> = config
            .functions
            .values()
            .filter(|f| f.is_node())
            .filter_map(|f| f.runtime.as_deref())
            .collect();
        let node = if node_runtimes.is_empty() {
            None
        } else {
            Some(NodeRuntime::prepare(&config.node, node_runtimes)?)
        };
        Ok(Self {
            addr,
            api_id: api_id.to_string(),
            env,
            node,
        })
    }

    /// The gateway's address as functions reach it.
    pub fn local(addr: SocketAddr) -> SocketAddr {
        // Bound to every interface (in a container): functions reach it on loopback.
        if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        }
    }
}

/// How long an idle instance is kept before its process is stopped.
const KEEP_WARM: Duration = Duration::from_secs(10 * 60);

/// One `Function` per configured function.
pub fn start(
    config: &Config,
    host: &Host,
    metrics: &Arc<Metrics>,
) -> BTreeMap<String, Arc<Function>> {
    specs(config, host)
        .into_iter()
        .map(|(name, spec)| (name, Function::new(spec, metrics.clone())))
        .collect()
}

/// Every function's spec, by name (for a reload to compare with the running ones).
pub fn specs(config: &Config, host: &Host) -> BTreeMap<String, FunctionSpec> {
    config
        .functions
        .keys()
        .map(|name| (name.clone(), spec(config, name, host)))
        .collect()
}

/// A function's spec: Lambda's settings from the config, and the environment
/// that points its SDK clients at this gateway and the AWS endpoint.
fn spec(config: &Config, name: &str, host: &Host) -> FunctionSpec {
    let (addr, api_id) = (host.addr, &host.api_id);
    let f = &config.functions[name];
    let aws = &config.aws;
    let mut env: BTreeMap<String, String> = host.env.iter().cloned().collect();
    // The Lambda API this gateway serves: functions invoke each other with no code change.
    env.insert("AWS_ENDPOINT_URL_LAMBDA".into(), format!("http://{addr}"));
    // Functions reach this gateway's @connections API; never a global AWS_ENDPOINT_URL,
    // which would send DynamoDB and SQS calls here too.
    env.insert(
        "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI".into(),
        format!("http://{addr}/{}", config.api.stage),
    );
    if let Some(endpoint) = &aws.endpoint_url {
        env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.clone());
        env.insert("AWS_ENDPOINT_URL_SQS".into(), endpoint.clone());
        // moto and LocalStack accept any credentials, but the SDKs want some.
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            if std::env::var_os(key).is_none() {
                env.insert(key.into(), "test".into());
            }
        }
    }
    // This API's AWS URLs (a template's `https://${Api}.execute-api…`) are this gateway here.
    let aws_host = execute_api_host(api_id, &aws.region);
    for (k, v) in &f.env {
        let local = v
            .replace(&format!("https://{aws_host}"), &format!("http://{addr}"))
            .replace(&format!("wss://{aws_host}"), &format!("ws://{addr}"));
        env.insert(k.clone(), local);
    }
    if let Some(runtime) = &f.runtime {
        env.insert("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}"));
    }
    // Layers extend what the gateway passes on (PATH) and what the function sets.
    let inherited = |k: &str| f.env.get(k).cloned().or_else(|| std::env::var(k).ok());
    env.extend(crate::layers::env(&f.layers, inherited));
    let handler = f.handler.clone().unwrap_or_else(|| name.into());
    let mut command = f.command.clone();
    if let (Some(node), Some(runtime)) = (&host.node, f.runtime.as_deref().filter(|_| f.is_node()))
    {
        let (launch, node_env) = node.launch(runtime, &handler, &f.layers, &f.env);
        command = launch;
        env.extend(node_env);
    }
    FunctionSpec {
        name: name.into(),
        command,
        env: env.into_iter().collect(),
        working_dir: f
            .working_dir
            .clone()
            .unwrap_or_else(|| config.base_dir.clone()),
        handler,
        runtime: f
            .runtime
            .clone()
            .unwrap_or_else(|| "provided.al2023".into()),
        region: aws.region.clone(),
        timeout: Duration::from_secs(f.timeout_secs),
        memory_mb: f.memory_mb,
        max_concurrency: f.max_concurrency,
        reserved_concurrency: f.reserved_concurrency,
        keep_warm: KEEP_WARM,
        arn: format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            aws.region, aws.account_id
        ),
    }
}

/// The services functions reach, as SDKs that ignore `AWS_ENDPOINT_URL_*` (the
/// JS SDK v2, old boto) name them.
const SERVICES: &[&str] = &[
    "dynamodb",
    "sqs",
    "sns",
    "states",
    "sync-states",
    "events",
    "kinesis",
    "lambda",
    "sts",
];

/// The AWS host names that reach the local backend (or, for Lambda, this
/// gateway's Lambda API) inside function processes: all of them when a local
/// backend is configured, none for real AWS.
pub fn service_hosts(config: &Config) -> Vec<String> {
    if config.aws.endpoint_url.is_none() {
        return Vec::new();
    }
    SERVICES
        .iter()
        .map(|s| format!("{s}.{}.amazonaws.com", config.aws.region))
        .collect()
}

/// The host name of an API on AWS: what code written for AWS builds from the event.
pub fn execute_api_host(api_id: &str, region: &str) -> String {
    format!("{api_id}.execute-api.{region}.amazonaws.com")
}
