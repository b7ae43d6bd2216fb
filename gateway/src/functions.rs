//! The config's functions as this gateway runs them: each one's spec, with the
//! endpoints the gateway hands its process (the management API, DynamoDB and SQS).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::lambda::{Function, FunctionSpec};

/// How long an idle instance is kept before its process is stopped.
const KEEP_WARM: Duration = Duration::from_secs(10 * 60);

/// One `Function` per configured function; `addr` is where the gateway listens.
pub fn start(config: &Config, addr: SocketAddr, api_id: &str) -> BTreeMap<String, Arc<Function>> {
    config
        .functions
        .keys()
        .map(|name| {
            (
                name.clone(),
                Function::new(spec(config, name, addr, api_id)),
            )
        })
        .collect()
}

/// A function's spec: Lambda's settings from the config, and the environment
/// that points its SDK clients at this gateway and the AWS endpoint.
fn spec(config: &Config, name: &str, addr: SocketAddr, api_id: &str) -> FunctionSpec {
    // Bound to every interface (in a container): functions reach it on loopback.
    let addr = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let f = &config.functions[name];
    let aws = &config.aws;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
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
    let aws_host = format!("{api_id}.execute-api.{}.amazonaws.com", aws.region);
    for (k, v) in &f.env {
        let local = v
            .replace(&format!("https://{aws_host}"), &format!("http://{addr}"))
            .replace(&format!("wss://{aws_host}"), &format!("ws://{addr}"));
        env.insert(k.clone(), local);
    }
    FunctionSpec {
        name: name.into(),
        command: f.command.clone(),
        env: env.into_iter().collect(),
        working_dir: f
            .working_dir
            .clone()
            .unwrap_or_else(|| config.base_dir.clone()),
        handler: f.handler.clone().unwrap_or_else(|| name.into()),
        region: aws.region.clone(),
        timeout: Duration::from_secs(f.timeout_secs),
        memory_mb: f.memory_mb,
        max_concurrency: f.max_concurrency,
        keep_warm: KEEP_WARM,
        arn: format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            aws.region, aws.account_id
        ),
    }
}
