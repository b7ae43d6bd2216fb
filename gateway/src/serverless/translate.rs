//! A Serverless Framework service (its variables resolved) as the CloudFormation
//! template the framework would deploy: functions, the WebSocket API with its
//! routes, integrations, route responses and authorizers, SQS and HTTP events,
//! and `resources` as they are. The template engine takes it from there.

use serde_json::{Map, Value, json};

use super::ServerlessError;
use crate::template::text;

/// What the file says beyond the template: the stage, and serverless-offline's
/// own settings that map to wsgate's.
#[derive(Debug, Default)]
pub struct Offline {
    pub stage: String,
    pub websocket_port: Option<u16>,
    pub host: Option<String>,
    /// Keys read and not enforced, or not emulated at all: one line each.
    pub notes: Vec<String>,
}

fn fail(at: &str, message: impl Into<String>) -> ServerlessError {
    ServerlessError {
        at: at.to_string(),
        message: message.into(),
    }
}

/// The logical id the framework gives a name: `send-message` → `SendDashmessage`.
pub fn normalize(name: &str) -> String {
    let name = name.replace('-', "Dash").replace('_', "Underscore");
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A route key's part of a logical id: `$connect` → `SconnectWebsocketsRoute`.
fn route_id(route: &str) -> String {
    let cleaned: String = route
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { 'S' })
        .collect();
    format!("{}WebsocketsRoute", normalize(&cleaned))
}

const PROVIDER_KEYS: &[&str] = &[
    "name",
    "runtime",
    "stage",
    "region",
    "environment",
    "timeout",
    "memorySize",
    "websocketsApiName",
    "websocketsApiRouteSelectionExpression",
    "websocketsDescription",
    "layers",
    "architecture",
    "deploymentMethod",
    "versionFunctions",
];

const FUNCTION_KEYS: &[&str] = &[
    "handler",
    "runtime",
    "environment",
    "timeout",
    "memorySize",
    "layers",
    "reservedConcurrency",
    "events",
    "name",
    "description",
    "architecture",
    "tags",
];

