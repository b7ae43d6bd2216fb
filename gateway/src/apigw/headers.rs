//! Handshake headers as API Gateway passes them to `$connect` and its authorizer.
//!
//! HTTP/1 header names reach us lower-cased; AWS hands on the client's spelling,
//! which `client_head.rs` recorded. Where it could not (a head too big), well-known
//! names get the spelling browsers and SDKs use and others are Title-Cased. The
//! `X-Forwarded-*` / `X-Amzn-Trace-Id` headers AWS adds are added, saying how the
//! client came (TLS or not, which port).

use std::net::SocketAddr;

use axum::http::HeaderMap;

use crate::client_head::ClientHead;

const KNOWN: &[&str] = &[
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Protocol",
    "X-Amzn-Trace-Id",
    "X-Forwarded-For",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "x-api-key",
    "WWW-Authenticate",
];

/// The spelling AWS would show for a lower-cased header name.
pub fn canonical(name: &str) -> String {
    if let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return (*known).to_string();
    }
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The header list of a `$connect` event (and its authorizer's).
pub fn for_event(
    headers: &HeaderMap,
    peer: SocketAddr,
    client: &ClientHead,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            let name = client
                .spelling(k.as_str())
                .map_or_else(|| canonical(k.as_str()), str::to_string);
            Some((name, v.to_str().ok()?.to_string()))
        })
        .collect();
    let has = |out: &[(String, String)], name: &str| {
        out.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !has(&out, "X-Amzn-Trace-Id") {
        let root = crate::ids::trace_id();
        let root = root.split(';').next().unwrap_or_default().to_string();
        out.push(("X-Amzn-Trace-Id".into(), root));
    }
    if !has(&out, "X-Forwarded-For") {
        out.push(("X-Forwarded-For".into(), peer.ip().to_string()));
    }
    if !has(&out, "X-Forwarded-Port") {
        let port = match client.port {
            0 if client.tls => 443,
            0 => 80,
            port => port,
        };
        out.push(("X-Forwarded-Port".into(), port.to_string()));
    }
    if !has(&out, "X-Forwarded-Proto") {
        let proto = if client.tls { "https" } else { "http" };
        out.push(("X-Forwarded-Proto".into(), proto.into()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling() {
        assert_eq!(canonical("sec-websocket-key"), "Sec-WebSocket-Key");
        assert_eq!(canonical("host"), "Host");
        assert_eq!(canonical("user-agent"), "User-Agent");
        assert_eq!(canonical("x-api-key"), "x-api-key");
    }
}
