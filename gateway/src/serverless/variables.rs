//! The Serverless Framework's variables, resolved in a service file before it
//! is read: `${self:a.b}`, `${opt:stage, 'dev'}`, `${sls:stage}`, `${env:X, d}`,
//! `${aws:region}`, `${aws:accountId}`, `${file(./x.yml):a.b}`, nested and with
//! fallbacks. A string that is one variable takes the value's type (a table, a
//! number); inside text it is written out. CloudFormation's `${AWS::Region}` and
//! `!Sub`'s `${Resource.Attr}` are not variables and stay as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where variables come from besides the file itself.
pub struct Sources {
    /// `${opt:…}`: the command line's `--parameter` pairs (`stage`, `region`, …).
    pub options: BTreeMap<String, String>,
    pub region: String,
    pub account_id: String,
    /// The service file's folder, for `${file(…)}`.
    pub base: PathBuf,
}

/// A variable that cannot be resolved, where it is.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct VariableError {
    pub at: String,
    pub message: String,
}

fn fail(at: &str, message: impl Into<String>) -> VariableError {
    VariableError {
        at: at.to_string(),
        message: message.into(),
    }
}

/// Resolves every variable of `doc`.
pub fn resolve(doc: &Value, sources: &Sources) -> Result<Value, VariableError> {
    let mut resolver = Resolver {
        doc,
        sources,
        depth: 0,
    };
    resolver.value(doc, "")
}

struct Resolver<'a> {
    doc: &'a Value,
    sources: &'a Sources,
    /// Guards against `${self:a}` in `a` and other cycles.
    depth: usize,
}

const MAX_DEPTH: usize = 64;

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

