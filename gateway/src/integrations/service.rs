//! `AWS` integrations to a service: the URI's action or path, each service's
//! wire protocol, SigV4 with the gateway's own credentials (the integration's
//! `CredentialsArn` is read, not enforced), sent to the endpoint the gateway
//! uses for DynamoDB and SQS (MiniStack, moto, LocalStack) or to real AWS.
//! URI forms: https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-integrations.html
//! (`arn:aws:apigateway:{region}:{subdomain.service|service}:{path|action}/{service_api}`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use bytes::Bytes;
use http_body_util::Full;

use super::client::{self, Reply};
use super::{Outgoing, PATH_SEGMENT};
use crate::config::AwsConfig;

#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not an AWS service integration URI: expected arn:aws:apigateway:{{region}}:{{service}}:action/{{Action}} or …:{{service}}:path/{{path}}"
)]
pub struct BadUri(String);

/// What an `AWS` integration's URI asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceUri {
    pub region: String,
    /// `{subdomain}.` of `{subdomain.service}`, when given.
    pub subdomain: Option<String>,
    pub service: String,
    pub api: ServiceApi,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceApi {
    /// `action/{Action}`: the service's action by name.
    Action(String),
    /// `path/{path}`: a request to this path of the service's endpoint.
    Path(String),
}

impl ServiceUri {
    pub fn parse(uri: &str) -> Result<Self, BadUri> {
        let bad = || BadUri(uri.to_string());
        let rest = uri.strip_prefix("arn:").ok_or_else(bad)?;
        // arn:{partition}:apigateway:{region}:{service}:{kind}/{api}
        let mut parts = rest.splitn(5, ':');
        let (_partition, apigateway, region, service, api) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        if apigateway != "apigateway" || service.is_empty() {
            return Err(bad());
        }
        let (subdomain, service) = match service.rsplit_once('.') {
            Some((sub, service)) => (Some(sub.to_string()), service.to_string()),
            None => (None, service.to_string()),
        };
        let api = if let Some(action) = api.strip_prefix("action/") {
            ServiceApi::Action(action.to_string())
        } else if let Some(path) = api.strip_prefix("path/") {
            ServiceApi::Path(path.to_string())
        } else {
            return Err(bad());
        };
        if matches!(&api, ServiceApi::Action(a) | ServiceApi::Path(a) if a.is_empty()) {
            return Err(bad());
        }
        Ok(Self {
            region: region.to_string(),
            subdomain,
            service,
            api,
        })
    }

    /// The function a `lambda:path/2015-03-31/functions/{arn}/invocations` URI invokes.
    pub fn lambda_function(&self) -> Option<&str> {
        let ServiceApi::Path(path) = &self.api else {
            return None;
        };
        if self.service != "lambda" {
            return None;
        }
        let arn = path
            .strip_prefix("2015-03-31/functions/")?
            .strip_suffix("/invocations")?;
        // arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]
        let name = arn.split(":function:").nth(1).unwrap_or(arn);
        Some(name.split(':').next().unwrap_or(name))
    }
}

/// How a service takes its requests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Protocol {
    /// awsJson: `X-Amz-Target: {prefix}.{Action}`, `application/x-amz-json-{version}`.
    Json {
        target: &'static str,
        version: &'static str,
    },
    /// awsQuery: a form body with `Action` and `Version`.
    Query { version: Option<&'static str> },
}

/// The protocols of the services teams reach from API Gateway; any other
/// service is taken as a query service, and a `X-Amz-Target` request
/// parameter makes it a JSON one.
fn protocol(service: &str) -> Protocol {
    let json = |target, version| Protocol::Json { target, version };
    match service {
        "dynamodb" => json("DynamoDB_20120810", "1.0"),
        "states" => json("AWSStepFunctions", "1.0"),
        "events" => json("AWSEvents", "1.1"),
        "kinesis" => json("Kinesis_20131202", "1.1"),
        "firehose" => json("Firehose_20150804", "1.1"),
        "logs" => json("Logs_20140328", "1.1"),
        "sqs" => Protocol::Query {
            version: Some("2012-11-05"),
        },
        "sns" => Protocol::Query {
            version: Some("2010-03-31"),
        },
        "sts" => Protocol::Query {
            version: Some("2011-06-15"),
        },
        "monitoring" => Protocol::Query {
            version: Some("2010-08-01"),
        },
        _ => Protocol::Query { version: None },
    }
}

