//! Integrations: what a route leads to. API Gateway's five types, one pipeline:
//!
//! ```text
//! proxy (AWS_PROXY, HTTP_PROXY)   the event or message as is → the backend → its answer
//! non-proxy (AWS, HTTP, MOCK)     request parameters → request template (selected;
//!                                 passthrough decides without one) → the backend →
//!                                 integration response (by status, or by a Lambda
//!                                 error's message) → its response template
//! ```
//!
//! `lambda.rs` (AWS_PROXY and AWS to Lambda) · `service.rs` (AWS to a service,
//! signed) · `http.rs` (HTTP_PROXY, HTTP) · `mock.rs` (MOCK) · `mapping.rs`
//! (the templates and selections, no I/O) · `client.rs` (the outbound HTTP client).
//! `websocket/` asks a route's integration and never knows its type.

pub mod client;
mod http;
pub mod lambda;
mod mapping;
mod mock;
mod service;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{IntegrationConfig, IntegrationType, MappingTemplate, Passthrough};
use crate::lambda::{Function, InvokeError, Owner};
use crate::metrics::Metrics;
use crate::vtl::VtlError;

pub use lambda::{ProxyResponse, invoke, parse_http};
pub use mapping::{Parameter, ResponseKey};
pub use service::{Service, ServiceUri, Signer};

use mapping::{Destination, Inputs, IntegrationResponse, Selection, Transform};

/// Characters a path parameter's value keeps percent-encoded.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why an integration gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("function `{0}`: {1}")]
    Invoke(String, InvokeError),
    #[error("function `{0}` did not answer within the integration timeout")]
    Timeout(String),
    #[error("function `{0}`: {1}")]
    BadResponse(String, lambda::BadResponse),
    #[error("integration `{integration}`: {template} template `{key}`: {error}")]
    Template {
        integration: String,
        /// `request` or `response`.
        template: &'static str,
        key: String,
        error: VtlError,
    },
    /// No request template applies and `PassthroughBehavior` forbids passing the payload.
    #[error("integration `{0}`: no request template applies and passthrough is {1}")]
    Unsupported(String, &'static str),
    #[error("integration `{0}`: {1}")]
    Backend(String, String),
    /// A non-proxy answer that no integration response takes.
    #[error(
        "integration `{0}`: no integration response matches `{1}` and there is no `$default` (API Gateway: \"No match for output mapping and no default output mapping configured\")"
    )]
    NoResponse(String, String),
}

impl IntegrationError {
    /// Let go unstarted: the connection it was for closed.
    pub fn is_abandoned(&self) -> bool {
        matches!(self, Self::Invoke(_, InvokeError::Abandoned))
    }

    /// The function was throttled: beyond its concurrency.
    pub fn is_throttle(&self) -> bool {
        matches!(self, Self::Invoke(_, InvokeError::Throttled { .. }))
    }

    /// The message of an error the function itself reported (`throw new Error("Unauthorized")`).
    pub fn function_message(&self) -> Option<&str> {
        match self {
            Self::Invoke(_, InvokeError::Function { message, .. }) => Some(message),
            _ => None,
        }
    }

    /// The `message` of the error frame the client gets, as API Gateway words it.
    pub fn client_message(&self) -> &'static str {
        match self {
            Self::Unsupported(..) => "Unsupported Media Type",
            _ => "Internal server error",
        }
    }
}

/// The backend request's parts that request parameters and the template give.
#[derive(Debug, Default)]
pub struct Outgoing {
    pub headers: Vec<(String, String)>,
    pub querystring: Vec<(String, String)>,
    pub path: BTreeMap<String, String>,
    pub body: String,
}

enum Target {
    Lambda(Arc<Function>),
    Service(service::Service),
    Http(http::HttpBackend),
    Mock,
}

/// A route's integration, bound to its function or backend.
pub struct Integration {
    pub name: String,
    pub kind: IntegrationType,
    target: Target,
    parameters: Vec<Parameter>,
    request_templates: BTreeMap<String, MappingTemplate>,
    selection: Selection,
    passthrough: Passthrough,
    responses: Vec<IntegrationResponse>,
    timeout: Option<Duration>,
    metrics: Arc<Metrics>,
}

/// What binding needs besides the integration's own config.
pub struct Binder<'a> {
    pub functions: &'a BTreeMap<String, Arc<Function>>,
    pub signer: &'a Arc<Signer>,
    pub metrics: &'a Arc<Metrics>,
}