/// The template, and what the file says beyond it.
pub fn translate(
    service: &Value,
    options_stage: Option<&str>,
) -> Result<(Value, Offline), ServerlessError> {
    let mut offline = Offline::default();
    let name = text(&service["service"])
        .or_else(|| text(&service["service"]["name"]))
        .ok_or_else(|| fail("service", "is required"))?;
    let provider = &service["provider"];
    if provider["name"] != "aws" && !provider["name"].is_null() {
        return Err(fail("provider.name", "wsgate runs AWS services only"));
    }
    offline.stage = options_stage
        .map(str::to_string)
        .or_else(|| text(&provider["stage"]))
        .unwrap_or_else(|| "dev".into());
    let stage = offline.stage.clone();
    for (key, _) in provider.as_object().into_iter().flatten() {
        if !PROVIDER_KEYS.contains(&key.as_str()) {
            let how = match key.as_str() {
                "iam" | "iamRoleStatements" | "iamManagedPolicies" | "role" => {
                    "read and not enforced (IAM is not emulated)"
                }
                "logs" | "logRetentionInDays" | "tracing" => "read and not enforced",
                _ => "not emulated",
            };
            offline.notes.push(format!("provider.{key}: {how}"));
        }
    }
    for (key, _) in service.as_object().into_iter().flatten() {
        if ![
            "service",
            "provider",
            "functions",
            "resources",
            "custom",
            "frameworkVersion",
            "useDotenv",
            "configValidationMode",
            "variablesResolutionMode",
            "org",
            "app",
            "package",
            "layers",
        ]
        .contains(&key.as_str())
        {
            offline.notes.push(format!("{key}: not emulated"));
        }
        if key == "plugins" {
            offline.notes.pop();
            offline
                .notes
                .push("plugins: not run (serverless-offline's job is wsgate's here)".into());
        }
    }
    let offline_custom = &service["custom"]["serverless-offline"];
    offline.websocket_port = offline_custom["websocketPort"]
        .as_u64()
        .or_else(|| text(&offline_custom["websocketPort"]).and_then(|p| p.parse().ok()))
        .and_then(|p| u16::try_from(p).ok());
    offline.host = text(&offline_custom["host"]);

    let mut resources = Map::new();
    // The service's own layers, as the framework names them: `shared` → `SharedLambdaLayer`.
    for (lname, layer) in service["layers"].as_object().into_iter().flatten() {
        let path = text(&layer["path"])
            .ok_or_else(|| fail(&format!("layers.{lname}.path"), "is required"))?;
        resources.insert(
            format!("{}LambdaLayer", normalize(lname)),
            json!({"Type": "AWS::Serverless::LayerVersion", "Properties": {
                "LayerName": text(&layer["name"]).unwrap_or_else(|| lname.clone()),
                "ContentUri": path,
            }}),
        );
    }
    // serverless-offline's `noAuth`: authorizers are not run.
    let no_auth = offline_custom["noAuth"] == true;
    let mut websocket = Vec::new();
    for (fname, f) in service["functions"].as_object().into_iter().flatten() {
        let at = format!("functions.{fname}");
        let logical = format!("{}LambdaFunction", normalize(fname));
        let handler =
            text(&f["handler"]).ok_or_else(|| fail(&format!("{at}.handler"), "is required"))?;
        let runtime = text(&f["runtime"])
            .or_else(|| text(&provider["runtime"]))
            .unwrap_or_else(|| "nodejs20.x".into());
        let mut env = provider["environment"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        env.extend(f["environment"].as_object().cloned().unwrap_or_default());
        // As serverless-offline sets it: `if (process.env.IS_OFFLINE)` keeps working.
        env.insert("IS_OFFLINE".into(), "true".into());
        let mut props = json!({
            "FunctionName": text(&f["name"]).unwrap_or_else(|| format!("{name}-{stage}-{fname}")),
            "Runtime": runtime,
            "Handler": handler,
            "CodeUri": ".",
            // The framework's defaults, not Lambda's.
            "Timeout": f.get("timeout").or(provider.get("timeout")).cloned().unwrap_or(json!(6)),
            "MemorySize": f.get("memorySize").or(provider.get("memorySize")).cloned().unwrap_or(json!(1024)),
            "Environment": {"Variables": env},
        });
        if let Some(layers) = f.get("layers").or(provider.get("layers")) {
            props["Layers"] = layers.clone();
        }
        if let Some(n) = f.get("reservedConcurrency") {
            props["ReservedConcurrentExecutions"] = n.clone();
        }
        for (key, _) in f.as_object().into_iter().flatten() {
            if !FUNCTION_KEYS.contains(&key.as_str()) {
                offline.notes.push(format!("{at}.{key}: not emulated"));
            }
        }
        let mut events = Map::new();
        for (i, event) in f["events"].as_array().into_iter().flatten().enumerate() {
            let eat = format!("{at}.events[{i}]");
            let (kind, body) = match event.as_object().and_then(|o| o.iter().next()) {
                Some((k, v)) => (k.as_str(), v),
                None => return Err(fail(&eat, "an event is one `type: settings` pair")),
            };
            match kind {
                "websocket" => {
                    let mut r = route(fname, &logical, body, &eat)?;
                    if no_auth {
                        r.authorizer = None;
                    }
                    websocket.push(r);
                }
                "sqs" => {
                    let arn = body.get("arn").cloned().unwrap_or_else(|| body.clone());
                    let mut sqs = json!({"Queue": arn, "BatchSize": body.get("batchSize").cloned().unwrap_or(json!(10))});
                    if body["functionResponseType"] == "ReportBatchItemFailures" {
                        sqs["FunctionResponseTypes"] = json!(["ReportBatchItemFailures"]);
                    }
                    if let Some(window) = body.get("maximumBatchingWindow") {
                        sqs["MaximumBatchingWindowInSeconds"] = window.clone();
                    }
                    if let Some(n) = body.get("maximumConcurrency") {
                        sqs["ScalingConfig"] = json!({"MaximumConcurrency": n});
                    }
                    events.insert(format!("Sqs{i}"), json!({"Type": "SQS", "Properties": sqs}));
                }
                "http" | "httpApi" => {
                    let (method, path) = match body {
                        Value::String(s) if s == "*" => {
                            ("ANY".to_string(), "/{proxy+}".to_string())
                        }
                        Value::String(s) => {
                            let (m, p) = s
                                .split_once(' ')
                                .ok_or_else(|| fail(&eat, format!("`{s}` is not `METHOD path`")))?;
                            (m.to_string(), p.to_string())
                        }
                        other => (
                            text(&other["method"]).unwrap_or_else(|| "ANY".into()),
                            text(&other["path"])
                                .ok_or_else(|| fail(&format!("{eat}.path"), "is required"))?,
                        ),
                    };
                    let path = if path.starts_with('/') {
                        path
                    } else {
                        format!("/{path}")
                    };
                    events.insert(
                        format!("Http{i}"),
                        json!({"Type": "HttpApi", "Properties": {"Method": method, "Path": path}}),
                    );
                }
                other => offline
                    .notes
                    .push(format!("{eat}: `{other}` events are not emulated")),
            }
        }
        if !events.is_empty() {
            props["Events"] = Value::Object(events);
        }
        resources.insert(
            logical,
            json!({"Type": "AWS::Serverless::Function", "Properties": props}),
        );
    }

    if !websocket.is_empty() {
        websocket_api(service, &name, &stage, &websocket, &mut resources)?;
    }
    // The service's own CloudFormation, as the framework merges it.
    let extra = &service["resources"];
    for (id, r) in extra["Resources"].as_object().into_iter().flatten() {
        resources.insert(id.clone(), r.clone());
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": resources,
    });
    for section in ["Outputs", "Conditions", "Mappings"] {
        if let Some(v) = extra.get(section) {
            template[section] = v.clone();
        }
    }
    Ok((template, offline))
}