/// The gateway's credentials, resolved once per gateway and refreshed by the SDK's chain.
pub struct Signer {
    aws: AwsConfig,
    sdk: tokio::sync::OnceCell<aws_config::SdkConfig>,
}

impl Signer {
    pub fn new(aws: &AwsConfig) -> Arc<Self> {
        Arc::new(Self {
            aws: aws.clone(),
            sdk: tokio::sync::OnceCell::new(),
        })
    }

    async fn credentials(&self) -> Result<aws_credential_types::Credentials, String> {
        let sdk = self
            .sdk
            .get_or_init(|| crate::sdk::sdk_config(&self.aws))
            .await;
        let provider = sdk
            .credentials_provider()
            .ok_or("the gateway has no AWS credentials to sign with")?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| format!("the gateway's AWS credentials: {e}"))
    }
}

/// A bound `AWS` service integration.
pub struct Service {
    pub uri: ServiceUri,
    method: http::Method,
    signer: Arc<Signer>,
}

impl Service {
    pub fn new(uri: ServiceUri, method: Option<&str>, signer: Arc<Signer>) -> Self {
        let method = method
            .and_then(|m| m.parse().ok())
            .unwrap_or(http::Method::POST);
        Self {
            uri,
            method,
            signer,
        }
    }

    /// Where the request goes: the configured endpoint, else the service's own.
    fn endpoint(&self) -> String {
        if let Some(endpoint) = &self.signer.aws.endpoint_url {
            return endpoint.trim_end_matches('/').to_string();
        }
        let mut host = self.uri.service.clone();
        if let Some(sub) = &self.uri.subdomain {
            host = format!("{sub}.{host}");
        } else if self.uri.api == ServiceApi::Action("StartSyncExecution".into()) {
            // Synchronous Express executions have a host of their own on AWS.
            host = format!("sync-{host}");
        }
        format!("https://{host}.{}.amazonaws.com", self.uri.region)
    }

    /// What is sent, for the log and the inspector: method and URL.
    pub fn describe(&self, outgoing: &Outgoing) -> String {
        format!("{} {}", self.method, self.url(outgoing))
    }