impl Resolver<'_> {
    fn value(&mut self, v: &Value, at: &str) -> Result<Value, VariableError> {
        Ok(match v {
            Value::String(s) => self.string(s, at)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.value(item, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, item)| Ok((k.clone(), self.value(item, &join(at, k))?)))
                    .collect::<Result<_, VariableError>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Replaces variables innermost first, so `${self:custom.${opt:stage}}` works.
    fn string(&mut self, text: &str, at: &str) -> Result<Value, VariableError> {
        let mut text = text.to_string();
        let mut searched_from = 0;
        loop {
            let Some((start, end)) = innermost(&text, searched_from) else {
                return Ok(Value::String(text));
            };
            let inner = &text[start + 2..end];
            if !is_variable(inner) {
                // `${AWS::Region}`, `${Table.Arn}`: CloudFormation's, left as written.
                searched_from = end + 1;
                continue;
            }
            let value = self.variable(inner, at)?;
            if start == 0 && end == text.len() - 1 {
                return Ok(value);
            }
            let mut written = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            // A fallback (`${ssm:/x, ${self:y}}`) is a value, not an address: quoted,
            // it stays one when the outer variable is read.
            if text[..start].trim_end().ends_with(',') && text[..start].contains("${") {
                written = format!("'{}'", written.replace('\'', ""));
            }
            text.replace_range(start..=end, &written);
            searched_from = 0;
        }
    }

    /// One `source:address, fallback, …`.
    fn variable(&mut self, inner: &str, at: &str) -> Result<Value, VariableError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(fail(at, format!("`${{{inner}}}` refers to itself")));
        }
        let mut found = None;
        let parts = split_top(inner);
        for part in &parts {
            let part = part.trim();
            if let Some(v) = self.one(part, at)? {
                found = Some(v);
                break;
            }
        }
        self.depth -= 1;
        found.ok_or_else(|| {
            fail(
                at,
                format!("`${{{inner}}}` has no value (and no fallback that has one)"),
            )
        })
    }

    /// A source, or a fallback literal; None when it has no value.
    fn one(&mut self, part: &str, at: &str) -> Result<Option<Value>, VariableError> {
        if let Some(literal) = part
            .strip_prefix('\'')
            .and_then(|p| p.strip_suffix('\''))
            .or_else(|| part.strip_prefix('"').and_then(|p| p.strip_suffix('"')))
        {
            return Ok(Some(Value::String(literal.to_string())));
        }
        if let Ok(n) = part.parse::<i64>() {
            return Ok(Some(n.into()));
        }
        if part == "true" || part == "false" {
            return Ok(Some((part == "true").into()));
        }
        if part == "null" {
            return Ok(None);
        }
        if let Some(rest) = part.strip_prefix("file(") {
            return self.file(rest, at);
        }
        let Some((source, address)) = part.split_once(':') else {
            return Err(fail(
                at,
                format!("`{part}` is neither a variable nor a quoted fallback"),
            ));
        };
        let address = address.trim();
        Ok(match source {
            "self" => self.walk(address, at)?,
            "opt" => self
                .sources
                .options
                .get(address)
                .cloned()
                .map(Value::String),
            "sls" => match address {
                "stage" => Some(self.stage(at)?),
                "instanceId" => Some(Value::String(crate::ids::api_id())),
                _ => None,
            },
            "env" => std::env::var(address).ok().map(Value::String),
            "aws" => match address {
                "region" => Some(Value::String(self.region(at)?)),
                "accountId" => Some(Value::String(self.sources.account_id.clone())),
                _ => None,
            },
            // Deployed state elsewhere (CloudFormation outputs, SSM, S3): only a fallback serves.
            "cf" | "ssm" | "s3" | "param" => None,
            other => {
                return Err(fail(
                    at,
                    format!(
                        "`${{{other}:…}}` is not a variable source wsgate resolves (self, opt, sls, env, aws, file)"
                    ),
                ));
            }
        })
    }

    /// `self:a.b.c`, resolving what it passes through: `custom.settings` may
    /// itself be `${file(…)}` whose `table` is wanted.
    fn walk(&mut self, address: &str, at: &str) -> Result<Option<Value>, VariableError> {
        let mut current = self.doc.clone();
        for key in address.split('.').filter(|k| !k.is_empty()) {
            if let Value::String(s) = &current {
                current = self.string(&s.clone(), at)?;
            }
            let next = match &current {
                Value::Object(map) => map.get(key).cloned(),
                Value::Array(items) => key
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).cloned()),
                _ => None,
            };
            match next {
                Some(v) => current = v,
                None => return Ok(None),
            }
        }
        Ok(Some(self.value(&current, at)?))
    }

    /// The stage as the Serverless Framework picks it: `--stage`, else `provider.stage`, else `dev`.
    fn stage(&mut self, at: &str) -> Result<Value, VariableError> {
        if let Some(stage) = self.sources.options.get("stage") {
            return Ok(Value::String(stage.clone()));
        }
        match lookup(self.doc, "provider.stage").cloned() {
            Some(v) => self.value(&v, at),
            None => Ok(Value::String("dev".into())),
        }
    }

    fn region(&mut self, at: &str) -> Result<String, VariableError> {
        if let Some(region) = self.sources.options.get("region") {
            return Ok(region.clone());
        }
        match lookup(self.doc, "provider.region").cloned() {
            Some(v) => Ok(self.value(&v, at)?.as_str().unwrap_or_default().to_string()),
            None => Ok(self.sources.region.clone()),
        }
    }

    /// `file(./path.yml):a.b` or `file(./path.json)`: JSON or YAML, its own variables resolved.
    fn file(&mut self, rest: &str, at: &str) -> Result<Option<Value>, VariableError> {
        let Some((path, address)) = rest.split_once(')') else {
            return Err(fail(at, format!("`file({rest}` is missing its `)`")));
        };
        let path = self.sources.base.join(path.trim());
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let doc = parse_file(&path, &text).map_err(|e| fail(at, e))?;
        let mut inner = Resolver {
            doc: &doc,
            sources: self.sources,
            depth: self.depth,
        };
        let resolved = inner.value(&doc, at)?;
        let address = address.trim_start_matches(':').trim();
        Ok(if address.is_empty() {
            Some(resolved)
        } else {
            lookup(&resolved, address).cloned()
        })
    }
}

/// A `${file(…)}` document: JSON, or YAML (with CloudFormation's tags).
fn parse_file(path: &Path, text: &str) -> Result<Value, String> {
    let named = |e: String| format!("{}: {e}", path.display());
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(text).map_err(|e| named(e.to_string())),
        _ => crate::template::parse_yaml(text).map_err(named),
    }
}

