//! The template's resources: which exist (Conditions), what `Ref` and
//! `Fn::GetAtt` give for each locally, their properties resolved, and what of
//! them is not emulated (as warnings).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::intrinsics::{ResourceValues, Scope};
use super::{TemplateError, TemplateOptions, section, text};

/// Types wsgate reads; for each, the properties it does not emulate (reported).
/// Names, descriptions and tags are metadata and change nothing locally.
/// Types wsgate reads, and for each the properties it emulates or that are
/// metadata (names, descriptions, tags). Any other property a resource has is
/// reported at start-up as not emulated: nothing is dropped silently.
pub(super) const HANDLED: &[(&str, &[&str])] = &[
    (
        "AWS::ApiGatewayV2::Api",
        &[
            "Name",
            "Description",
            "ProtocolType",
            "RouteSelectionExpression",
            "Tags",
            "Version",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Stage",
        &[
            "ApiId",
            "StageName",
            "StageVariables",
            "DeploymentId",
            "AutoDeploy",
            "Description",
            "Tags",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Route",
        &[
            "ApiId",
            "RouteKey",
            "Target",
            "AuthorizerId",
            "AuthorizationType",
            "ApiKeyRequired",
            "ModelSelectionExpression",
            "RequestModels",
            "OperationName",
            "RouteResponseSelectionExpression",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Integration",
        &[
            "ApiId",
            "IntegrationType",
            "IntegrationUri",
            "IntegrationMethod",
            "Description",
            "RequestParameters",
            "RequestTemplates",
            "TemplateSelectionExpression",
            "PassthroughBehavior",
            "ContentHandlingStrategy",
            "TimeoutInMillis",
            "CredentialsArn",
            "PayloadFormatVersion",
        ],
    ),
    (
        "AWS::ApiGatewayV2::IntegrationResponse",
        &[
            "ApiId",
            "IntegrationId",
            "IntegrationResponseKey",
            "ResponseTemplates",
            "TemplateSelectionExpression",
            "ContentHandlingStrategy",
            "ResponseParameters",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Authorizer",
        &[
            "ApiId",
            "AuthorizerType",
            "AuthorizerUri",
            "IdentitySource",
            "Name",
        ],
    ),
    (
        "AWS::ApiGatewayV2::RouteResponse",
        &[
            "ApiId",
            "RouteId",
            "RouteResponseKey",
            "ModelSelectionExpression",
            "ResponseModels",
        ],
    ),
    (
        "AWS::ApiGatewayV2::Deployment",
        &["ApiId", "Description", "StageName"],
    ),
    (
        "AWS::ApiGatewayV2::Model",
        &["ApiId", "Name", "ContentType", "Schema", "Description"],
    ),
    (
        "AWS::ApiGateway::ApiKey",
        &["Value", "Enabled", "Name", "Description", "Tags"],
    ),
    (
        "AWS::Serverless::Function",
        &[
            "Runtime",
            "Handler",
            "CodeUri",
            "InlineCode",
            "Environment",
            "Timeout",
            "MemorySize",
            "ReservedConcurrentExecutions",
            "Events",
            "Layers",
            "FunctionName",
            "Description",
            "Tags",
        ],
    ),
    (
        "AWS::Lambda::Function",
        &[
            "Runtime",
            "Handler",
            "Code",
            "Environment",
            "Timeout",
            "MemorySize",
            "ReservedConcurrentExecutions",
            "Layers",
            "FunctionName",
            "Description",
            "Tags",
        ],
    ),
    (
        "AWS::Serverless::LayerVersion",
        &[
            "ContentUri",
            "LayerName",
            "Description",
            "CompatibleRuntimes",
            "CompatibleArchitectures",
            "LicenseInfo",
        ],
    ),
    (
        "AWS::Lambda::LayerVersion",
        &[
            "Content",
            "LayerName",
            "Description",
            "CompatibleRuntimes",
            "CompatibleArchitectures",
            "LicenseInfo",
        ],
    ),
    (
        "AWS::Lambda::EventSourceMapping",
        &[
            "FunctionName",
            "EventSourceArn",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "FunctionResponseTypes",
            "ScalingConfig",
            "Enabled",
        ],
    ),
    (
        "AWS::DynamoDB::Table",
        &[
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "GlobalSecondaryIndexes",
            "BillingMode",
            "Tags",
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[
            "QueueName",
            "VisibilityTimeout",
            "RedrivePolicy",
            "FifoQueue",
            "ContentBasedDeduplication",
            "Tags",
        ],
    ),
    (
        "AWS::Serverless::SimpleTable",
        &["TableName", "PrimaryKey", "ProvisionedThroughput", "Tags"],
    ),
    (
        "AWS::SNS::Topic",
        &["TopicName", "DisplayName", "Subscription", "Tags"],
    ),
    (
        "AWS::SNS::Subscription",
        &[
            "TopicArn",
            "Protocol",
            "Endpoint",
            "RawMessageDelivery",
            "Region",
        ],
    ),
    (
        "AWS::StepFunctions::StateMachine",
        &[
            "StateMachineName",
            "StateMachineType",
            "Definition",
            "DefinitionString",
            "DefinitionSubstitutions",
            "Tags",
        ],
    ),
];

/// IAM and permissions, architectures, retention, encryption, backups, tracing
/// and logging: what AWS enforces or keeps and a laptop has no use for. Nothing
/// an app does locally depends on them.
const UNENFORCED_TYPES: &[&str] = &[
    "AWS::IAM::",
    "AWS::Lambda::Permission",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Logs::",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGatewayV2::ApiMapping",
];
const UNENFORCED_PROPERTIES: &[&str] = &[
    "Policies",
    "Role",
    "PermissionsBoundary",
    "Architectures",
    "MessageRetentionPeriod",
    "KmsMasterKeyId",
    "SSESpecification",
    "PointInTimeRecoverySpecification",
    "DeletionProtectionEnabled",
    "Tracing",
    "LoggingConfig",
    "AccessLogSettings",
    "DefaultRouteSettings",
    "RouteSettings",
    "AutoPublishAlias",
    "ProvisionedThroughput",
    "TimeToLiveSpecification",
    "StreamSpecification",
];

fn is_unenforced(what: &str) -> bool {
    if let Some(kind) = what.strip_prefix("resources of type ") {
        return UNENFORCED_TYPES.iter().any(|t| kind.starts_with(t));
    }
    what.split_once(" of ")
        .is_some_and(|(property, _)| UNENFORCED_PROPERTIES.contains(&property))
}

pub(super) struct Resource<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub raw: &'a Value,
    /// Properties with Globals merged in (functions), not yet resolved.
    pub props: Value,
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
        "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
            // Every layer here is its first version.
            format!("arn:aws:lambda:{region}:{account}:layer:{name}:1")
        }
        "AWS::SQS::Queue" => {
            // CloudFormation names a FIFO queue with the `.fifo` SQS requires.
            let fifo = r.props["FifoQueue"] == true || r.props["FifoQueue"] == "true";
            let name = if fifo && !name.ends_with(".fifo") {
                format!("{name}.fifo")
            } else {
                name
            };
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
        "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => {
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
        "AWS::SNS::Topic" => {
            let arn = format!("arn:aws:sns:{region}:{account}:{name}");
            attrs.insert("TopicArn".into(), arn.clone());
            attrs.insert("TopicName".into(), name);
            arn
        }
        "AWS::StepFunctions::StateMachine" => {
            let arn = format!("arn:aws:states:{region}:{account}:stateMachine:{name}");
            attrs.insert("Arn".into(), arn.clone());
            attrs.insert("Name".into(), name);
            arn
        }
        "AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi" => {
            let id = local_api_id(r.id);
            attrs.insert("ApiId".into(), id.clone());
            attrs.insert("ApiEndpoint".into(), format!("http://{}", options.listen));
            id
        }
        "AWS::IAM::Role" => {
            // Roles are not emulated, but functions name theirs (CDK, plain Lambda).
            attrs.insert("Arn".into(), format!("arn:aws:iam::{account}:role/{name}"));
            attrs.insert(
                "RoleId".into(),
                format!("AROA{}", name.to_ascii_uppercase()),
            );
            name
        }
        other => {
            // An ARN of the usual shape, for resources that are only reported.
            let service = other
                .split("::")
                .nth(1)
                .unwrap_or("unknown")
                .to_ascii_lowercase();
            let kind = other
                .rsplit("::")
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            attrs.insert(
                "Arn".into(),
                format!("arn:aws:{service}:{region}:{account}:{kind}/{}", r.id),
            );
            r.id.to_string()
        }
    };
    ResourceValues {
        reference,
        attributes: attrs,
    }
}

/// A stable, AWS-shaped API id: ten lowercase letters and digits from the logical id.
pub(super) fn local_api_id(logical: &str) -> String {
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

/// The resources that exist, resolved, with the scope that resolved them.
pub(super) struct Resources<'a> {
    pub list: Vec<Resource<'a>>,
    /// Properties with every intrinsic resolved, by logical id.
    pub resolved: BTreeMap<&'a str, Value>,
    pub scope: Scope,
}

impl<'a> Resources<'a> {
    pub fn of(&self, kind: &'static str) -> impl Iterator<Item = &Resource<'a>> {
        self.list.iter().filter(move |r| r.kind == kind)
    }
}

/// `DependsOn` orders nothing here (every resource exists before the first
/// event), but naming a resource the stack does not create fails on AWS, so here too.
fn depends_on(r: &Resource, created: &BTreeSet<&str>) -> Result<(), TemplateError> {
    let at = format!("Resources.{}.DependsOn", r.id);
    let shape = || TemplateError::at(&at, "must be a logical id or a list of them");
    let names: Vec<&str> = match &r.raw["DependsOn"] {
        Value::Null => return Ok(()),
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().ok_or_else(shape))
            .collect::<Result<_, _>>()?,
        _ => return Err(shape()),
    };
    let missing: Vec<&str> = names.into_iter().filter(|n| !created.contains(n)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(TemplateError::at(
        &at,
        format!(
            "Template format error: Unresolved resource dependencies [{}] in the Resources block of the template",
            missing.join(", ")
        ),
    ))
}

/// Resolves every resource whose Condition holds; what is not emulated goes to `warnings`.
pub(super) fn resolve<'a>(
    template: &'a Value,
    options: &TemplateOptions,
    mut scope: Scope,
    warnings: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Resources<'a>, TemplateError> {
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
    let created: BTreeSet<&str> = resources.iter().map(|r| r.id).collect();
    for r in &resources {
        depends_on(r, &created)?;
    }
    // Names first (they may use parameters), then everything else can refer to them.
    for r in &resources {
        let at = format!("Resources.{}.Properties", r.id);
        let name_key = match r.kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => Some("FunctionName"),
            "AWS::SQS::Queue" => Some("QueueName"),
            "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => Some("LayerName"),
            "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => Some("TableName"),
            "AWS::SNS::Topic" => Some("TopicName"),
            "AWS::StepFunctions::StateMachine" => Some("StateMachineName"),
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
            Some((_, emulated)) => {
                let props = r.props.as_object().into_iter().flatten();
                for (p, value) in
                    props.filter(|(p, v)| !v.is_null() && !emulated.contains(&p.as_str()))
                {
                    // The one key selection API Gateway's WebSocket APIs offer is the one checked.
                    if p == "ApiKeySelectionExpression" && value == "$request.header.x-api-key" {
                        continue;
                    }
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
    // What no local emulator enforces is listed once, quietly; the rest may change
    // what the app does and is a warning each.
    let mut unenforced = Vec::new();
    for (what, ids) in skipped {
        if is_unenforced(&what) {
            unenforced.push(format!("{what} ({})", ids.join(", ")));
        } else {
            warnings.push(format!("not emulated: {what}: {}", ids.join(", ")));
        }
    }
    if !unenforced.is_empty() {
        notes.push(format!(
            "read, not enforced locally (as no local emulator does): {}",
            unenforced.join("; ")
        ));
    }
    Ok(Resources {
        list: resources,
        resolved,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(template: Value) -> Result<(), TemplateError> {
        let mut scope = Scope::default();
        scope.conditions.insert("No".into(), false);
        resolve(
            &template,
            &TemplateOptions::default(),
            scope,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .map(|_| ())
    }

    #[test]
    fn depends_on_names_resources_the_stack_creates() {
        let q = json!({"Type": "AWS::SQS::Queue"});
        let ok = json!({"Resources": {"A": q, "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"},
            "C": {"Type": "AWS::SQS::Queue", "DependsOn": ["A", "B"]}}});
        check(ok).unwrap();
        let e = check(json!({"Resources": {"A": q, "B": {"Type": "AWS::SQS::Queue", "DependsOn": ["A", "Gone"]}}}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Resources.B.DependsOn: Template format error: Unresolved resource dependencies [Gone] in the Resources block of the template"
        );
        // A resource whose Condition is false is not created either.
        let e = check(
            json!({"Resources": {"A": {"Type": "AWS::SQS::Queue", "Condition": "No"},
            "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"}}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Resources.B.DependsOn") && e.contains("[A]"),
            "{e}"
        );
        // …and what it depends on does not matter then.
        check(json!({"Resources": {"A": {"Type": "AWS::SQS::Queue", "Condition": "No", "DependsOn": "Gone"}}}))
            .unwrap();
        let e =
            check(json!({"Resources": {"A": {"Type": "AWS::SQS::Queue", "DependsOn": {"x": 1}}}}))
                .unwrap_err()
                .to_string();
        assert!(e.starts_with("Resources.A.DependsOn: "), "{e}");
    }
}
