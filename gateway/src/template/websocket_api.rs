//! The WebSocket API: its stage, and its routes with their integrations and authorizers.

use std::collections::BTreeMap;

use serde_json::Value;

use super::resources::{Resource, Resources};
use super::{TemplateError, TemplateOptions, required, text};
use crate::apigw::authorizer::IdentitySource;
use crate::apigw::selection::RouteSelector;
use crate::config::{
    ApiConfig, AuthorizerConfig, IntegrationConfig, IntegrationResponseConfig, IntegrationType,
    MappingTemplate, RequestModel, RouteConfig,
};

/// The template's one WebSocket API: its settings and its id (what `Ref` gives).
/// The template's WebSocket APIs, in logical-id order: at least one.
pub(super) fn apis<'r, 'a>(res: &'r Resources<'a>) -> Result<Vec<&'r Resource<'a>>, TemplateError> {
    let apis: Vec<_> = res
        .of("AWS::ApiGatewayV2::Api")
        .filter(|r| res.resolved[r.id]["ProtocolType"] == "WEBSOCKET")
        .collect();
    if apis.is_empty() {
        return Err(TemplateError::at(
            "Resources",
            "no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET",
        ));
    }
    Ok(apis)
}

/// One WebSocket API's settings and its id (what `Ref` gives); the `index`-th
/// API listens on the port after the one before it (port 0: any free one).
pub(super) fn api(
    res: &Resources,
    api: &Resource,
    index: usize,
    options: &TemplateOptions,
    warnings: &mut Vec<String>,
) -> Result<(ApiConfig, String), TemplateError> {
    let mut listen = options.listen;
    if listen.port() != 0 {
        listen.set_port(listen.port().saturating_add(index as u16));
    }
    let api_ref = res.scope.resources[api.id].reference.clone();
    let belongs = |id: &str| res.resolved[id]["ApiId"].as_str() == Some(api_ref.as_str());
    let mut api_config = ApiConfig {
        listen,
        api_id: Some(api_ref.clone()),
        ..ApiConfig::default()
    };
    if let Some(expr) = text(&res.resolved[api.id]["RouteSelectionExpression"]) {
        api_config.route_selection_expression = RouteSelector::parse(&expr).map_err(|e| {
            let at = format!("Resources.{}.Properties.RouteSelectionExpression", api.id);
            TemplateError::at(&at, e.to_string())
        })?;
    }
    match res.of("AWS::ApiGatewayV2::Stage").find(|s| belongs(s.id)) {
        Some(stage) => {
            let props = &res.resolved[stage.id];
            api_config.stage = required(
                props,
                "StageName",
                &format!("Resources.{}.Properties", stage.id),
            )?;
            api_config.stage_variables = props["StageVariables"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
                .collect();
        }
        None => warnings.push(format!(
            "no AWS::ApiGatewayV2::Stage for {}: using stage `{}`",
            api.id, api_config.stage
        )),
    }
    api_config.api_keys = api_keys(res, warnings);
    Ok((api_config, api_ref))
}

/// The values of the template's `AWS::ApiGateway::ApiKey`s. A key without a
/// `Value` gets one made up (AWS would generate it), shown in a start-up warning.
fn api_keys(res: &Resources, warnings: &mut Vec<String>) -> Vec<String> {
    res.of("AWS::ApiGateway::ApiKey")
        .filter(|k| res.resolved[k.id]["Enabled"] != false)
        .map(|k| match text(&res.resolved[k.id]["Value"]) {
            Some(value) => value,
            None => {
                let value = format!(
                    "local-{}-{}",
                    k.id.to_ascii_lowercase(),
                    crate::ids::api_id()
                );
                warnings.push(format!("{}: no Value given; the API key is {value}", k.id));
                value
            }
        })
        .collect()
}

/// The API's routes, the integrations they lead to (other than Lambda
/// proxies, which routes name by function), and its authorizers.
pub(super) struct Bound {
    pub routes: BTreeMap<String, RouteConfig>,
    pub integrations: BTreeMap<String, IntegrationConfig>,
    pub authorizers: BTreeMap<String, AuthorizerConfig>,
}

/// A string-to-string map property (`RequestParameters`).
fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
        .collect()
}

/// Mapping templates by key, parsed now: a bad one names its place.
fn templates(v: &Value, at: &str) -> Result<BTreeMap<String, MappingTemplate>, TemplateError> {
    let mut out = BTreeMap::new();
    for (key, source) in v.as_object().into_iter().flatten() {
        let at = format!("{at}.{key}");
        let source = text(source).ok_or_else(|| TemplateError::at(&at, "must be a string"))?;
        let template = MappingTemplate::parse(&source).map_err(|e| {
            TemplateError::at(&at, format!("the mapping template does not parse: {e}"))
        })?;
        out.insert(key.clone(), template);
    }
    Ok(out)
}