impl Integration {
    /// Binds an integration (its names and URI were checked at load).
    pub fn bind(name: &str, config: &IntegrationConfig, binder: &Binder) -> Result<Self, String> {
        let uri = config.uri.as_deref().unwrap_or_default();
        let target = match config.kind {
            IntegrationType::AwsProxy | IntegrationType::Aws if config.function.is_some() => {
                let f = config.function.as_deref().unwrap_or_default();
                Target::Lambda(
                    binder
                        .functions
                        .get(f)
                        .cloned()
                        .ok_or_else(|| format!("no function `{f}`"))?,
                )
            }
            IntegrationType::Aws | IntegrationType::AwsProxy => {
                let uri = ServiceUri::parse(uri).map_err(|e| e.to_string())?;
                match uri.lambda_function() {
                    Some(f) => {
                        Target::Lambda(binder.functions.get(f).cloned().ok_or_else(|| {
                            format!(
                                "`{}` invokes no local function",
                                config.uri.as_deref().unwrap_or_default()
                            )
                        })?)
                    }
                    None if config.kind == IntegrationType::Aws => Target::Service(
                        service::Service::new(uri, config.method.as_deref(), binder.signer.clone()),
                    ),
                    None => return Err("an AWS_PROXY integration invokes a Lambda function".into()),
                }
            }
            IntegrationType::Http | IntegrationType::HttpProxy => {
                Target::Http(http::HttpBackend::new(uri, config.method.as_deref()))
            }
            IntegrationType::Mock => Target::Mock,
        };
        let parameters = config
            .request_parameters
            .iter()
            .map(|(k, v)| Parameter::parse(k, v))
            .collect::<Result<_, _>>()?;
        let responses = config
            .responses
            .iter()
            .map(|(k, r)| IntegrationResponse::new(k, r))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: name.to_string(),
            kind: config.kind,
            target,
            parameters,
            request_templates: config.request_templates.clone(),
            selection: Selection::parse(config.template_selection_expression.as_deref()),
            passthrough: config.passthrough_behavior,
            responses,
            timeout: config.timeout_ms.map(Duration::from_millis),
            metrics: binder.metrics.clone(),
        })
    }

    /// Runs the integration for one request, described by the Lambda proxy
    /// event API Gateway would build for it. The answer's `body` is what a
    /// two-way route sends back; its status decides a `$connect`.
    pub async fn run(
        &self,
        event: &Value,
        timeout: Duration,
    ) -> Result<ProxyResponse, IntegrationError> {
        self.run_for(event, timeout, None).await
    }

    /// The same for a connection's message: a function invocation still queued
    /// when the connection closes is let go unstarted (work already sent to a
    /// service or backend completes, as on AWS).
    pub async fn run_for(
        &self,
        event: &Value,
        timeout: Duration,
        owner: Option<&Arc<Owner>>,
    ) -> Result<ProxyResponse, IntegrationError> {
        let timeout = self.timeout.map_or(timeout, |t| t.min(timeout));
        let started = Instant::now();
        let mut sent = None;
        let result = match (&self.target, self.kind) {
            (Target::Lambda(f), IntegrationType::AwsProxy) => {
                lambda::call(f, event, timeout, owner).await
            }
            _ => self.mapped(event, timeout, &mut sent).await,
        };
        let outcome = match &result {
            Ok(r) if r.is_success() => "ok",
            Ok(_) => "status",
            Err(_) => "error",
        };
        self.metrics.integration(self.kind.as_str(), outcome).inc();
        if !matches!(self.target, Target::Lambda(_)) {
            self.journal(event, sent, &result, started);
        }
        result
    }

    /// The non-proxy pipeline (and HTTP_PROXY, which only skips the templates).
    /// `sent` is told what went where (for the inspector) once it is known.
    async fn mapped(
        &self,
        event: &Value,
        timeout: Duration,
        sent: &mut Option<String>,
    ) -> Result<ProxyResponse, IntegrationError> {
        let inputs = Inputs::from_event(event);
        let mut outgoing = Outgoing::default();
        for p in &self.parameters {
            let Some(value) = p.value(&inputs) else {
                continue;
            };
            match &p.destination {
                Destination::Header(name) => outgoing.headers.push((name.clone(), value)),
                Destination::Querystring(name) => outgoing.querystring.push((name.clone(), value)),
                Destination::Path(name) => {
                    outgoing.path.insert(name.clone(), value);
                }
            }
        }
        outgoing.body = if self.kind.is_proxy() {
            inputs.body.clone()
        } else {
            self.request_body(&inputs)?
        };
        let shown: String = outgoing.body.chars().take(500).collect();
        *sent = Some(match &self.target {
            Target::Lambda(f) => format!("function {}: {shown}", f.name()),
            Target::Service(s) => format!("{}: {shown}", s.describe(&outgoing)),
            Target::Http(h) => format!("{}: {shown}", h.describe(&outgoing)),
            Target::Mock => format!("MOCK: {shown}"),
        });
        let (status, body, selector) = match &self.target {
            Target::Lambda(f) => self.invoke_plain(f, &outgoing.body, timeout).await?,
            Target::Service(s) => {
                let reply = s
                    .call(outgoing, timeout)
                    .await
                    .map_err(|e| IntegrationError::Backend(self.name.clone(), e))?;
                (reply.status, reply.text(), reply.status.to_string())
            }
            Target::Http(h) => {
                let reply = h
                    .call(outgoing, timeout)
                    .await
                    .map_err(|e| IntegrationError::Backend(self.name.clone(), e))?;
                (reply.status, reply.text(), reply.status.to_string())
            }
            Target::Mock => {
                let status = mock::status(&outgoing.body)
                    .map_err(|e| IntegrationError::Backend(self.name.clone(), e))?;
                (status, String::new(), status.to_string())
            }
        };
        if self.kind.is_proxy() {
            return Ok(ProxyResponse {
                status,
                headers: vec![],
                body: (!body.is_empty()).then_some(body),
            });
        }
        // Without any integration response (CDK's integrations make none), the
        // answer stands as it came; with some, one of them must take it.
        if self.responses.is_empty() {
            return Ok(ProxyResponse {
                status,
                headers: vec![],
                body: (!body.is_empty()).then_some(body),
            });
        }
        let response = mapping::select_response(&self.responses, &selector)
            .ok_or_else(|| IntegrationError::NoResponse(self.name.clone(), selector.clone()))?;
        let body = match response.template(&body) {
            Some((key, template)) => {
                template
                    .template
                    .render(&inputs.vtl(&body))
                    .map_err(|error| IntegrationError::Template {
                        integration: self.name.clone(),
                        template: "response",
                        key: format!("{}: {key}", response.key),
                        error,
                    })?
            }
            None => body,
        };
        Ok(ProxyResponse {
            status,
            headers: vec![],
            body: (!body.is_empty()).then_some(body),
        })
    }

    /// The request template's output, or the payload where passthrough lets it by.
    fn request_body(&self, inputs: &Inputs) -> Result<String, IntegrationError> {
        match mapping::request_template(
            &self.request_templates,
            &self.selection,
            self.passthrough,
            &inputs.body,
        ) {
            Transform::Template(template, key) => template
                .template
                .render(&inputs.vtl(&inputs.body))
                .map_err(|error| IntegrationError::Template {
                    integration: self.name.clone(),
                    template: "request",
                    key,
                    error,
                }),
            Transform::Passthrough => Ok(inputs.body.clone()),
            Transform::Refused => Err(IntegrationError::Unsupported(
                self.name.clone(),
                match self.passthrough {
                    Passthrough::Never => "NEVER",
                    Passthrough::WhenNoTemplates => "WHEN_NO_TEMPLATES",
                    Passthrough::WhenNoMatch => "WHEN_NO_MATCH",
                },
            )),
        }
    }

    /// Lambda without the proxy: the template's output is the event; a success
    /// takes `$default`, an error is matched by its message.
    async fn invoke_plain(
        &self,
        function: &Arc<Function>,
        payload: &str,
        timeout: Duration,
    ) -> Result<(u16, String, String), IntegrationError> {
        let event: Value = serde_json::from_str(payload).map_err(|_| {
            let shown: String = payload.chars().take(200).collect();
            IntegrationError::Backend(
                self.name.clone(),
                format!("Lambda takes a JSON event; the request template gave: {shown}"),
            )
        })?;
        match lambda::invoke(function, &event, timeout).await {
            Ok(answer) => Ok((
                200,
                String::from_utf8_lossy(&answer).into_owned(),
                String::new(),
            )),
            Err(IntegrationError::Invoke(
                _,
                InvokeError::Function {
                    message,
                    error_type,
                },
            )) => {
                let body = serde_json::json!({"errorMessage": message, "errorType": error_type});
                Ok((200, body.to_string(), message))
            }
            Err(e) => Err(e),
        }
    }

    /// What went where and what came back, for the inspector.
    fn journal(
        &self,
        event: &Value,
        sent: Option<String>,
        result: &Result<ProxyResponse, IntegrationError>,
        started: Instant,
    ) {
        let journal = &self.metrics.journal;
        if !journal.watching() {
            return;
        }
        let context = &event["requestContext"];
        let request_id = context["requestId"].as_str().unwrap_or_default();
        let trigger = context["routeKey"].as_str().unwrap_or_default().to_string();
        let what = format!("{} integration {}", self.kind.as_str(), self.name);
        journal.started(&what, request_id, trigger, false);
        if let Some(sent) = sent {
            journal.log(request_id, &format!("sent {sent}"));
        }
        let outcome = match result {
            Ok(r) => {
                let body: String = r
                    .body
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .take(500)
                    .collect();
                journal.log(request_id, &format!("answered {}: {body}", r.status));
                r.status.to_string()
            }
            Err(e) => {
                journal.log(request_id, &e.to_string());
                "error".into()
            }
        };
        journal.ended(
            request_id,
            started.elapsed().as_secs_f64() * 1000.0,
            &outcome,
        );
    }
}
