//! The non-proxy pipeline's pure parts, no I/O: what a template may read
//! (`Inputs`, from the route's event), request parameters, the choice of a
//! request template and of an integration response, and their output.
//! API Gateway's rules: "Set up data transformations for WebSocket APIs" and
//! "Template selection expressions"
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-data-transformations.html,
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-selection-expressions.html).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::apigw::selection::RouteSelector;
use crate::config::{IntegrationResponseConfig, MappingTemplate, Passthrough};
use crate::vtl;

/// What a mapping template reads: the message (or the integration's answer),
/// the handshake's headers and query string, `$context` and `$stageVariables`.
pub struct Inputs {
    pub body: String,
    pub headers: BTreeMap<String, String>,
    pub querystring: BTreeMap<String, String>,
    path: BTreeMap<String, String>,
    pub context: Value,
    pub stage_variables: BTreeMap<String, String>,
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

impl Inputs {
    /// From the Lambda proxy event API Gateway would have sent: one description
    /// of the request for both kinds of integration.
    pub fn from_event(event: &Value) -> Self {
        Self {
            body: event["body"].as_str().unwrap_or_default().to_string(),
            headers: string_map(&event["headers"]),
            querystring: string_map(&event["queryStringParameters"]),
            path: BTreeMap::new(),
            context: event["requestContext"].clone(),
            stage_variables: string_map(&event["stageVariables"]),
        }
    }

    /// The view a template evaluates against, with `body` as `$input.body`.
    pub fn vtl<'a>(&'a self, body: &'a str) -> vtl::Input<'a> {
        vtl::Input {
            body,
            headers: &self.headers,
            querystring: &self.querystring,
            path: &self.path,
            context: &self.context,
            stage_variables: &self.stage_variables,
        }
    }

    /// A `$context` value by its dotted name (`identity.sourceIp`).
    fn context_value(&self, name: &str) -> Option<String> {
        let found = name
            .split('.')
            .try_fold(&self.context, |v, key| v.as_object()?.get(key))?;
        match found {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Where a request parameter goes on the backend request.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    Header(String),
    Querystring(String),
    Path(String),
}

/// Where its value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Literal(String),
    Header(String),
    Querystring(String),
    Context(String),
    StageVariable(String),
    /// A dotted path into the JSON message.
    Body(Vec<String>),
}

/// One of an integration's `RequestParameters`, parsed when the config loads.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub destination: Destination,
    source: Source,
}

impl Parameter {
    /// `integration.request.{header|querystring|path}.X` from `'literal'`,
    /// `route.request.header.Y`, `route.request.querystring.Z`, `context.V` or
    /// `stageVariables.W` (the sources API Gateway takes for WebSocket APIs).
    pub fn parse(target: &str, source: &str) -> Result<Self, String> {
        let destination = if let Some(name) = target.strip_prefix("integration.request.header.") {
            Destination::Header(name.to_string())
        } else if let Some(name) = target.strip_prefix("integration.request.querystring.") {
            Destination::Querystring(name.to_string())
        } else if let Some(name) = target.strip_prefix("integration.request.path.") {
            Destination::Path(name.to_string())
        } else {
            return Err(format!(
                "`{target}` is not a destination: expected integration.request.header.<name>, .querystring.<name> or .path.<name>"
            ));
        };
        let source = if let Some(text) =
            source.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
        {
            Source::Literal(text.to_string())
        } else if let Some(name) = source.strip_prefix("route.request.header.") {
            Source::Header(name.to_string())
        } else if let Some(name) = source.strip_prefix("route.request.querystring.") {
            Source::Querystring(name.to_string())
        } else if let Some(name) = source.strip_prefix("context.") {
            Source::Context(name.to_string())
        } else if let Some(name) = source.strip_prefix("stageVariables.") {
            Source::StageVariable(name.to_string())
        } else if let Some(path) = source.strip_prefix("route.request.body.") {
            Source::Body(
                path.trim_start_matches("$.")
                    .split('.')
                    .map(str::to_string)
                    .collect(),
            )
        } else {
            return Err(format!(
                "`{source}` is not a source: expected 'literal', route.request.header.<name>, route.request.querystring.<name>, route.request.body.<path>, context.<name> or stageVariables.<name>"
            ));
        };
        Ok(Self {
            destination,
            source,
        })
    }

