//! The HTTP client integrations call out with (AWS services, HTTP backends):
//! one per process, plain HTTP for local backends, TLS with the system's roots
//! for real AWS and public URLs.

use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

static CLIENT: LazyLock<Client<Connector, Full<Bytes>>> = LazyLock::new(|| {
    // rustls is built with two crypto providers here; name the one the gateway uses.
    let provider = || std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_provider_and_native_roots(provider()) {
        Ok(b) => b,
        Err(e) => {
            // Local backends are plain HTTP: they still work without roots.
            tracing::warn!("no system certificates for HTTPS integrations: {e}");
            let tls = rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    Client::builder(TokioExecutor::new()).build(connector)
});

/// The backend's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Request(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Sends a request and reads the whole answer within `timeout`.
pub async fn send(
    request: http::Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    let call = async {
        let response = CLIENT
            .request(request)
            .await
            .map_err(|e| HttpError::Request(describe(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| HttpError::Request(e.to_string()))?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

/// The error and its causes on one line ("connection refused" is a cause).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
