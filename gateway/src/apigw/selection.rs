//! The route selection expression: `$request.body.<path>` evaluated on a text frame.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a route selection expression; expected `$request.body.<path>` such as `$request.body.action`"
)]
pub struct BadExpression(String);

/// A parsed `$request.body.a.b` (also written `${request.body.a.b}`); parsed
/// when the config loads, so a bad expression never reaches a running gateway.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct RouteSelector {
    expression: String,
    path: Vec<String>,
}

impl TryFrom<String> for RouteSelector {
    type Error = BadExpression;
    fn try_from(text: String) -> Result<Self, BadExpression> {
        Self::parse(&text)
    }
}

impl Default for RouteSelector {
    /// `$request.body.action`, API Gateway's usual expression.
    fn default() -> Self {
        Self {
            expression: "$request.body.action".into(),
            path: vec!["action".into()],
        }
    }
}

impl RouteSelector {
    pub fn parse(expression: &str) -> Result<Self, BadExpression> {
        let bad = || BadExpression(expression.to_string());
        let inner = match expression.strip_prefix("${") {
            Some(rest) => rest.strip_suffix('}').ok_or_else(bad)?,
            None => expression.strip_prefix('$').ok_or_else(bad)?,
        };
        let path = inner.strip_prefix("request.body.").ok_or_else(bad)?;
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(bad());
        }
        Ok(Self {
            expression: expression.to_string(),
            path,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    /// The route key a message selects, or `None` where the message is not JSON
    /// or the path does not lead to a string, number or boolean.
    pub fn select(&self, message: &str) -> Option<String> {
        let value: Value = serde_json::from_str(message).ok()?;
        self.select_in(&value)
    }

    /// The same, on a message already parsed.
    pub fn select_in(&self, value: &Value) -> Option<String> {
        let found = self
            .path
            .iter()
            .try_fold(value, |v, key| v.as_object()?.get(key))?;
        match found {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl PartialEq<&str> for RouteSelector {
    fn eq(&self, other: &&str) -> bool {
        self.expression == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_dotted_paths() {
        let s = RouteSelector::parse("$request.body.action").unwrap();
        assert_eq!(s.select(r#"{"action":"ping"}"#).as_deref(), Some("ping"));
        assert_eq!(s.select(r#"{"action":7}"#).as_deref(), Some("7"));
        assert_eq!(s.select(r#"{"other":"ping"}"#), None);
        assert_eq!(s.select("not json"), None);
        assert_eq!(s.select(r#"{"action":{"x":1}}"#), None);
        assert_eq!(s.select(r#"["action"]"#), None);
        let s = RouteSelector::parse("${request.body.msg.kind}").unwrap();
        assert_eq!(
            s.select(r#"{"msg":{"kind":"chat"}}"#).as_deref(),
            Some("chat")
        );
    }

    #[test]
    fn rejects_other_expressions() {
        for e in [
            "action",
            "$request.header.x",
            "$request.body.",
            "${request.body.a",
            "",
        ] {
            assert!(RouteSelector::parse(e).is_err(), "{e}");
        }
    }
}