    /// Its value for this request; None when the source is absent (the
    /// parameter is then left out, as API Gateway does).
    pub fn value(&self, inputs: &Inputs) -> Option<String> {
        match &self.source {
            Source::Literal(text) => Some(text.clone()),
            Source::Header(name) => inputs.header(name),
            Source::Querystring(name) => inputs.querystring.get(name).cloned(),
            Source::Context(name) => inputs.context_value(name),
            Source::StageVariable(name) => inputs.stage_variables.get(name).cloned(),
            Source::Body(path) => {
                let body: Value = serde_json::from_str(&inputs.body).ok()?;
                match path
                    .iter()
                    .try_fold(&body, |v, key| v.as_object()?.get(key))?
                {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                }
            }
        }
    }
}

/// An integration response's key: `$default`, or `/regex/` matched against
/// the integration's status code (or a Lambda function's error message).
#[derive(Debug, Clone)]
pub enum ResponseKey {
    Default,
    Pattern(regex::Regex),
}

impl ResponseKey {
    pub fn parse(key: &str) -> Result<Self, String> {
        if key == "$default" {
            return Ok(Self::Default);
        }
        let pattern = key
            .strip_prefix('/')
            .and_then(|k| k.strip_suffix('/'))
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                format!("`{key}` is not an integration response key: expected `$default` or `/regex/` such as `/4\\d\\d/`")
            })?;
        // The whole selector must match, as Java's String.matches does.
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(Self::Pattern)
            .map_err(|e| format!("`{key}`: {e}"))
    }
}

/// A template selection expression: a constant (`200`, `\$default`) or
/// `${request.body.<path>}` evaluated on the message.
#[derive(Debug, Clone)]
pub enum Selection {
    Constant(String),
    Body(RouteSelector),
}

impl Selection {
    pub fn parse(expression: Option<&str>) -> Self {
        let expression = expression.unwrap_or("$default");
        if (expression.starts_with("${request.body.") || expression.starts_with("$request.body."))
            && let Ok(selector) = RouteSelector::parse(expression)
        {
            return Self::Body(selector);
        }
        // `\$default` is how templates write the literal key `$default`.
        Self::Constant(expression.replace("\\$", "$"))
    }

    fn key(&self, body: &str) -> Option<String> {
        match self {
            Self::Constant(key) => Some(key.clone()),
            Self::Body(selector) => selector.select(body),
        }
    }
}

/// What becomes of the payload on its way to the backend.
pub enum Transform<'a> {
    Template(&'a MappingTemplate, String),
    /// No template applies and passthrough lets the payload through as is.
    Passthrough,
    /// No template applies and passthrough forbids sending it.
    Refused,
}

/// Picks the request template: the selected key's, else `$default`'s; with
/// neither, `PassthroughBehavior` decides.
pub fn request_template<'a>(
    templates: &'a BTreeMap<String, MappingTemplate>,
    selection: &Selection,
    passthrough: Passthrough,
    body: &str,
) -> Transform<'a> {
    let key = selection.key(body);
    let chosen = key
        .as_ref()
        .and_then(|k| templates.get_key_value(k))
        .or_else(|| templates.get_key_value("$default"));
    match (chosen, passthrough) {
        (Some((key, template)), _) => Transform::Template(template, key.clone()),
        (None, Passthrough::WhenNoMatch) => Transform::Passthrough,
        (None, Passthrough::WhenNoTemplates) if templates.is_empty() => Transform::Passthrough,
        (None, _) => Transform::Refused,
    }
}

/// An integration response, bound: its key, and its templates.
#[derive(Debug, Clone)]
pub struct IntegrationResponse {
    pub key: String,
    matcher: ResponseKey,
    selection: Selection,
    templates: BTreeMap<String, MappingTemplate>,
}

impl IntegrationResponse {
    pub fn new(key: &str, config: &IntegrationResponseConfig) -> Result<Self, String> {
        Ok(Self {
            key: key.to_string(),
            matcher: ResponseKey::parse(key)?,
            selection: Selection::parse(config.template_selection_expression.as_deref()),
            templates: config.templates.clone(),
        })
    }

    /// The template that shapes the answer, if any: without one the
    /// integration's answer passes through unchanged.
    pub fn template(&self, body: &str) -> Option<(&str, &MappingTemplate)> {
        let key = self.selection.key(body);
        key.as_ref()
            .and_then(|k| self.templates.get_key_value(k))
            .or_else(|| self.templates.get_key_value("$default"))
            .map(|(k, t)| (k.as_str(), t))
    }
}

