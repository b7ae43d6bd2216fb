//! Settings from the environment, with the names the template and wsgate.toml set.

/// What the functions need to know beyond the SDK's own environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `CONNECTIONS_TABLE`, default `Connections`.
    pub connections_table: String,
    /// `NOTIFY_CONNECTION_QUEUE`: a queue name or URL, default `NotifyConnection`.
    pub notify_connection_queue: String,
}

impl Settings {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`, so tests can feed a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |key: &str, default: &str| {
            lookup(key)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        Self {
            connections_table: get("CONNECTIONS_TABLE", "Connections"),
            notify_connection_queue: get("NOTIFY_CONNECTION_QUEUE", "NotifyConnection"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = Settings::from_lookup(|_| None);
        assert_eq!(s.connections_table, "Connections");
        assert_eq!(s.notify_connection_queue, "NotifyConnection");
        let s = Settings::from_lookup(|k| (k == "CONNECTIONS_TABLE").then(|| "T".to_string()));
        assert_eq!(s.connections_table, "T");
    }
}