/// A property whose values are AWS's enum names, read through serde.
fn enum_value<T: serde::de::DeserializeOwned>(
    props: &Value,
    key: &str,
    at: &str,
) -> Result<Option<T>, TemplateError> {
    match &props[key] {
        Value::Null => Ok(None),
        v => serde_json::from_value(v.clone()).map(Some).map_err(|_| {
            TemplateError::at(
                &format!("{at}.{key}"),
                format!("`{v}` is not a value AWS takes"),
            )
        }),
    }
}

/// One `AWS::ApiGatewayV2::Integration` (with its integration responses).
fn integration(
    res: &Resources,
    i: &Resource,
    function: Option<String>,
    warnings: &mut Vec<String>,
) -> Result<IntegrationConfig, TemplateError> {
    let at = format!("Resources.{}.Properties", i.id);
    let p = &res.resolved[i.id];
    let kind: IntegrationType = enum_value(p, "IntegrationType", &at)?
        .ok_or_else(|| TemplateError::at(&format!("{at}.IntegrationType"), "is required"))?;
    let reference = &res.scope.resources[i.id].reference;
    let mut responses = BTreeMap::new();
    for r in res
        .of("AWS::ApiGatewayV2::IntegrationResponse")
        .filter(|r| res.resolved[r.id]["IntegrationId"].as_str() == Some(reference.as_str()))
    {
        let rat = format!("Resources.{}.Properties", r.id);
        let rp = &res.resolved[r.id];
        let key = required(rp, "IntegrationResponseKey", &rat)?;
        crate::integrations::ResponseKey::parse(&key)
            .map_err(|e| TemplateError::at(&format!("{rat}.IntegrationResponseKey"), e))?;
        if !rp["ResponseParameters"].is_null() {
            warnings.push(format!(
                "{}: ResponseParameters are not emulated (WebSocket clients see no headers)",
                r.id
            ));
        }
        responses.insert(
            key,
            IntegrationResponseConfig {
                templates: templates(
                    &rp["ResponseTemplates"],
                    &format!("{rat}.ResponseTemplates"),
                )?,
                template_selection_expression: text(&rp["TemplateSelectionExpression"]),
                content_handling: enum_value(rp, "ContentHandlingStrategy", &rat)?,
            },
        );
    }
    if p["ContentHandlingStrategy"] == "CONVERT_TO_BINARY" {
        warnings.push(format!(
            "{}: ContentHandlingStrategy CONVERT_TO_BINARY is not emulated: messages reach the integration as text",
            i.id
        ));
    }
    Ok(IntegrationConfig {
        kind,
        function,
        uri: text(&p["IntegrationUri"]).filter(|u| !u.is_empty()),
        method: text(&p["IntegrationMethod"]),
        request_parameters: string_map(&p["RequestParameters"]),
        request_templates: templates(&p["RequestTemplates"], &format!("{at}.RequestTemplates"))?,
        template_selection_expression: text(&p["TemplateSelectionExpression"]),
        passthrough_behavior: enum_value(p, "PassthroughBehavior", &at)?.unwrap_or_default(),
        content_handling: enum_value(p, "ContentHandlingStrategy", &at)?,
        timeout_ms: super::number(p, "TimeoutInMillis", &at)?,
        credentials_arn: text(&p["CredentialsArn"]),
        responses,
    })
}

