//! Handshake headers as API Gateway passes them to `$connect`.
//!
//! HTTP/1 header names reach us lower-cased; AWS hands on the client's spelling.
//! Well-known names get the spelling browsers and SDKs use, others are Title-Cased,
//! and the `X-Forwarded-*` / `X-Amzn-Trace-Id` headers AWS adds are added.

use std::net::SocketAddr;

use axum::http::HeaderMap;

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

/// The header list of a `$connect` event.
pub fn for_event(headers: &HeaderMap, peer: SocketAddr) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((canonical(k.as_str()), v.to_str().ok()?.to_string())))
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
        let port = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit_once(':'))
            .map(|(_, p)| p.to_string())
            .unwrap_or_else(|| "80".into());
        out.push(("X-Forwarded-Port".into(), port));
    }
    if !has(&out, "X-Forwarded-Proto") {
        out.push(("X-Forwarded-Proto".into(), "http".into()));
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
