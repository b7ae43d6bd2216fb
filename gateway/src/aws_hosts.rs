//! AWS service host names answered for the local backend. SDKs that ignore
//! `AWS_ENDPOINT_URL_DYNAMODB` and friends (the JS SDK v2, old boto) send
//! functions' calls to `https://dynamodb.{region}.amazonaws.com`; inside function
//! processes those names reach this gateway (`hosts.rs`), whose certificate
//! holds them, and here the request goes on to the backend as it came (path,
//! headers with the signature, body) and its answer comes back. Lambda's name
//! stays with this gateway, which serves the Lambda API itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Full;

use crate::config::Config;
use crate::integrations::client;

/// The largest request body passed on (DynamoDB's is 16 MB; SQS's 1 MB).
const MAX_BODY: usize = 32 * 1024 * 1024;

pub struct ServiceHosts {
    hosts: HashSet<String>,
    backend: String,
}

impl ServiceHosts {
    /// None for real AWS: there is nothing to redirect.
    pub fn new(config: &Config) -> Option<Arc<Self>> {
        let backend = config
            .aws
            .endpoint_url
            .as_ref()?
            .trim_end_matches('/')
            .to_string();
        let hosts = crate::functions::service_hosts(config)
            .into_iter()
            .filter(|h| !h.starts_with("lambda."))
            .collect();
        Some(Arc::new(Self { hosts, backend }))
    }
}

/// Passes a request for a service host to the backend; any other goes on.
pub async fn forward(
    State(hosts): State<Arc<ServiceHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    if !host.is_some_and(|h| hosts.hosts.contains(&h)) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", hosts.backend);
    let mut outgoing = http::Request::builder()
        .method(parts.method.clone())
        .uri(&url)
        .body(Full::new(body))
        .expect("a method and URI from a request that parsed");
    // The Host stays the service's: the signature covers it, and the backend
    // may route by it.
    *outgoing.headers_mut() = parts.headers;
    match client::send(outgoing, Duration::from_secs(60)).await {
        Ok(reply) => {
            let mut response = Response::new(Body::from(reply.body));
            *response.status_mut() =
                StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
            *response.headers_mut() = reply.headers;
            // The body was read whole: hop-by-hop framing does not carry over.
            response
                .headers_mut()
                .remove(http::header::TRANSFER_ENCODING);
            response
        }
        Err(e) => {
            tracing::warn!("{} {url}: {e}", parts.method);
            (
                StatusCode::BAD_GATEWAY,
                format!("the backend at {} did not answer: {e}", hosts.backend),
            )
                .into_response()
        }
    }
}
