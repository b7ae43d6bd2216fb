//! `HTTP_PROXY` and `HTTP`: the message as it came (proxy), or the request
//! template's output, sent with the integration's method to its URL.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

use super::Outgoing;
use super::client::{self, Reply};

pub struct HttpBackend {
    url: String,
    method: ::http::Method,
}

impl HttpBackend {
    pub fn new(url: &str, method: Option<&str>) -> Self {
        Self {
            url: url.to_string(),
            method: method
                .and_then(|m| m.parse().ok())
                .unwrap_or(::http::Method::POST),
        }
    }

    fn url(&self, outgoing: &Outgoing) -> String {
        let mut url = self.url.clone();
        // `{name}` placeholders take `integration.request.path.name`.
        for (name, value) in &outgoing.path {
            let encoded =
                percent_encoding::utf8_percent_encode(value, super::PATH_SEGMENT).to_string();
            url = url.replace(&format!("{{{name}}}"), &encoded);
        }
        if !outgoing.querystring.is_empty() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&outgoing.querystring)
                .finish();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&query);
        }
        url
    }

    /// What is sent, for the log and the inspector: method and URL.
    pub fn describe(&self, outgoing: &Outgoing) -> String {
        format!("{} {}", self.method, self.url(outgoing))
    }

    pub async fn call(&self, outgoing: Outgoing, timeout: Duration) -> Result<Reply, String> {
        let url = self.url(&outgoing);
        let fail = |e: &dyn std::fmt::Display| format!("{} {url}: {e}", self.method);
        let mut request = ::http::Request::builder()
            .method(self.method.clone())
            .uri(&url)
            .body(Full::new(Bytes::from(outgoing.body)))
            .map_err(|e| fail(&e))?;
        let headers = request.headers_mut();
        for (k, v) in &outgoing.headers {
            let name = ::http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| fail(&e))?;
            let value = ::http::HeaderValue::from_str(v).map_err(|e| fail(&e))?;
            headers.insert(name, value);
        }
        if !headers.contains_key(::http::header::CONTENT_TYPE) {
            headers.insert(
                ::http::header::CONTENT_TYPE,
                ::http::HeaderValue::from_static("application/json"),
            );
        }
        client::send(request, timeout).await.map_err(|e| fail(&e))
    }
}