/// One `websocket` event: its route, and its authorizer if it has one.
struct Route {
    key: String,
    function: String,
    function_logical: String,
    two_way: bool,
    authorizer: Option<(String, Vec<String>)>,
}

fn route(fname: &str, logical: &str, body: &Value, at: &str) -> Result<Route, ServerlessError> {
    let key = match body {
        Value::String(s) => s.clone(),
        other => {
            text(&other["route"]).ok_or_else(|| fail(&format!("{at}.route"), "is required"))?
        }
    };
    let two_way = match &body["routeResponseSelectionExpression"] {
        Value::Null => false,
        v if v == "$default" => true,
        v => {
            return Err(fail(
                &format!("{at}.routeResponseSelectionExpression"),
                format!("`{v}`: API Gateway takes $default only"),
            ));
        }
    };
    let authorizer = match &body["authorizer"] {
        Value::Null => None,
        Value::String(name) => Some((name.clone(), vec!["route.request.header.Auth".to_string()])),
        a => {
            let name = text(&a["name"])
                .or_else(|| text(&a["arn"]))
                .ok_or_else(|| fail(&format!("{at}.authorizer"), "needs a name or an arn"))?;
            let sources = match &a["identitySource"] {
                Value::Array(items) => items.iter().filter_map(text).collect(),
                Value::String(s) => s.split(',').map(|s| s.trim().to_string()).collect(),
                _ => vec!["route.request.header.Auth".to_string()],
            };
            Some((name, sources))
        }
    };
    if authorizer.is_some() && key != "$connect" {
        return Err(fail(
            &format!("{at}.authorizer"),
            "authorizers run on $connect only, as on AWS",
        ));
    }
    Ok(Route {
        key,
        function: fname.to_string(),
        function_logical: logical.to_string(),
        two_way,
        authorizer,
    })
}

