//! The HTTP side of the WebSocket handshake (RFC 6455): checking the request,
//! the 101 answer, and the upgraded stream. Done here rather than by axum's
//! extractor so a session owns its raw stream: after a message is too big it
//! can still read what the client sends until the closing handshake ends,
//! instead of resetting the connection under a client that is still sending.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// A session's socket.
pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// A valid upgrade request, not answered yet.
pub struct Upgrade {
    key: HeaderValue,
    offered: Option<HeaderValue>,
    on_upgrade: OnUpgrade,
}

fn refuse(status: StatusCode, message: &'static str) -> Box<Response> {
    Box::new((status, message).into_response())
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A request that asks for no upgrade at all (a browser, curl).
pub fn is_plain(headers: &HeaderMap) -> bool {
    !has_token(headers, header::CONNECTION, "upgrade")
        && !has_token(headers, header::UPGRADE, "websocket")
}

/// What a plain GET on the socket's URL gets: 426 with `Upgrade: websocket`,
/// as serverless-offline's suite (written against AWS) expects and RFC 9110 describes.
pub fn upgrade_required() -> Response {
    let mut response = (StatusCode::UPGRADE_REQUIRED, "Upgrade Required").into_response();
    response
        .headers_mut()
        .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    response
}

impl Upgrade {
    /// Checks the request as RFC 6455 asks; the refusal says what is missing.
    pub fn from_parts(parts: &mut Parts) -> Result<Self, Box<Response>> {
        if parts.method != Method::GET {
            return Err(refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request method must be `GET`",
            ));
        }
        let headers = &parts.headers;
        if is_plain(headers) {
            return Err(Box::new(upgrade_required()));
        }
        if !has_token(headers, header::CONNECTION, "upgrade") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Connection header did not include 'upgrade'",
            ));
        }
        if !has_token(headers, header::UPGRADE, "websocket") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Upgrade` header did not include 'websocket'",
            ));
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|v| v != "13")
        {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Version` header did not include '13'",
            ));
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Key` header missing",
            ));
        };
        let offered = headers.get(header::SEC_WEBSOCKET_PROTOCOL).cloned();
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return Err(refuse(
                StatusCode::UPGRADE_REQUIRED,
                "WebSocket request couldn't be upgraded since no upgrade state was present",
            ));
        };
        Ok(Self {
            key,
            offered,
            on_upgrade,
        })
    }

    /// Answers 101 (with `protocol` where the client offered it) and hands the
    /// socket to `run` once the client has it; `failed` when the upgrade fails.
    pub fn accept<F>(
        self,
        protocol: Option<&str>,
        config: WebSocketConfig,
        run: impl FnOnce(Socket) -> F + Send + 'static,
        failed: impl FnOnce(hyper::Error) + Send + 'static,
    ) -> Response
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut response = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(
                header::SEC_WEBSOCKET_ACCEPT,
                accept_key(self.key.as_bytes()),
            )
            .body(Body::empty())
            .expect("a valid 101");
        let chosen = protocol.filter(|p| {
            self.offered
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .is_some_and(|offered| offered.split(',').any(|o| o.trim() == *p))
        });
        if let Some(value) = chosen.and_then(|p| HeaderValue::from_str(p).ok()) {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, value);
        }
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let io = TokioIo::new(upgraded);
                    let socket =
                        WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                    run(socket).await;
                }
                Err(e) => failed(e),
            }
        });
        response
    }
}

/// `Sec-WebSocket-Accept`: base64 of SHA-1 over the key and RFC 6455's GUID.
fn accept_key(key: &[u8]) -> String {
    let mut input = key.to_vec();
    input.extend_from_slice(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
