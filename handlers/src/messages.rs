//! The queue messages of the app.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// On `NotifyUser`: tell every socket of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyUser {
    pub user_id: String,
    pub data: Value,
}

/// On `NotifyConnection`: tell one socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyConnection {
    pub connection_id: String,
    pub data: Value,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed {kind} message: {reason}")]
pub struct Malformed {
    kind: &'static str,
    reason: String,
}

impl NotifyUser {
    pub fn parse(body: &str) -> Result<Self, Malformed> {
        let m: Self = serde_json::from_str(body).map_err(|e| Malformed {
            kind: "NotifyUser",
            reason: e.to_string(),
        })?;
        if m.user_id.is_empty() {
            return Err(Malformed {
                kind: "NotifyUser",
                reason: "userId is empty".into(),
            });
        }
        Ok(m)
    }
}

impl NotifyConnection {
    pub fn parse(body: &str) -> Result<Self, Malformed> {
        let m: Self = serde_json::from_str(body).map_err(|e| Malformed {
            kind: "NotifyConnection",
            reason: e.to_string(),
        })?;
        if m.connection_id.is_empty() {
            return Err(Malformed {
                kind: "NotifyConnection",
                reason: "connectionId is empty".into(),
            });
        }
        Ok(m)
    }

    /// What the socket receives: strings as they are, other values as JSON text.
    pub fn text(&self) -> String {
        match &self.data {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_and_text() {
        let m = NotifyUser::parse(r#"{"userId":"1234","data":{"a":1}}"#).unwrap();
        assert_eq!(m.user_id, "1234");
        assert!(NotifyUser::parse(r#"{"data":1}"#).is_err());
        assert!(NotifyUser::parse(r#"{"userId":"","data":1}"#).is_err());
        assert!(NotifyUser::parse("nope").is_err());
        let c = NotifyConnection {
            connection_id: "c".into(),
            data: json!("hi"),
        };
        assert_eq!(c.text(), "hi");
        let c = NotifyConnection {
            connection_id: "c".into(),
            data: json!({"x":[1]}),
        };
        assert_eq!(c.text(), r#"{"x":[1]}"#);
        assert!(NotifyConnection::parse(r#"{"connectionId":"c"}"#).is_err());
    }
}
