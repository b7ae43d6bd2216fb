//! A SAM / CloudFormation template as the gateway's config: one description of
//! the API for AWS and for localhost. What the template holds that wsgate does
//! not emulate comes back as warnings, never dropped silently.

mod intrinsics;
mod yaml;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::config::{
    ApiConfig, AuthorizerConfig, AwsConfig, Config, DeadLetterConfig, FunctionConfig, HttpConfig,
    HttpRouteConfig, IndexConfig, ProvisionConfig, QueueConfig, RouteConfig, SqsMappingConfig,
    TableConfig,
};
use intrinsics::{ResourceValues, Scope};

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
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Types wsgate reads; for each, the properties it does not emulate (reported).
/// Names, descriptions and tags are metadata and change nothing locally.
const HANDLED: &[(&str, &[&str])] = &[
    (
        "AWS::ApiGatewayV2::Api",
        &["ApiKeySelectionExpression", "DisableSchemaValidation"],
    ),
    (
        "AWS::ApiGatewayV2::Stage",
        &[
            "DefaultRouteSettings",
            "RouteSettings",
            "AccessLogSettings",
            "StageVariables",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Route",
        &[
            "ApiKeyRequired",
            "RouteResponseSelectionExpression",
            "RequestModels",
            "RequestParameters",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Integration",
        &[
            "PassthroughBehavior",
            "TimeoutInMillis",
            "ContentHandlingStrategy",
            "CredentialsArn",
            "RequestTemplates",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Authorizer",
        &["AuthorizerCredentialsArn", "AuthorizerResultTtlInSeconds"],
    ),
    (
        "AWS::ApiGatewayV2::RouteResponse",
        &["ModelSelectionExpression", "ResponseModels"],
    ),
    ("AWS::ApiGatewayV2::Deployment", &[]),
    (
        "AWS::Serverless::Function",
        &[
            "Policies",
            "Role",
            "Architectures",
            "Layers",
            "Tracing",
            "VpcConfig",
            "FunctionUrlConfig",
            "AutoPublishAlias",
            "DeploymentPreference",
            "EphemeralStorage",
        ],
    ),
    (
        "AWS::Lambda::Function",
        &[
            "Role",
            "Architectures",
            "Layers",
            "TracingConfig",
            "VpcConfig",
            "EphemeralStorage",
        ],
    ),
    (
        "AWS::DynamoDB::Table",
        &[
            "ProvisionedThroughput",
            "StreamSpecification",
            "PointInTimeRecoverySpecification",
            "SSESpecification",
            "TimeToLiveSpecification",
            "LocalSecondaryIndexes",
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[
            "MessageRetentionPeriod",
            "KmsMasterKeyId",
            "SqsManagedSseEnabled",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
            "MaximumMessageSize",
            "FifoQueue",
        ],
    ),
];

/// Reads a template file.
pub fn load(path: &Path, options: &TemplateOptions) -> Result<Loaded, crate::config::ConfigError> {
    let named = |e: TemplateError| crate::config::ConfigError::Invalid {
        path: path.to_owned(),
        key: e.at,
        message: e.message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|source| crate::config::ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
    let template = yaml::parse(&text).map_err(|message| crate::config::ConfigError::Parse {
        path: path.to_owned(),
        message,
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    let (config, warnings) = build(&template, options, &base).map_err(named)?;
    let config = config.finish(path)?;
    Ok(Loaded { config, warnings })
}

fn section<'a>(template: &'a Value, name: &str) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    template[name]
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn text(v: &Value) -> Option<String> {
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

/// The parameters' values: overrides, else defaults; AllowedValues are checked.
fn parameters(
    template: &Value,
    options: &TemplateOptions,
) -> Result<BTreeMap<String, Value>, TemplateError> {
    let declared = section(template, "Parameters");
    if let Some(unknown) = options
        .parameters
        .keys()
        .find(|k| !declared.contains_key(*k))
    {
        return Err(TemplateError::at(
            &format!("Parameters.{unknown}"),
            "is overridden but not declared in the template",
        ));
    }
    let mut out = BTreeMap::new();
    for (name, spec) in declared {
        let at = format!("Parameters.{name}");
        let value = match options.parameters.get(name) {
            Some(v) => v.clone(),
            None => text(&spec["Default"]).ok_or_else(|| {
                TemplateError::at(&at, format!("has no Default: pass --parameter {name}=…"))
            })?,
        };
        if let Some(allowed) = spec["AllowedValues"].as_array() {
            if !allowed.iter().filter_map(text).any(|a| a == value) {
                return Err(TemplateError::at(
                    &at,
                    format!(
                        "`{value}` is not one of its AllowedValues {}",
                        Value::Array(allowed.clone())
                    ),
                ));
            }
        }
        if spec["Type"]
            .as_str()
            .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList")
        {
            out.insert(
                name.clone(),
                Value::Array(value.split(',').map(|s| json!(s.trim())).collect()),
            );
        } else {
            out.insert(name.clone(), Value::String(value));
        }
    }
    out.insert("AWS::Region".into(), json!(options.region));
    out.insert("AWS::AccountId".into(), json!(options.account_id));
    out.insert("AWS::StackName".into(), json!(options.stack_name));
    out.insert(
        "AWS::StackId".into(),
        json!(format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/local",
            options.region, options.account_id, options.stack_name
        )),
    );
    out.insert("AWS::Partition".into(), json!("aws"));
    out.insert("AWS::URLSuffix".into(), json!("amazonaws.com"));
    Ok(out)
}

/// Conditions may use each other; they are evaluated until none is left.
fn conditions(template: &Value, scope: &mut Scope) -> Result<(), TemplateError> {
    let mut pending: Vec<(&String, &Value)> = section(template, "Conditions").iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut last_error = None;
        pending.retain(
            |(name, body)| match scope.resolve(body, &format!("Conditions.{name}")) {
                Ok(Value::Bool(b)) => {
                    scope.conditions.insert((*name).clone(), b);
                    false
                }
                Ok(other) => {
                    last_error = Some(TemplateError::at(
                        &format!("Conditions.{name}"),
                        format!("is not a condition: {other}"),
                    ));
                    true
                }
                Err(e) => {
                    last_error = Some(e);
                    true
                }
            },
        );
        if pending.len() == before {
            return Err(last_error.expect("something failed"));
        }
    }
    Ok(())
}

struct Resource<'a> {
    id: &'a str,
    kind: &'a str,
    raw: &'a Value,
    /// Properties with Globals merged in (functions), not yet resolved.
    props: Value,
}

fn merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match out.get(k) {
                    Some(existing) => merge(existing, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, Value::Null) => base.clone(),
        _ => over.clone(),
    }
}

/// What `Ref` and `Fn::GetAtt` give locally for a resource.
fn values(r: &Resource, name: Option<String>, options: &TemplateOptions) -> ResourceValues {
    let (region, account) = (&options.region, &options.account_id);
    let name = name.unwrap_or_else(|| r.id.to_string());
    let mut attrs = BTreeMap::new();
    let reference = match r.kind {
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
            attrs.insert(
                "Arn".into(),
                format!("arn:aws:lambda:{region}:{account}:function:{name}"),
            );
            name
        }
        "AWS::SQS::Queue" => {
            let host = options
                .endpoint_url
                .clone()
                .unwrap_or_else(|| format!("https://sqs.{region}.amazonaws.com"));
            let url = format!("{}/{account}/{name}", host.trim_end_matches('/'));
            attrs.insert(
                "Arn".into(),
                format!("arn:aws:sqs:{region}:{account}:{name}"),
            );
            attrs.insert("QueueName".into(), name);
            attrs.insert("QueueUrl".into(), url.clone());
            url
        }
        "AWS::DynamoDB::Table" => {
            attrs.insert(
                "Arn".into(),
                format!("arn:aws:dynamodb:{region}:{account}:table/{name}"),
            );
            attrs.insert(
                "StreamArn".into(),
                format!("arn:aws:dynamodb:{region}:{account}:table/{name}/stream/local"),
            );
            name
        }
        "AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi" => {
            let id = local_api_id(r.id);
            attrs.insert("ApiId".into(), id.clone());
            attrs.insert("ApiEndpoint".into(), format!("http://{}", options.listen));
            id
        }
        _ => r.id.to_string(),
    };
    ResourceValues {
        reference,
        attributes: attrs,
    }
}

/// A stable, AWS-shaped API id: ten lowercase letters and digits from the logical id.
fn local_api_id(logical: &str) -> String {
    let mut id: String = logical
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect();
    while id.len() < 10 {
        id.push('0');
    }
    id
}

fn build(
    template: &Value,
    options: &TemplateOptions,
    base: &Path,
) -> Result<(Config, Vec<String>), TemplateError> {
    if !template.is_object() || template["Resources"].as_object().is_none_or(Map::is_empty) {
        return Err(TemplateError::at(
            "Resources",
            "a template needs at least one resource",
        ));
    }
    let mut warnings = Vec::new();
    let mut scope = Scope {
        parameters: parameters(template, options)?,
        ..Scope::default()
    };
    conditions(template, &mut scope)?;

    // Resources whose Condition holds, with function Globals merged in.
    let globals = &template["Globals"]["Function"];
    let mut resources = Vec::new();
    for (id, raw) in section(template, "Resources") {
        let at = format!("Resources.{id}");
        let kind = raw["Type"]
            .as_str()
            .ok_or_else(|| TemplateError::at(&format!("{at}.Type"), "is required"))?;
        if let Some(condition) = raw["Condition"].as_str()
            && !scope.condition(condition, &format!("{at}.Condition"))?
        {
            continue;
        }
        let props = if kind == "AWS::Serverless::Function" {
            merge(globals, &raw["Properties"])
        } else {
            raw["Properties"].clone()
        };
        resources.push(Resource {
            id,
            kind,
            raw,
            props,
        });
    }
    // Names first (they may use parameters), then everything else can refer to them.
    for r in &resources {
        let at = format!("Resources.{}.Properties", r.id);
        let name_key = match r.kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => Some("FunctionName"),
            "AWS::SQS::Queue" => Some("QueueName"),
            "AWS::DynamoDB::Table" => Some("TableName"),
            _ => None,
        };
        let name = match name_key.map(|k| (k, &r.props[k])) {
            Some((k, v)) if !v.is_null() => text(&scope.resolve(v, &format!("{at}.{k}"))?),
            _ => None,
        };
        let v = values(r, name, options);
        scope.resources.insert(r.id.to_string(), v);
    }
    // SAM's implicit HTTP API for HttpApi events.
    scope
        .resources
        .entry("ServerlessHttpApi".into())
        .or_insert_with(|| ResourceValues {
            reference: local_api_id("ServerlessHttpApi"),
            attributes: BTreeMap::new(),
        });

    let mut resolved: BTreeMap<&str, Value> = BTreeMap::new();
    // What is not emulated, and where: one warning line each.
    let mut skipped: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for r in &resources {
        let at = format!("Resources.{}.Properties", r.id);
        resolved.insert(r.id, scope.resolve(&r.props, &at)?);
        match HANDLED.iter().find(|(k, _)| *k == r.kind) {
            None => skipped
                .entry(format!("resources of type {}", r.kind))
                .or_default()
                .push(r.id),
            Some((_, ignored)) => {
                for p in ignored.iter().filter(|p| !r.props[**p].is_null()) {
                    skipped
                        .entry(format!("{p} of {}", r.kind))
                        .or_default()
                        .push(r.id);
                }
            }
        }
        if r.kind == "AWS::DynamoDB::Table" {
            let non_string = r.props["AttributeDefinitions"]
                .as_array()
                .is_some_and(|defs| defs.iter().any(|d| d["AttributeType"] != "S"));
            if non_string {
                skipped
                    .entry("non-string key attributes (created as strings)".into())
                    .or_default()
                    .push(r.id);
            }
        }
    }
    for (what, ids) in skipped {
        warnings.push(format!("not emulated: {what}: {}", ids.join(", ")));
    }
    let of = |kind: &'static str| resources.iter().filter(move |r| r.kind == kind);

    // The WebSocket API and its stage.
    let apis: Vec<_> = of("AWS::ApiGatewayV2::Api")
        .filter(|r| resolved[r.id]["ProtocolType"] == "WEBSOCKET")
        .collect();
    let api = match apis.as_slice() {
        [api] => api,
        [] => {
            return Err(TemplateError::at(
                "Resources",
                "no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET",
            ));
        }
        [_, second, ..] => {
            return Err(TemplateError::at(
                &format!("Resources.{}", second.id),
                "wsgate runs one WebSocket API per template",
            ));
        }
    };
    let api_ref = scope.resources[api.id].reference.clone();
    let belongs = |id: &str| resolved[id]["ApiId"].as_str() == Some(api_ref.as_str());
    let mut api_config = ApiConfig {
        listen: options.listen,
        api_id: Some(api_ref.clone()),
        ..ApiConfig::default()
    };
    if let Some(expr) = text(&resolved[api.id]["RouteSelectionExpression"]) {
        api_config.route_selection_expression = expr;
    }
    match of("AWS::ApiGatewayV2::Stage").find(|s| belongs(s.id)) {
        Some(stage) => {
            api_config.stage = required(
                &resolved[stage.id],
                "StageName",
                &format!("Resources.{}.Properties", stage.id),
            )?
        }
        None => warnings.push(format!(
            "no AWS::ApiGatewayV2::Stage for {}: using stage `{}`",
            api.id, api_config.stage
        )),
    }

    // Functions, and the events that trigger them.
    let bin_dir = options.bin_dir.clone().unwrap_or_else(|| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        base.join(target).join("debug")
    });
    let mut functions = BTreeMap::new();
    let mut by_arn = BTreeMap::new();
    let mut sqs = Vec::new();
    let mut http = HttpConfig {
        static_dir: options.static_dir.clone(),
        ..HttpConfig::default()
    };
    for f in of("AWS::Serverless::Function").chain(of("AWS::Lambda::Function")) {
        let at = format!("Resources.{}.Properties", f.id);
        let p = &resolved[f.id];
        let name = scope.resources[f.id].reference.clone();
        by_arn.insert(
            scope.resources[f.id].attributes["Arn"].clone(),
            name.clone(),
        );
        let runtime = text(&p["Runtime"]).unwrap_or_else(|| "provided.al2023".into());
        let handler = text(&p["Handler"]).unwrap_or_else(|| "bootstrap".into());
        let code = text(&p["CodeUri"])
            .map(|c| base.join(c))
            .unwrap_or_else(|| base.to_owned());
        let (command, working_dir) = if runtime.starts_with("provided") {
            // A cargo-lambda binary by name; else a built `bootstrap` in CodeUri
            // (e.g. target/lambda/connect/); else the Handler or the logical id.
            let binary = text(&f.raw["Metadata"]["BuildProperties"]["Binary"]);
            let bootstrap = code.join("bootstrap");
            let program = match binary {
                Some(b) => bin_dir.join(b),
                None if code.is_dir() && bootstrap.is_file() => bootstrap,
                None if handler != "bootstrap" => bin_dir.join(&handler),
                None => bin_dir.join(f.id),
            };
            (vec![program.to_string_lossy().into_owned()], None)
        } else if runtime.starts_with("python") {
            (
                vec![
                    options.python.clone(),
                    "-m".into(),
                    "awslambdaric".into(),
                    handler.clone(),
                ],
                Some(code),
            )
        } else {
            return Err(TemplateError::at(
                &format!("{at}.Runtime"),
                format!("`{runtime}` cannot run locally yet (provided.* and python* can)"),
            ));
        };
        let env = p["Environment"]["Variables"]
            .as_object()
            .map(|vars| {
                vars.iter()
                    .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        let config = FunctionConfig {
            command,
            env,
            timeout_secs: number(p, "Timeout", &at)?.unwrap_or(3),
            memory_mb: number(p, "MemorySize", &at)?.unwrap_or(128) as u32,
            max_concurrency: number(p, "ReservedConcurrentExecutions", &at)?.unwrap_or(10) as usize,
            working_dir,
            handler: Some(handler),
        };
        for (event_id, event) in p["Events"].as_object().into_iter().flatten() {
            let at = format!("{at}.Events.{event_id}.Properties");
            let e = &event["Properties"];
            match event["Type"].as_str().unwrap_or_default() {
                "SQS" => {
                    let queue = required(e, "Queue", &at)?;
                    sqs.push(SqsMappingConfig {
                        function: name.clone(),
                        queue: queue.rsplit(':').next().unwrap_or(&queue).to_string(),
                        batch_size: number(e, "BatchSize", &at)?.unwrap_or(10) as usize,
                        batching_window_secs: number(e, "MaximumBatchingWindowInSeconds", &at)?
                            .unwrap_or(0),
                        report_batch_item_failures: e["FunctionResponseTypes"]
                            .as_array()
                            .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
                        max_concurrency: number(&e["ScalingConfig"], "MaximumConcurrency", &at)?
                            .unwrap_or(2) as usize,
                    });
                }
                "HttpApi" | "Api" => {
                    let path = required(e, "Path", &at)?;
                    let method = required(e, "Method", &at)?.to_ascii_uppercase();
                    if method == "ANY" {
                        warnings.push(format!(
                            "{}: event {event_id}: method ANY is served as GET and POST",
                            f.id
                        ));
                        for m in ["GET", "POST"] {
                            http.routes.insert(
                                format!("{m} {path}"),
                                HttpRouteConfig {
                                    function: name.clone(),
                                },
                            );
                        }
                    } else {
                        http.routes.insert(
                            format!("{method} {path}"),
                            HttpRouteConfig {
                                function: name.clone(),
                            },
                        );
                    }
                }
                other => warnings.push(format!(
                    "{}: event {event_id} of type {other} is not emulated",
                    f.id
                )),
            }
        }
        functions.insert(name, config);
    }
    // The function an integration or authorizer URI invokes.
    let target = |uri: &str, at: &str| -> Result<String, TemplateError> {
        by_arn
            .iter()
            .find(|(arn, _)| uri.contains(&format!("{arn}/")) || uri == arn.as_str())
            .map(|(_, name)| name.clone())
            .ok_or_else(|| {
                TemplateError::at(at, format!("`{uri}` invokes no function of this template"))
            })
    };

    let mut integrations = BTreeMap::new();
    for i in of("AWS::ApiGatewayV2::Integration").filter(|r| belongs(r.id)) {
        let at = format!("Resources.{}.Properties", i.id);
        let uri = required(&resolved[i.id], "IntegrationUri", &at)?;
        integrations.insert(
            scope.resources[i.id].reference.clone(),
            target(&uri, &format!("{at}.IntegrationUri"))?,
        );
    }
    let mut authorizers = BTreeMap::new();
    for a in of("AWS::ApiGatewayV2::Authorizer").filter(|r| belongs(r.id)) {
        let at = format!("Resources.{}.Properties", a.id);
        let p = &resolved[a.id];
        if p["AuthorizerType"] != "REQUEST" {
            return Err(TemplateError::at(
                &format!("{at}.AuthorizerType"),
                "WebSocket APIs take REQUEST authorizers",
            ));
        }
        let uri = required(p, "AuthorizerUri", &at)?;
        let identity_source = match &p["IdentitySource"] {
            Value::Array(items) => items.iter().filter_map(text).collect(),
            Value::String(s) => s.split(',').map(|s| s.trim().to_string()).collect(),
            _ => Vec::new(),
        };
        let function = target(&uri, &format!("{at}.AuthorizerUri"))?;
        authorizers.insert(
            scope.resources[a.id].reference.clone(),
            AuthorizerConfig {
                function,
                identity_source,
            },
        );
    }
    let responses: Vec<String> = of("AWS::ApiGatewayV2::RouteResponse")
        .filter_map(|r| text(&resolved[r.id]["RouteId"]))
        .collect();
    let mut routes = BTreeMap::new();
    for r in of("AWS::ApiGatewayV2::Route").filter(|r| belongs(r.id)) {
        let at = format!("Resources.{}.Properties", r.id);
        let p = &resolved[r.id];
        let key = required(p, "RouteKey", &at)?;
        let Some(integration) = text(&p["Target"]) else {
            warnings.push(format!(
                "{}: route {key} has no Target and is not served",
                r.id
            ));
            continue;
        };
        let integration = integration
            .strip_prefix("integrations/")
            .unwrap_or(&integration);
        let function = integrations.get(integration).cloned().ok_or_else(|| {
            TemplateError::at(
                &format!("{at}.Target"),
                format!("no AWS_PROXY integration `{integration}` of this API"),
            )
        })?;
        let authorizer = match text(&p["AuthorizerId"]) {
            Some(id) if authorizers.contains_key(&id) => Some(id),
            Some(id) => {
                return Err(TemplateError::at(
                    &format!("{at}.AuthorizerId"),
                    format!("no authorizer `{id}` of this API"),
                ));
            }
            None => None,
        };
        let route_response = responses.contains(&scope.resources[r.id].reference);
        routes.insert(
            key,
            RouteConfig {
                function,
                route_response,
                authorizer,
            },
        );
    }

    // Tables and queues to create.
    let mut provision = ProvisionConfig::default();
    for t in of("AWS::DynamoDB::Table") {
        let at = format!("Resources.{}.Properties", t.id);
        let p = &resolved[t.id];
        let keys = |schema: &Value, at: &str| -> Result<(String, Option<String>), TemplateError> {
            let items = schema
                .as_array()
                .ok_or_else(|| TemplateError::at(at, "is required"))?;
            let find = |kind: &str| {
                items
                    .iter()
                    .find(|k| k["KeyType"] == kind)
                    .and_then(|k| text(&k["AttributeName"]))
            };
            Ok((
                find("HASH").ok_or_else(|| TemplateError::at(at, "has no HASH key"))?,
                find("RANGE"),
            ))
        };
        let (partition_key, sort_key) = keys(&p["KeySchema"], &format!("{at}.KeySchema"))?;
        let mut indexes = Vec::new();
        for (i, gsi) in p["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}.GlobalSecondaryIndexes[{i}]");
            let (partition_key, sort_key) = keys(&gsi["KeySchema"], &format!("{at}.KeySchema"))?;
            indexes.push(IndexConfig {
                name: required(gsi, "IndexName", &at)?,
                partition_key,
                sort_key,
            });
        }
        let name = scope.resources[t.id].reference.clone();
        provision.tables.push(TableConfig {
            name,
            partition_key,
            sort_key,
            indexes,
        });
    }
    for q in of("AWS::SQS::Queue") {
        let at = format!("Resources.{}.Properties", q.id);
        let p = &resolved[q.id];
        let dead_letter = match &p["RedrivePolicy"] {
            Value::Null => None,
            policy => {
                let policy = match policy {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                    other => other.clone(),
                };
                let arn = required(
                    &policy,
                    "deadLetterTargetArn",
                    &format!("{at}.RedrivePolicy"),
                )?;
                let count = number(&policy, "maxReceiveCount", &format!("{at}.RedrivePolicy"))?
                    .unwrap_or(3);
                Some(DeadLetterConfig {
                    name: arn.rsplit(':').next().unwrap_or(&arn).to_string(),
                    max_receive_count: count as u32,
                })
            }
        };
        provision.queues.push(QueueConfig {
            name: scope.resources[q.id].attributes["QueueName"].clone(),
            visibility_timeout_secs: number(p, "VisibilityTimeout", &at)?.unwrap_or(30),
            dead_letter,
        });
    }
    // A DLQ is provisioned with its queue; listing it again would be harmless but noisy.
    let dlqs: Vec<String> = provision
        .queues
        .iter()
        .filter_map(|q| q.dead_letter.as_ref().map(|d| d.name.clone()))
        .collect();
    provision
        .queues
        .retain(|q| !dlqs.contains(&q.name) || q.dead_letter.is_some());

    let mut config = Config::empty(base);
    config.api = api_config;
    config.aws = AwsConfig {
        region: options.region.clone(),
        endpoint_url: options.endpoint_url.clone(),
        account_id: options.account_id.clone(),
    };
    config.functions = functions;
    config.routes = routes;
    config.authorizers = authorizers;
    config.http = http;
    config.sqs = sqs;
    config.provision = provision;
    Ok((config, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_ids_are_stable_and_aws_shaped() {
        assert_eq!(local_api_id("WebSocketApi"), "websocketa");
        assert_eq!(local_api_id("Ws"), "ws00000000");
    }
}