/// A dotted path into a document (`custom.tableName`, `functions.a.handler`).
fn lookup<'v>(doc: &'v Value, address: &str) -> Option<&'v Value> {
    address
        .split('.')
        .filter(|k| !k.is_empty())
        .try_fold(doc, |v, key| match v {
            Value::Object(map) => map.get(key),
            Value::Array(items) => items.get(key.parse::<usize>().ok()?),
            _ => None,
        })
}

/// The innermost `${…}` at or after `from`: its `$` and its `}`.
fn innermost(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut open = None;
    for i in from..bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            open = Some(i);
        } else if bytes[i] == b'}'
            && let Some(start) = open
        {
            return Some((start, i));
        }
    }
    None
}

/// A Serverless variable names a source (`self:`, `opt:`, `file(…)`); CloudFormation's
/// `${AWS::Region}` (a double colon) and `${Resource.Attr}` (no colon) do not.
fn is_variable(inner: &str) -> bool {
    let inner = inner.trim();
    if inner.starts_with("file(") {
        return true;
    }
    match inner.split_once(':') {
        Some((source, rest)) => {
            !source.is_empty()
                && source.chars().all(|c| c.is_ascii_alphanumeric())
                && !rest.starts_with(':')
        }
        None => false,
    }
}

/// Splits `a, 'b, c', ${x:y, z}` on the commas outside quotes, parentheses and braces.
fn split_top(inner: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote = None;
    let mut current = String::new();
    for c in inner.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '{') => depth += 1,
            (None, ')' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sources(options: &[(&str, &str)]) -> Sources {
        Sources {
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            base: std::env::temp_dir(),
        }
    }

    #[test]
    fn variables_resolve_nested_with_fallbacks_and_types() {
        let doc = json!({
            "service": "chat",
            "provider": {"stage": "${opt:stage, 'dev'}", "region": "eu-west-1"},
            "custom": {
                "tableName": "${self:service}-${sls:stage}-connections",
                "sizes": {"dev": 1, "prod": 5},
                "size": "${self:custom.sizes.${sls:stage}}",
                "secret": "${env:WSGATE_TEST_UNSET_VAR, 'local'}",
                "fromSsm": "${ssm:/app/key, ${self:custom.secret}}",
            },
            "where": "${aws:region}/${aws:accountId}",
            "cfn": {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:${Queue.QueueName}"},
        });
        let dev = resolve(&doc, &sources(&[])).unwrap();
        assert_eq!(dev["custom"]["tableName"], "chat-dev-connections");
        assert_eq!(dev["custom"]["size"], 1);
        assert_eq!(dev["custom"]["secret"], "local");
        assert_eq!(dev["custom"]["fromSsm"], "local");
        assert_eq!(dev["where"], "eu-west-1/000000000000");
        assert_eq!(dev["cfn"], doc["cfn"]);
        let prod = resolve(&doc, &sources(&[("stage", "prod")])).unwrap();
        assert_eq!(prod["custom"]["size"], 5);
        assert_eq!(prod["provider"]["stage"], "prod");
    }

    #[test]
    fn what_cannot_resolve_is_named() {
        let err = resolve(&json!({"a": {"b": "${self:nope}"}}), &sources(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a.b:") && err.contains("self:nope"),
            "{err}"
        );
        let err = resolve(&json!({"a": "${self:a}"}), &sources(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("itself") || err.contains("no value"), "{err}");
        let err = resolve(&json!({"a": "${bogus:x}"}), &sources(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn files_are_read_json_and_yaml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("env.yml"),
            "dev:\n  table: t-${opt:stage, 'dev'}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("c.json"), r#"{"n": 3}"#).unwrap();
        let mut s = sources(&[]);
        s.base = dir.path().to_owned();
        let doc = json!({"t": "${file(./env.yml):dev.table}", "c": "${file(./c.json)}", "m": "${file(./missing.yml), 'none'}"});
        let out = resolve(&doc, &s).unwrap();
        assert_eq!(out["t"], "t-dev");
        assert_eq!(out["c"], json!({"n": 3}));
        assert_eq!(out["m"], "none");
    }
}