/// The API's routes and authorizers, bound to the template's functions.
pub(super) fn routes(
    res: &Resources,
    api_ref: &str,
    stage_variables: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Bound, TemplateError> {
    let belongs = |id: &str| res.resolved[id]["ApiId"].as_str() == Some(api_ref);
    let by_arn: BTreeMap<&str, &str> = res
        .of("AWS::Serverless::Function")
        .chain(res.of("AWS::Lambda::Function"))
        .map(|f| {
            let v = &res.scope.resources[f.id];
            (v.attributes["Arn"].as_str(), v.reference.as_str())
        })
        .collect();
    // The function an integration or authorizer URI invokes.
    let target = |uri: &str, at: &str| -> Result<String, TemplateError> {
        // `${stageVariables.fn}` picks the function per stage; here there is one stage.
        let uri = &stage_variables.iter().fold(uri.to_string(), |uri, (k, v)| {
            uri.replace(&format!("${{stageVariables.{k}}}"), v)
        });
        by_arn
            .iter()
            .find(|(arn, _)| uri.contains(&format!("{arn}/")) || uri == **arn)
            .map(|(_, name)| name.to_string())
            .ok_or_else(|| {
                TemplateError::at(at, format!("`{uri}` invokes no function of this template"))
            })
    };

    // Lambda proxies by function; every other integration as it is.
    let mut proxies = BTreeMap::new();
    let mut integrations = BTreeMap::new();
    for i in res
        .of("AWS::ApiGatewayV2::Integration")
        .filter(|r| belongs(r.id))
    {
        let at = format!("Resources.{}.Properties", i.id);
        let p = &res.resolved[i.id];
        let reference = res.scope.resources[i.id].reference.clone();
        let uri = text(&p["IntegrationUri"]).unwrap_or_default();
        let kind = text(&p["IntegrationType"]).unwrap_or_default();
        let invokes_lambda = kind == "AWS_PROXY"
            || (kind == "AWS" && uri.contains(":lambda:path/"))
            || by_arn.keys().any(|arn| uri == *arn);
        let function = if invokes_lambda {
            Some(target(&uri, &format!("{at}.IntegrationUri"))?)
        } else {
            None
        };
        if kind == "AWS_PROXY"
            && let Some(f) = function
        {
            proxies.insert(reference, f);
            continue;
        }
        integrations.insert(reference, integration(res, i, function, warnings)?);
    }
    let mut authorizers = BTreeMap::new();
    for a in res
        .of("AWS::ApiGatewayV2::Authorizer")
        .filter(|r| belongs(r.id))
    {
        let at = format!("Resources.{}.Properties", a.id);
        let p = &res.resolved[a.id];
        if p["AuthorizerType"] != "REQUEST" {
            return Err(TemplateError::at(
                &format!("{at}.AuthorizerType"),
                "WebSocket APIs take REQUEST authorizers",
            ));
        }
        let uri = required(p, "AuthorizerUri", &at)?;
        let sources: Vec<String> = match &p["IdentitySource"] {
            Value::Array(items) => items.iter().filter_map(text).collect(),
            Value::String(s) => s.split(',').map(|s| s.trim().to_string()).collect(),
            _ => Vec::new(),
        };
        let identity_source = sources
            .iter()
            .map(|s| IdentitySource::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|e| TemplateError::at(&format!("{at}.IdentitySource"), e.to_string()))?;
        let function = target(&uri, &format!("{at}.AuthorizerUri"))?;
        authorizers.insert(
            res.scope.resources[a.id].reference.clone(),
            AuthorizerConfig {
                function,
                identity_source,
            },
        );
    }
    // A route with a `$default` route response is two-way.
    let mut responses: Vec<String> = Vec::new();
    for r in res.of("AWS::ApiGatewayV2::RouteResponse") {
        let p = &res.resolved[r.id];
        let key = text(&p["RouteResponseKey"]).unwrap_or_else(|| "$default".into());
        if key != "$default" {
            warnings.push(format!(
                "{}: RouteResponseKey `{key}` is not served (API Gateway selects `$default` only)",
                r.id
            ));
            continue;
        }
        responses.extend(text(&p["RouteId"]));
    }
    let mut routes = BTreeMap::new();
    for r in res.of("AWS::ApiGatewayV2::Route").filter(|r| belongs(r.id)) {
        let at = format!("Resources.{}.Properties", r.id);
        let p = &res.resolved[r.id];
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
        let (function, integration) = match (
            proxies.get(integration),
            integrations.contains_key(integration),
        ) {
            (Some(f), _) => (Some(f.clone()), None),
            (None, true) => (None, Some(integration.to_string())),
            (None, false) => {
                return Err(TemplateError::at(
                    &format!("{at}.Target"),
                    format!("no integration `{integration}` of this API"),
                ));
            }
        };
        if let Some(expr) = text(&p["RouteResponseSelectionExpression"])
            && expr != "$default"
        {
            warnings.push(format!(
                "{}: RouteResponseSelectionExpression `{expr}` is read as $default (the only value API Gateway takes)",
                r.id
            ));
        }
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
        let route_response = responses.contains(&res.scope.resources[r.id].reference);
        // API Gateway checks keys on $connect only; elsewhere the flag does nothing.
        let api_key_required = p["ApiKeyRequired"] == true || p["ApiKeyRequired"] == "true";
        if api_key_required && key != "$connect" {
            warnings.push(format!(
                "{}: ApiKeyRequired on {key} is not checked (API Gateway checks keys on $connect only)",
                r.id
            ));
        }
        routes.insert(
            key.clone(),
            RouteConfig {
                function,
                integration,
                route_response,
                authorizer,
                api_key_required: api_key_required && key == "$connect",
                model_selection_expression: text(&p["ModelSelectionExpression"]),
                request_models: p["RequestModels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
                    .collect(),
            },
        );
    }
    Ok(Bound {
        routes,
        integrations,
        authorizers,
    })
}

/// The API's `AWS::ApiGatewayV2::Model`s by name: JSON Schemas routes check messages against.
pub(super) fn models(
    res: &Resources,
    api_ref: &str,
) -> Result<BTreeMap<String, RequestModel>, TemplateError> {
    let mut models = BTreeMap::new();
    for m in res
        .of("AWS::ApiGatewayV2::Model")
        .filter(|m| res.resolved[m.id]["ApiId"].as_str() == Some(api_ref))
    {
        let at = format!("Resources.{}.Properties", m.id);
        let p = &res.resolved[m.id];
        let name = required(p, "Name", &at)?;
        let model = RequestModel::try_from(p["Schema"].clone())
            .map_err(|e| TemplateError::at(&format!("{at}.Schema"), e))?;
        models.insert(name, model);
    }
    Ok(models)
}