/// The integration response for a selector (a status code, or a Lambda error
/// message): the first `/regex/` that matches, else `$default`, else none.
pub fn select_response<'a>(
    responses: &'a [IntegrationResponse],
    selector: &str,
) -> Option<&'a IntegrationResponse> {
    responses
        .iter()
        .find(|r| matches!(&r.matcher, ResponseKey::Pattern(re) if re.is_match(selector)))
        .or_else(|| {
            responses
                .iter()
                .find(|r| matches!(r.matcher, ResponseKey::Default))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs() -> Inputs {
        Inputs::from_event(&json!({
            "headers": {"X-Tenant": "acme", "Host": "h"},
            "queryStringParameters": {"room": "7"},
            "requestContext": {"connectionId": "abc=", "identity": {"sourceIp": "1.2.3.4"}},
            "stageVariables": {"table": "T"},
            "body": "{\"a\":1}"
        }))
    }

    #[test]
    fn parameters_take_each_source() {
        let i = inputs();
        let value = |source: &str| {
            Parameter::parse("integration.request.header.X", source)
                .unwrap()
                .value(&i)
        };
        assert_eq!(value("'text/plain'").as_deref(), Some("text/plain"));
        assert_eq!(
            value("route.request.header.x-tenant").as_deref(),
            Some("acme")
        );
        assert_eq!(
            value("route.request.querystring.room").as_deref(),
            Some("7")
        );
        assert_eq!(value("context.connectionId").as_deref(), Some("abc="));
        assert_eq!(
            value("context.identity.sourceIp").as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(value("stageVariables.table").as_deref(), Some("T"));
        assert_eq!(value("route.request.body.a").as_deref(), Some("1"));
        assert_eq!(value("route.request.header.missing"), None);
        assert!(Parameter::parse("integration.request.header.X", "body.x").is_err());
        assert!(Parameter::parse("method.request.header.X", "'a'").is_err());
        let p = Parameter::parse("integration.request.querystring.q", "'1'").unwrap();
        assert_eq!(p.destination, Destination::Querystring("q".into()));
    }

    #[test]
    fn response_keys_match_the_whole_selector() {
        let responses: Vec<IntegrationResponse> = ["$default", "/4\\d\\d/", "/Not found.*/"]
            .iter()
            .map(|k| IntegrationResponse::new(k, &IntegrationResponseConfig::default()).unwrap())
            .collect();
        assert_eq!(select_response(&responses, "404").unwrap().key, "/4\\d\\d/");
        assert_eq!(select_response(&responses, "200").unwrap().key, "$default");
        assert_eq!(select_response(&responses, "1404").unwrap().key, "$default");
        assert_eq!(
            select_response(&responses, "Not found: x").unwrap().key,
            "/Not found.*/"
        );
        assert!(select_response(&responses[1..], "200").is_none());
        assert!(ResponseKey::parse("404").is_err());
        assert!(ResponseKey::parse("/(/").is_err());
    }

    fn templates(keys: &[&str]) -> BTreeMap<String, MappingTemplate> {
        keys.iter()
            .map(|k| (k.to_string(), MappingTemplate::parse(k).unwrap()))
            .collect()
    }

    fn chosen(t: Transform) -> String {
        match t {
            Transform::Template(_, key) => key,
            Transform::Passthrough => "passthrough".into(),
            Transform::Refused => "refused".into(),
        }
    }

    #[test]
    fn request_templates_are_selected_then_passthrough_decides() {
        use Passthrough::*;
        let by_action = Selection::parse(Some("${request.body.action}"));
        let both = templates(&["send", "$default"]);
        let send_only = templates(&["send"]);
        let none = templates(&[]);
        let body = r#"{"action":"send"}"#;
        let other = r#"{"action":"other"}"#;
        assert_eq!(
            chosen(request_template(&both, &by_action, Never, body)),
            "send"
        );
        assert_eq!(
            chosen(request_template(&both, &by_action, Never, other)),
            "$default"
        );
        assert_eq!(
            chosen(request_template(&send_only, &by_action, WhenNoMatch, other)),
            "passthrough"
        );
        assert_eq!(
            chosen(request_template(
                &send_only,
                &by_action,
                WhenNoTemplates,
                other
            )),
            "refused"
        );
        assert_eq!(
            chosen(request_template(&none, &by_action, WhenNoTemplates, other)),
            "passthrough"
        );
        assert_eq!(
            chosen(request_template(&send_only, &by_action, Never, "not json")),
            "refused"
        );
        let constant = Selection::parse(Some("\\$default"));
        assert_eq!(
            chosen(request_template(&both, &constant, Never, "x")),
            "$default"
        );
        let mock = Selection::parse(Some("200"));
        assert_eq!(
            chosen(request_template(&templates(&["200"]), &mock, Never, "")),
            "200"
        );
    }
}
