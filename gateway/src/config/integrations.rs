//! `[integrations.NAME]`: what a route leads to when it is not a plain Lambda
//! proxy (`function = …` on the route). API Gateway's five integration types,
//! with their mapping templates, parsed when the config loads.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::vtl;

/// API Gateway's `IntegrationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum IntegrationType {
    /// Lambda proxy: the event is API Gateway's, the answer a proxy response.
    #[serde(rename = "AWS_PROXY")]
    AwsProxy,
    /// An AWS service action (or Lambda without the proxy) fed by a mapping template.
    #[serde(rename = "AWS")]
    Aws,
    /// The message as it came, to an HTTP URL.
    #[serde(rename = "HTTP_PROXY")]
    HttpProxy,
    /// A mapping template's output to an HTTP URL.
    #[serde(rename = "HTTP")]
    Http,
    /// No backend: the request template's `statusCode` picks the response.
    #[serde(rename = "MOCK")]
    Mock,
}

impl IntegrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwsProxy => "AWS_PROXY",
            Self::Aws => "AWS",
            Self::HttpProxy => "HTTP_PROXY",
            Self::Http => "HTTP",
            Self::Mock => "MOCK",
        }
    }

    /// Proxy integrations pass the payload as is: no templates, no integration responses.
    pub fn is_proxy(self) -> bool {
        matches!(self, Self::AwsProxy | Self::HttpProxy)
    }
}

/// `PassthroughBehavior`: what happens to a payload no request template takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Passthrough {
    /// The payload passes unchanged when no template matches (AWS's default).
    #[default]
    #[serde(rename = "WHEN_NO_MATCH")]
    WhenNoMatch,
    /// It passes only when the integration has no template at all.
    #[serde(rename = "WHEN_NO_TEMPLATES")]
    WhenNoTemplates,
    /// It never passes: without a matching template the request is refused.
    #[serde(rename = "NEVER")]
    Never,
}

/// `ContentHandlingStrategy`. WebSocket messages that reach an integration are
/// text here (binary frames close the connection), so both are accepted and
/// the payload stays text: converting text to text changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ContentHandling {
    #[serde(rename = "CONVERT_TO_TEXT")]
    ConvertToText,
    #[serde(rename = "CONVERT_TO_BINARY")]
    ConvertToBinary,
}

/// A mapping template, parsed once when the config loads.
#[derive(Clone)]
pub struct MappingTemplate {
    pub source: String,
    pub template: Arc<vtl::Template>,
}

impl std::fmt::Debug for MappingTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MappingTemplate")
            .field(&self.source)
            .finish()
    }
}

impl MappingTemplate {
    pub fn parse(source: &str) -> Result<Self, vtl::VtlError> {
        Ok(Self {
            source: source.to_string(),
            template: Arc::new(vtl::Template::parse(source)?),
        })
    }
}

impl<'de> Deserialize<'de> for MappingTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Self::parse(&source).map_err(|e| {
            serde::de::Error::custom(format!("the mapping template does not parse: {e}"))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    #[serde(rename = "type")]
    pub kind: IntegrationType,
    /// The function of an `AWS_PROXY` integration, or of an `AWS` one that
    /// invokes Lambda without the proxy.
    #[serde(default)]
    pub function: Option<String>,
    /// `arn:aws:apigateway:{region}:{service}:action/{Action}` or `…:path/{path}`
    /// (AWS), or the backend's URL (HTTP, HTTP_PROXY).
    #[serde(default)]
    pub uri: Option<String>,
    /// `IntegrationMethod`: the HTTP method of the backend request (POST by default).
    #[serde(default)]
    pub method: Option<String>,
    /// `integration.request.header.X` (or `.querystring.X`, `.path.X`) =
    /// `'literal'`, `route.request.header.Y`, `route.request.querystring.Z`,
    /// `context.V` or `stageVariables.W`.
    #[serde(default)]
    pub request_parameters: BTreeMap<String, String>,
    /// Selection key (or `$default`) → template.
    #[serde(default)]
    pub request_templates: BTreeMap<String, MappingTemplate>,
    /// Picks one of `request_templates`: a constant, `\$default`, or `${request.body.x}`.
    #[serde(default)]
    pub template_selection_expression: Option<String>,
    #[serde(default)]
    pub passthrough_behavior: Passthrough,
    #[serde(default)]
    pub content_handling: Option<ContentHandling>,
    /// `TimeoutInMillis`: 50 ms to 29 s; the API's integration timeout by default.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// `CredentialsArn`: read, not enforced (IAM is not emulated).
    #[serde(default)]
    pub credentials_arn: Option<String>,
    /// Integration responses by key: `$default`, or `/regex/` matched against
    /// the status code (or a Lambda function's error message).
    #[serde(default)]
    pub responses: BTreeMap<String, IntegrationResponseConfig>,
}

impl IntegrationConfig {
    /// A Lambda proxy integration of `function`, what `function = …` on a route means.
    pub fn lambda_proxy(function: &str) -> Self {
        Self {
            kind: IntegrationType::AwsProxy,
            function: Some(function.to_string()),
            uri: None,
            method: None,
            request_parameters: BTreeMap::new(),
            request_templates: BTreeMap::new(),
            template_selection_expression: None,
            passthrough_behavior: Passthrough::default(),
            content_handling: None,
            timeout_ms: None,
            credentials_arn: None,
            responses: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationResponseConfig {
    /// Selection key (or `$default`) → template shaping the answer.
    #[serde(default)]
    pub templates: BTreeMap<String, MappingTemplate>,
    /// Picks one of `templates`; `$default` when left out.
    #[serde(default)]
    pub template_selection_expression: Option<String>,
    #[serde(default)]
    pub content_handling: Option<ContentHandling>,
}