/// The API, its stage, and per route an integration, a route and what it needs.
fn websocket_api(
    service: &Value,
    name: &str,
    stage: &str,
    routes: &[Route],
    resources: &mut Map<String, Value>,
) -> Result<(), ServerlessError> {
    let provider = &service["provider"];
    resources.insert(
        "WebsocketsApi".into(),
        json!({"Type": "AWS::ApiGatewayV2::Api", "Properties": {
            "Name": text(&provider["websocketsApiName"]).unwrap_or_else(|| format!("{stage}-{name}-websockets")),
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": text(&provider["websocketsApiRouteSelectionExpression"]).unwrap_or_else(|| "$request.body.action".into()),
            "Description": text(&provider["websocketsDescription"]).unwrap_or_else(|| "Serverless Websockets".into()),
        }}),
    );
    resources.insert(
        "WebsocketsDeploymentStage".into(),
        json!({"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "WebsocketsApi"}, "StageName": stage}}),
    );
    let invoke = |logical: &str| json!({"Fn::Sub": format!("arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{logical}.Arn}}/invocations")});
    for r in routes {
        let integration = format!("{}WebsocketsIntegration", normalize(&r.function));
        resources.entry(integration.clone()).or_insert_with(|| {
            json!({"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "WebsocketsApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": invoke(&r.function_logical),
            }})
        });
        let id = route_id(&r.key);
        let mut props = json!({
            "ApiId": {"Ref": "WebsocketsApi"},
            "RouteKey": r.key,
            "Target": {"Fn::Join": ["/", ["integrations", {"Ref": integration}]]},
        });
        if let Some((authorizer, sources)) = &r.authorizer {
            // By name (a function of this service) or by ARN (its name at the end).
            let function = authorizer
                .rsplit_once(":function:")
                .map_or(authorizer.as_str(), |(_, f)| f)
                .split(':')
                .next()
                .unwrap_or_default();
            let deployed = |f: &str| format!("{name}-{stage}-{f}");
            let local = service["functions"]
                .as_object()
                .into_iter()
                .flatten()
                .find(|(k, v)| *k == function || deployed(k) == function || v["name"] == function)
                .map(|(k, _)| k.clone())
                .ok_or_else(|| {
                    fail(
                        &format!("functions.{}.events (websocket authorizer)", r.function),
                        format!("`{authorizer}` is not a function of this service"),
                    )
                })?;
            let authorizer_id = format!("{}WebsocketsAuthorizer", normalize(&local));
            resources.insert(
                authorizer_id.clone(),
                json!({"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {
                    "ApiId": {"Ref": "WebsocketsApi"},
                    "Name": local,
                    "AuthorizerType": "REQUEST",
                    "AuthorizerUri": invoke(&format!("{}LambdaFunction", normalize(&local))),
                    "IdentitySource": sources,
                }}),
            );
            props["AuthorizationType"] = "CUSTOM".into();
            props["AuthorizerId"] = json!({"Ref": authorizer_id});
        }
        if r.two_way {
            props["RouteResponseSelectionExpression"] = "$default".into();
            resources.insert(
                format!("{id}Response"),
                json!({"Type": "AWS::ApiGatewayV2::RouteResponse", "Properties": {
                    "ApiId": {"Ref": "WebsocketsApi"},
                    "RouteId": {"Ref": id},
                    "RouteResponseKey": "$default",
                }}),
            );
        }
        resources.insert(
            id,
            json!({"Type": "AWS::ApiGatewayV2::Route", "Properties": props}),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_becomes_the_template_the_framework_deploys() {
        let service = json!({
            "service": "chat",
            "provider": {"name": "aws", "runtime": "nodejs20.x", "environment": {"TABLE": "t"}, "iam": {}},
            "plugins": ["serverless-offline"],
            "functions": {
                "connect": {"handler": "src/handler.connect", "events": [{"websocket": {"route": "$connect", "authorizer": {"name": "auth", "identitySource": ["route.request.querystring.token"]}}}]},
                "auth": {"handler": "src/auth.handler"},
                "echo": {"handler": "src/handler.echo", "timeout": 10, "events": [{"websocket": {"route": "echo", "routeResponseSelectionExpression": "$default"}}]},
                "send-message": {"handler": "src/handler.send", "events": [{"websocket": "$default"}, {"sqs": {"arn": {"Fn::GetAtt": ["Q", "Arn"]}, "batchSize": 5}}, {"httpApi": "POST /hello"}]},
            },
            "resources": {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}},
        });
        let (t, offline) = translate(&service, None).unwrap();
        let r = &t["Resources"];
        assert_eq!(offline.stage, "dev");
        assert_eq!(
            r["ConnectLambdaFunction"]["Properties"]["FunctionName"],
            "chat-dev-connect"
        );
        assert_eq!(r["ConnectLambdaFunction"]["Properties"]["Timeout"], 6);
        assert_eq!(r["EchoLambdaFunction"]["Properties"]["Timeout"], 10);
        assert_eq!(
            r["EchoLambdaFunction"]["Properties"]["Environment"]["Variables"]["IS_OFFLINE"],
            "true"
        );
        assert_eq!(
            r["EchoLambdaFunction"]["Properties"]["Environment"]["Variables"]["TABLE"],
            "t"
        );
        assert!(r["SendDashmessageLambdaFunction"]["Properties"]["Events"]["Sqs1"].is_object());
        assert_eq!(
            r["SconnectWebsocketsRoute"]["Properties"]["AuthorizerId"],
            json!({"Ref": "AuthWebsocketsAuthorizer"})
        );
        assert_eq!(
            r["AuthWebsocketsAuthorizer"]["Properties"]["IdentitySource"],
            json!(["route.request.querystring.token"])
        );
        assert!(r["EchoWebsocketsRouteResponse"].is_object());
        assert!(r["SdefaultWebsocketsRoute"].is_object());
        assert_eq!(
            r["WebsocketsDeploymentStage"]["Properties"]["StageName"],
            "dev"
        );
        assert!(r["Q"].is_object());
        assert!(
            offline.notes.iter().any(|n| n.starts_with("provider.iam")),
            "{:?}",
            offline.notes
        );
        assert!(
            offline.notes.iter().any(|n| n.starts_with("plugins")),
            "{:?}",
            offline.notes
        );
    }

    #[test]
    fn layers_and_no_auth() {
        let service = json!({
            "service": "s",
            "layers": {"shared": {"path": "layers/shared"}},
            "custom": {"serverless-offline": {"noAuth": true}},
            "functions": {
                "a": {"handler": "h.a", "layers": [{"Ref": "SharedLambdaLayer"}], "events": [{"websocket": {"route": "$connect", "authorizer": "auth"}}]},
                "auth": {"handler": "h.auth"},
            },
        });
        let (t, _) = translate(&service, None).unwrap();
        let r = &t["Resources"];
        assert_eq!(
            r["SharedLambdaLayer"]["Properties"]["ContentUri"],
            "layers/shared"
        );
        assert_eq!(
            r["ALambdaFunction"]["Properties"]["Layers"],
            json!([{"Ref": "SharedLambdaLayer"}])
        );
        assert!(
            r["SconnectWebsocketsRoute"]["Properties"]
                .get("AuthorizerId")
                .is_none()
        );
    }

    #[test]
    fn mistakes_name_their_key() {
        let bad = json!({"service": "s", "functions": {"f": {"events": []}}});
        assert_eq!(translate(&bad, None).unwrap_err().at, "functions.f.handler");
        let bad = json!({"service": "s", "functions": {"f": {"handler": "h.h", "events": [{"websocket": {"route": "x", "authorizer": "nope"}}]}}});
        assert_eq!(
            translate(&bad, None).unwrap_err().at,
            "functions.f.events[0].authorizer"
        );
    }
}
