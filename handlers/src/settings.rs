//! Settings from the environment, with the names the template and wsgate.toml set.

/// How a socket proves whose it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AuthMode {
    /// `?userId=` on `$connect`, unchecked (the original demo; for trying things out).
    Query,
    /// A token on `$connect`, checked by the REQUEST authorizer before the handshake.
    Authorizer,
    /// `$connect` accepts anyone; `{"action":"authorize","token":…}` must follow
    /// within the grace period. Costs a table read on every message.
    Action,
}

/// What the functions need to know beyond the SDK's own environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `CONNECTIONS_TABLE`, default `Connections`.
    pub connections_table: String,
    /// `NOTIFY_CONNECTION_QUEUE`: a queue name or URL, default `NotifyConnection`.
    pub notify_connection_queue: String,
    /// `AUTH_MODE`: `query` (default), `authorizer` or `action`.
    pub auth_mode: AuthMode,
    /// `TOKEN_SECRET`: the HMAC key of tokens (required where tokens are made or checked).
    pub token_secret: Option<String>,
    /// `TOKEN_TTL_SECS`, default 3600.
    pub token_ttl_secs: i64,
    /// `AUTH_GRACE_SECS`: how long an unauthorized socket may stay, default 30 (at most 900).
    pub auth_grace_secs: i32,
    /// `CLOSE_UNAUTHORIZED_QUEUE`: name or URL, default `CloseUnauthorized`.
    pub close_unauthorized_queue: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is not set; it is the secret tokens are signed with")]
    MissingSecret(&'static str),
    #[error("AUTH_MODE `{0}` is not one of query, authorizer, action")]
    BadMode(String),
    #[error("{key} `{value}` is not a number")]
    NotANumber { key: &'static str, value: String },
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`, so tests can feed a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |key: &str, default: &str| {
            lookup(key)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let number = |key: &'static str, default: i64| {
            let value = get(key, &default.to_string());
            value
                .parse::<i64>()
                .map_err(|_| SettingsError::NotANumber { key, value })
        };
        let auth_mode = match get("AUTH_MODE", "query").as_str() {
            "query" => AuthMode::Query,
            "authorizer" => AuthMode::Authorizer,
            "action" => AuthMode::Action,
            other => return Err(SettingsError::BadMode(other.to_string())),
        };
        Ok(Self {
            connections_table: get("CONNECTIONS_TABLE", "Connections"),
            notify_connection_queue: get("NOTIFY_CONNECTION_QUEUE", "NotifyConnection"),
            auth_mode,
            token_secret: lookup("TOKEN_SECRET").filter(|s| !s.is_empty()),
            token_ttl_secs: number("TOKEN_TTL_SECS", 3600)?,
            // SQS delays a message at most 15 minutes.
            auth_grace_secs: number("AUTH_GRACE_SECS", 30)?.clamp(0, 900) as i32,
            close_unauthorized_queue: get("CLOSE_UNAUTHORIZED_QUEUE", "CloseUnauthorized"),
        })
    }

    /// The token secret, or an error that names the variable.
    pub fn secret(&self) -> Result<&[u8], SettingsError> {
        self.token_secret
            .as_deref()
            .map(str::as_bytes)
            .ok_or(SettingsError::MissingSecret("TOKEN_SECRET"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.connections_table, "Connections");
        assert_eq!(s.notify_connection_queue, "NotifyConnection");
        assert_eq!(s.auth_mode, AuthMode::Query);
        assert_eq!(s.auth_grace_secs, 30);
        assert!(s.secret().unwrap_err().to_string().contains("TOKEN_SECRET"));
        let s = Settings::from_lookup(|k| match k {
            "CONNECTIONS_TABLE" => Some("T".into()),
            "AUTH_MODE" => Some("action".into()),
            "AUTH_GRACE_SECS" => Some("5000".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.connections_table, "T");
        assert_eq!(s.auth_mode, AuthMode::Action);
        assert_eq!(s.auth_grace_secs, 900);
        assert!(Settings::from_lookup(|k| (k == "AUTH_MODE").then(|| "x".into())).is_err());
        assert!(Settings::from_lookup(|k| (k == "TOKEN_TTL_SECS").then(|| "x".into())).is_err());
    }
}
