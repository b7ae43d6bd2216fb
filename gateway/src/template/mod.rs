//! A SAM / CloudFormation template as the gateway's config: one description of
//! the API for AWS and for localhost. What the template holds that wsgate does
//! not emulate comes back as warnings, never dropped silently.

mod functions;
mod intrinsics;
mod parameters;
mod resources;
mod storage;
mod websocket_api;
mod yaml;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::{ApiConfig, AwsConfig, Config};
use intrinsics::Scope;

/// A template that cannot be used: where (`Resources.X.Properties.Y`) and why.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct TemplateError {
    pub at: String,
    pub message: String,
}

impl TemplateError {
    pub fn at(at: &str, message: impl Into<String>) -> Self {
        Self {
            at: at.to_string(),
            message: message.into(),
        }
    }
}

/// What the command line adds to a template.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// `--parameter Name=value` overrides.
    pub parameters: BTreeMap<String, String>,
    /// `--import Name=value`: what `Fn::ImportValue` gives for other stacks' exports.
    pub imports: BTreeMap<String, String>,
    /// Where the functions' binaries are (cargo's `target/debug` by default).
    pub bin_dir: Option<PathBuf>,
    /// The Python that runs `python*` functions with awslambdaric.
    pub python: String,
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    pub endpoint_url: Option<String>,
    pub listen: SocketAddr,
    /// Served at `/web/` (templates do not describe static sites).
    pub static_dir: Option<PathBuf>,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        Self {
            parameters: BTreeMap::new(),
            imports: BTreeMap::new(),
            bin_dir: None,
            python: "python3".into(),
            stack_name: "wsgate".into(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            endpoint_url: None,
            listen: ApiConfig::default().listen,
            static_dir: None,
        }
    }
}

/// The config built from a template, and what it holds that is not emulated.
#[derive(Debug)]
pub struct Loaded {
    /// The first WebSocket API (by logical id), with everything the template
    /// provisions and triggers (tables, queues, SQS mappings, HTTP routes).
    pub config: Config,
    /// Any further WebSocket APIs, each run by a gateway of its own (on the
    /// next port), with the same functions.
    pub more: Vec<Config>,
    pub warnings: Vec<String>,
    /// What is read and not enforced locally (IAM, retention, …): one line, for INFO.
    pub notes: Vec<String>,
}

/// Reads a template file.
pub fn load(path: &Path, options: &TemplateOptions) -> Result<Loaded, crate::config::ConfigError> {
    let (template, base) = read_yaml(path)?;
    from_value(&template, path, &base, options)
}

/// YAML with CloudFormation's short tags (`!Ref`, `!Sub`, …) as JSON values.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    yaml::parse(text)
}

/// A YAML (or JSON) file as a value, and the absolute folder its relative paths start from.
pub fn read_yaml(path: &Path) -> Result<(Value, PathBuf), crate::config::ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| crate::config::ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
    let value = yaml::parse(&text).map_err(|message| crate::config::ConfigError::Parse {
        path: path.to_owned(),
        message,
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    Ok((value, base))
}

/// A template already parsed (or made from a service file); `path` names it in
/// errors, `base` is where its relative paths start.
pub fn from_value(
    template: &Value,
    path: &Path,
    base: &Path,
    options: &TemplateOptions,
) -> Result<Loaded, crate::config::ConfigError> {
    let named = |e: TemplateError| crate::config::ConfigError::Invalid {
        path: path.to_owned(),
        key: e.at,
        message: e.message,
    };
    let (mut configs, warnings, notes) = build(template, options, base).map_err(named)?;
    let more = configs
        .split_off(1)
        .into_iter()
        .map(|c| c.finish(path))
        .collect::<Result<_, _>>()?;
    let config = configs.remove(0).finish(path)?;
    Ok(Loaded {
        config,
        more,
        warnings,
        notes,
    })
}

fn section<'a>(template: &'a Value, name: &str) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    template[name]
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// A scalar as text (strings as they are, numbers and booleans written out).
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn required(props: &Value, key: &str, at: &str) -> Result<String, TemplateError> {
    text(&props[key]).ok_or_else(|| TemplateError::at(&format!("{at}.{key}"), "is required"))
}

fn number(props: &Value, key: &str, at: &str) -> Result<Option<u64>, TemplateError> {
    match &props[key] {
        Value::Null => Ok(None),
        v => text(v)
            .and_then(|t| t.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                TemplateError::at(
                    &format!("{at}.{key}"),
                    format!("expected a whole number, found {v}"),
                )
            }),
    }
}

/// The configs a template gives (one per WebSocket API), its warnings and its notes.
type Built = (Vec<Config>, Vec<String>, Vec<String>);

fn build(template: &Value, options: &TemplateOptions, base: &Path) -> Result<Built, TemplateError> {
    if !template.is_object() || template["Resources"].as_object().is_none_or(Map::is_empty) {
        return Err(TemplateError::at(
            "Resources",
            "a template needs at least one resource",
        ));
    }
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut scope = Scope {
        parameters: parameters::parameters(template, options)?,
        mappings: section(template, "Mappings").clone(),
        imports: options.imports.clone(),
        ..Scope::default()
    };
    parameters::conditions(template, &mut scope)?;
    let res = resources::resolve(template, options, scope, &mut warnings, &mut notes)?;
    let functions = functions::functions(&res, options, base, &mut warnings)?;
    let mut configs = Vec::new();
    for (index, resource) in websocket_api::apis(&res)?.into_iter().enumerate() {
        let (api, api_ref) = websocket_api::api(&res, resource, index, options, &mut warnings)?;
        let bound = websocket_api::routes(&res, &api_ref, &api.stage_variables, &mut warnings)?;
        let mut config = Config::empty(base);
        config.api = api;
        config.aws = AwsConfig {
            region: options.region.clone(),
            endpoint_url: options.endpoint_url.clone(),
            account_id: options.account_id.clone(),
        };
        config.functions = functions.functions.clone();
        config.routes = bound.routes;
        config.integrations = bound.integrations;
        config.authorizers = bound.authorizers;
        config.models = websocket_api::models(&res, &api_ref)?;
        if index == 0 {
            // Provisioned, polled and served once, by the first API's gateway.
            config.http = functions.http.clone();
            config.sqs = functions.sqs.clone();
            config.provision = storage::storage(&res)?;
        }
        configs.push(config);
    }
    Ok((configs, warnings, notes))
}

#[cfg(test)]
mod tests {
    use super::resources::local_api_id;

    #[test]
    fn api_ids_are_stable_and_aws_shaped() {
        assert_eq!(local_api_id("WebSocketApi"), "websocketa");
        assert_eq!(local_api_id("Ws"), "ws00000000");
    }
}