    fn url(&self, outgoing: &Outgoing) -> String {
        let mut path = match &self.uri.api {
            ServiceApi::Path(path) => format!("/{path}"),
            ServiceApi::Action(_) => "/".to_string(),
        };
        // `{name}` placeholders take `integration.request.path.name`.
        for (name, value) in &outgoing.path {
            let encoded = percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).to_string();
            path = path.replace(&format!("{{{name}}}"), &encoded);
        }
        let mut url = format!("{}{path}", self.endpoint());
        if !outgoing.querystring.is_empty() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&outgoing.querystring)
                .finish();
            url.push('?');
            url.push_str(&query);
        }
        url
    }

    /// Builds, signs and sends the request; the service's answer, whatever its status.
    pub async fn call(&self, mut outgoing: Outgoing, timeout: Duration) -> Result<Reply, String> {
        let has =
            |o: &Outgoing, name: &str| o.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let target = outgoing
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
            .map(|(_, v)| v.clone());
        match (&self.uri.api, protocol(&self.uri.service)) {
            (
                ServiceApi::Action(action),
                Protocol::Json {
                    target: prefix,
                    version,
                },
            ) if target.is_none() => {
                outgoing
                    .headers
                    .push(("X-Amz-Target".into(), format!("{prefix}.{action}")));
                if !has(&outgoing, "content-type") {
                    outgoing.headers.push((
                        "Content-Type".into(),
                        format!("application/x-amz-json-{version}"),
                    ));
                }
            }
            (ServiceApi::Action(_), Protocol::Json { version, .. }) => {
                if !has(&outgoing, "content-type") {
                    outgoing.headers.push((
                        "Content-Type".into(),
                        format!("application/x-amz-json-{version}"),
                    ));
                }
            }
            (ServiceApi::Action(action), Protocol::Query { version }) => {
                if target.is_none() && !form_has(&outgoing.body, "Action") {
                    let mut pairs = form_urlencoded::Serializer::new(String::new());
                    pairs.append_pair("Action", action);
                    if let Some(v) = version.filter(|_| !form_has(&outgoing.body, "Version")) {
                        pairs.append_pair("Version", v);
                    }
                    let mut body = pairs.finish();
                    if !outgoing.body.is_empty() {
                        body.push('&');
                        body.push_str(&outgoing.body);
                    }
                    outgoing.body = body;
                }
                if !has(&outgoing, "content-type") {
                    outgoing.headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
            }
            (ServiceApi::Path(_), _) => {
                if !has(&outgoing, "content-type") {
                    outgoing
                        .headers
                        .push(("Content-Type".into(), "application/json".into()));
                }
            }
        }
        let url = self.url(&outgoing);
        let body = Bytes::from(std::mem::take(&mut outgoing.body));
        let mut request = http::Request::builder()
            .method(self.method.clone())
            .uri(&url)
            .body(Full::new(body.clone()))
            .map_err(|e| format!("{url}: {e}"))?;
        for (k, v) in &outgoing.headers {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| format!("request parameter header `{k}`: {e}"))?;
            let value = http::HeaderValue::from_str(v)
                .map_err(|e| format!("request parameter header `{k}`: {e}"))?;
            request.headers_mut().insert(name, value);
        }
        self.sign(&mut request, &url, &body).await?;
        client::send(request, timeout)
            .await
            .map_err(|e| format!("{} {url}: {e}", self.method))
    }

    async fn sign(
        &self,
        request: &mut http::Request<Full<Bytes>>,
        url: &str,
        body: &[u8],
    ) -> Result<(), String> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let credentials = self.signer.credentials().await?;
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.uri.region)
            .name(&self.uri.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing: {e}"))?
            .into();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("signing: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// True when a form body already names this parameter.
fn form_has(body: &str, name: &str) -> bool {
    form_urlencoded::parse(body.as_bytes()).any(|(k, _)| k == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_uri_forms_parse() {
        let u = ServiceUri::parse("arn:aws:apigateway:eu-west-1:sqs:path/123456789012/Jobs.fifo")
            .unwrap();
        assert_eq!(u.region, "eu-west-1");
        assert_eq!(u.service, "sqs");
        assert_eq!(u.api, ServiceApi::Path("123456789012/Jobs.fifo".into()));
        let u = ServiceUri::parse("arn:aws:apigateway:us-east-1:dynamodb:action/PutItem").unwrap();
        assert_eq!(u.api, ServiceApi::Action("PutItem".into()));
        let u = ServiceUri::parse("arn:aws:apigateway:us-east-1:runtime.lex:path/x").unwrap();
        assert_eq!(u.subdomain.as_deref(), Some("runtime"));
        assert_eq!(u.service, "lex");
        for bad in [
            "https://example.com",
            "arn:aws:lambda:us-east-1:1:function:f",
            "arn:aws:apigateway:us-east-1:sqs:queue/x",
            "arn:aws:apigateway:us-east-1:sqs:action/",
        ] {
            assert!(ServiceUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lambda_uris_name_their_function() {
        let u = ServiceUri::parse(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Shape:live/invocations",
        )
        .unwrap();
        assert_eq!(u.lambda_function(), Some("Shape"));
    }

    #[test]
    fn protocols_per_service() {
        assert!(matches!(
            protocol("dynamodb"),
            Protocol::Json { version: "1.0", .. }
        ));
        assert!(matches!(
            protocol("events"),
            Protocol::Json { version: "1.1", .. }
        ));
        assert!(matches!(
            protocol("sns"),
            Protocol::Query { version: Some(_) }
        ));
        assert!(form_has("Action=SendMessage&MessageBody=x", "Action"));
        assert!(!form_has("MessageBody=Action%3Dx", "Action"));
    }
}
