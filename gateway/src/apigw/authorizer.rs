//! Lambda REQUEST authorizers on `$connect`.
//!
//! As on AWS: a missing or empty identity source is 401 without invoking the
//! function; an error `Unauthorized` is 401; a policy that denies (or does not
//! allow) the `$connect` method ARN is 403; any other error is 500. On Allow,
//! `principalId` and the policy's `context` go into every later event's
//! `requestContext.authorizer`.

use serde_json::{Map, Value, json};

use super::events::{self, ConnectionInfo, HandshakeRequest};

#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not an identity source; expected `route.request.header.<name>` or `route.request.querystring.<name>`"
)]
pub struct BadSource(String);

/// Where an authorizer looks for the caller's identity; parsed when the config loads.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum IdentitySource {
    Header(String),
    Query(String),
}

impl std::fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Header(name) => write!(f, "route.request.header.{name}"),
            Self::Query(name) => write!(f, "route.request.querystring.{name}"),
        }
    }
}

impl PartialEq<&str> for IdentitySource {
    fn eq(&self, other: &&str) -> bool {
        let (prefix, name) = match self {
            Self::Header(name) => ("route.request.header.", name),
            Self::Query(name) => ("route.request.querystring.", name),
        };
        other.strip_prefix(prefix) == Some(name.as_str())
    }
}

impl TryFrom<String> for IdentitySource {
    type Error = BadSource;
    fn try_from(text: String) -> Result<Self, BadSource> {
        Self::parse(&text)
    }
}

impl IdentitySource {
    pub fn parse(text: &str) -> Result<Self, BadSource> {
        let bad = || BadSource(text.to_string());
        if let Some(name) = text.strip_prefix("route.request.header.") {
            (!name.is_empty())
                .then(|| Self::Header(name.to_string()))
                .ok_or_else(bad)
        } else if let Some(name) = text.strip_prefix("route.request.querystring.") {
            (!name.is_empty())
                .then(|| Self::Query(name.to_string()))
                .ok_or_else(bad)
        } else {
            Err(bad())
        }
    }

    pub(crate) fn present(&self, request: &HandshakeRequest) -> bool {
        let non_empty = |(_, v): &&(String, String)| !v.is_empty();
        match self {
            Self::Header(name) => request
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .any(|kv| non_empty(&kv)),
            Self::Query(name) => request
                .query
                .iter()
                .filter(|(k, _)| k == name)
                .any(|kv| non_empty(&kv)),
        }
    }
}

/// What the handshake does after the authorizer.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Goes on; the value becomes `requestContext.authorizer`.
    Allow(Value),
    /// 401
    Unauthorized,
    /// 403
    Forbidden,
    /// 500
    Failed(String),
}

/// True when every identity source has a non-empty value.
pub fn has_identity(sources: &[IdentitySource], request: &HandshakeRequest) -> bool {
    sources.iter().all(|s| s.present(request))
}

/// The `$connect` method ARN a policy must allow.
pub fn method_arn(region: &str, account: &str, conn: &ConnectionInfo) -> String {
    format!(
        "arn:aws:execute-api:{region}:{account}:{}/{}/$connect",
        conn.api_id, conn.stage
    )
}

/// The REQUEST authorizer event for a `$connect`.
pub fn request_event(
    conn: &ConnectionInfo,
    request: &HandshakeRequest,
    method_arn: &str,
    request_id: &str,
    now: i64,
) -> Value {
    let mut event = events::connect_event(conn, request, request_id, now);
    let obj = event.as_object_mut().expect("an object");
    // Unlike `$connect`, the authorizer sees the upgrade's own headers too
    // (AWS's documented authorizer input has `Connection` and `Upgrade`).
    let (headers, multi) = events::maps(&request.headers);
    obj.insert("headers".into(), headers);
    obj.insert("multiValueHeaders".into(), multi);
    obj.remove("isBase64Encoded");
    obj.entry("queryStringParameters")
        .or_insert_with(|| json!({}));
    obj.entry("multiValueQueryStringParameters")
        .or_insert_with(|| json!({}));
    obj.insert("type".into(), "REQUEST".into());
    obj.insert("methodArn".into(), method_arn.into());
    obj.entry("stageVariables").or_insert_with(|| json!({}));
    event
}

/// Reads an authorizer's answer: an IAM policy with `principalId` and `context`.
pub fn evaluate(response: &[u8], method_arn: &str) -> Decision {
    let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(response) else {
        return Decision::Failed("the authorizer's response is not a JSON object".into());
    };
    let Some(principal) = answer.get("principalId").filter(|p| !p.is_null()) else {
        return Decision::Failed("the authorizer's response has no principalId".into());
    };
    let statements = match &answer["policyDocument"]["Statement"] {
        Value::Array(s) => s.clone(),
        Value::Object(s) => vec![Value::Object(s.clone())],
        _ => {
            return Decision::Failed(
                "the authorizer's response has no policyDocument.Statement".into(),
            );
        }
    };
    let applies = |statement: &Value| match &statement["Resource"] {
        Value::String(r) => glob(r, method_arn),
        Value::Array(rs) => rs
            .iter()
            .filter_map(Value::as_str)
            .any(|r| glob(r, method_arn)),
        _ => false,
    };
    let effect = |s: &Value| {
        s["Effect"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let matching: Vec<_> = statements.iter().filter(|s| applies(s)).collect();
    // An explicit Deny wins; without an Allow, nothing is allowed.
    if matching.iter().any(|s| effect(s) == "deny")
        || !matching.iter().any(|s| effect(s) == "allow")
    {
        return Decision::Forbidden;
    }
    let mut context = Map::new();
    if let Some(Value::Object(c)) = answer.get("context") {
        context.extend(c.clone());
    }
    context.insert("principalId".into(), principal.clone());
    Decision::Allow(Value::Object(context))
}

/// IAM resource matching: `*` is any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:abc/local/$connect";

    fn policy(effect: &str, resource: Value) -> Vec<u8> {
        json!({
            "principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"userId": "1234", "n": 7}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn policies() {
        match evaluate(&policy("Allow", json!(ARN)), ARN) {
            Decision::Allow(ctx) => {
                assert_eq!(ctx["principalId"], "user-1");
                assert_eq!(ctx["userId"], "1234");
                assert_eq!(ctx["n"], 7);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            evaluate(&policy("Allow", json!("arn:aws:execute-api:*")), ARN),
            Decision::Allow(_)
        ));
        assert!(matches!(
            evaluate(&policy("Allow", json!(["x", "*"])), ARN),
            Decision::Allow(_)
        ));
        assert_eq!(
            evaluate(&policy("Deny", json!(ARN)), ARN),
            Decision::Forbidden
        );
        assert_eq!(
            evaluate(&policy("Allow", json!("arn:other")), ARN),
            Decision::Forbidden
        );
        assert!(matches!(evaluate(b"nope", ARN), Decision::Failed(_)));
        assert!(matches!(evaluate(b"{}", ARN), Decision::Failed(_)));
    }

    #[test]
    fn sources() {
        assert_eq!(
            IdentitySource::parse("route.request.querystring.token").unwrap(),
            IdentitySource::Query("token".into())
        );
        assert!(IdentitySource::parse("method.request.header.x").is_err());
        let request = HandshakeRequest {
            headers: vec![("Authorization".into(), "x".into())],
            query: vec![("token".into(), "".into())],
        };
        assert!(IdentitySource::Header("authorization".into()).present(&request));
        assert!(!IdentitySource::Query("token".into()).present(&request));
        assert!(!IdentitySource::Query("other".into()).present(&request));
    }

    #[test]
    fn globbing() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
    }
}
