//! Who may call `@connections` and the Lambda API: requests signed with SigV4
//! by credentials this gateway knows (the local `test`/`test` pair, and what
//! its own environment resolves), for its region and the API's service, as on
//! AWS. Off with `--no-sigv4`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use ring::hmac;
use tokio::sync::OnceCell;

use crate::apigw::errors::aws_error;
use crate::sigv4::{self, Authorization, SigError};

/// The credentials requests may be signed with.
pub struct Verifier {
    region: String,
    /// Access key id → secret: `test` and the environment's pair.
    known: HashMap<String, String>,
    /// The default chain's credentials (a profile, SSO, …), resolved on first need.
    chain: OnceCell<Option<(String, String)>>,
    /// Derived keys by access key, day and service: one HMAC per request instead
    /// of five. Few entries: a list, searched without allocating; read-locked,
    /// so concurrent requests never wait for each other.
    keys: RwLock<Vec<(String, String, &'static str, hmac::Key)>>,
}

impl Verifier {
    pub fn new(region: &str) -> Self {
        let mut known = HashMap::from([("test".to_string(), "test".to_string())]);
        if let (Ok(id), Ok(secret)) = (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            known.insert(id, secret);
        }
        Self {
            region: region.to_string(),
            known,
            chain: OnceCell::new(),
            keys: RwLock::default(),
        }
    }

    async fn secret(&self, access_key: &str) -> Option<&str> {
        if let Some(secret) = self.known.get(access_key) {
            return Some(secret);
        }
        let chain = self.chain.get_or_init(|| resolve_chain(&self.region)).await;
        chain
            .as_ref()
            .filter(|(id, _)| id == access_key)
            .map(|(_, secret)| secret.as_str())
    }

    fn key(&self, access_key: &str, date: &str, service: &'static str, secret: &str) -> hmac::Key {
        let found = |keys: &[(String, String, &'static str, hmac::Key)]| {
            keys.iter()
                .find(|(a, d, s, _)| a == access_key && d == date && *s == service)
                .map(|(.., key)| key.clone())
        };
        if let Some(key) = found(&self.keys.read().unwrap()) {
            return key;
        }
        let mut keys = self.keys.write().unwrap();
        if let Some(key) = found(&keys) {
            return key;
        }
        if keys.len() >= 16 {
            keys.remove(0);
        }
        let key = sigv4::signing_key(secret, date, &self.region, service);
        keys.push((access_key.into(), date.into(), service, key.clone()));
        key
    }

    /// Checks a request's signature for `service`.
    pub async fn verify(
        &self,
        request: &sigv4::Request<'_>,
        authorization: Option<&str>,
        service: &'static str,
    ) -> Result<(), SigError> {
        let header = authorization.ok_or(SigError::Missing)?;
        let auth = Authorization::parse(header)?;
        let amz_date = request.amz_date();
        let now = chrono::Utc::now().timestamp();
        sigv4::check_scope(&auth, amz_date, &self.region, service, now)?;
        let secret = self
            .secret(auth.access_key)
            .await
            .ok_or(SigError::UnknownKey)?;
        let key = self.key(auth.access_key, auth.date, service, secret);
        let canonical = request.canonical(&auth.signed_headers);
        let expected = sigv4::signature(&key, &auth, amz_date.unwrap_or_default(), &canonical);
        if sigv4::same(&expected, auth.signature) {
            Ok(())
        } else {
            tracing::debug!("SigV4 mismatch; canonical request:\n{canonical}");
            Err(SigError::Mismatch)
        }
    }
}

/// The credentials the default chain resolves, given a few seconds.
async fn resolve_chain(region: &str) -> Option<(String, String)> {
    use aws_credential_types::provider::ProvideCredentials;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    let provider = config.credentials_provider()?;
    let found = tokio::time::timeout(Duration::from_secs(5), provider.provide_credentials())
        .await
        .ok()?
        .ok()?;
    Some((
        found.access_key_id().to_string(),
        found.secret_access_key().to_string(),
    ))
}

/// What a layer checks: the service the signature must be scoped to, and what
/// to answer for a body too large to read.
#[derive(Clone)]
pub struct Gate {
    pub verifier: Arc<Verifier>,
    pub service: &'static str,
    pub max_body: usize,
    pub too_large: fn(&HeaderMap, usize) -> Response,
}

/// The middleware: the body is read (within its limit) to check its hash, then
/// handed on unchanged.
pub async fn require_sigv4(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    // Refused from its Content-Length, before a byte of it is read: a client
    // that sent `Expect: 100-continue` never sends it, and none is reset mid-send.
    if declared_length(request.headers()).is_some_and(|n| n > gate.max_body) {
        return (gate.too_large)(request.headers(), gate.max_body);
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, gate.max_body).await else {
        return (gate.too_large)(&parts.headers, gate.max_body);
    };
    let host = parts.uri.authority().map(|a| a.to_string());
    let mut headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    // HTTP/2 carries the host as the URI's authority.
    if !parts.headers.contains_key("host")
        && let Some(host) = &host
    {
        headers.push(("host", host));
    }
    let signed = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers,
        body: &body,
    };
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = gate
        .verifier
        .verify(&signed, authorization, gate.service)
        .await
    {
        tracing::info!(path = %parts.uri.path(), "refused: {e}");
        return aws_error(StatusCode::FORBIDDEN, e.error_type(), &e.to_string());
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A request's declared body length.
pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
