//! Template text (YAML with CloudFormation's short tags, or JSON) as JSON values,
//! with `!Ref x` written out as `{"Ref": x}`, `!Sub s` as `{"Fn::Sub": s}`, and so on.
//!
//! `yaml_serde` (serde_yaml carried on by the YAML organization) keeps a short tag
//! on a scalar, sequence or mapping as `Value::Tagged`, which is all this needs.

use serde_json::{Map, Number, Value};

pub fn parse(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"));
    }
    let yaml: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    convert(yaml)
}

fn convert(value: yaml_serde::Value) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!("a mapping key must be a string, found {other:?}"));
                    }
                };
                out.insert(key, convert(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = convert(tagged.value)?;
            let key = match name {
                "Ref" | "Condition" => name.to_string(),
                _ => format!("Fn::{name}"),
            };
            Value::Object(Map::from_iter([(key, inner)]))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_become_long_forms() {
        let v = parse("a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub '${X}'\nd: !If [C, 1, !Ref AWS::NoValue]\ne: !Equals [a, b]\n").unwrap();
        assert_eq!(
            v,
            json!({
                "a": {"Ref": "X"},
                "b": {"Fn::GetAtt": "Q.Arn"},
                "c": {"Fn::Sub": "${X}"},
                "d": {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]},
                "e": {"Fn::Equals": ["a", "b"]},
            })
        );
        assert_eq!(
            parse(r#"{"a": {"Ref": "X"}}"#).unwrap(),
            json!({"a": {"Ref": "X"}})
        );
        assert!(parse("a: [").is_err());
    }

    #[test]
    fn tags_on_sequences_and_mappings_and_errors_with_their_line() {
        let v = parse("a: !Sub\n  - '${A}'\n  - A: !Ref X\nb: !Transform {Name: T}\nc: !Ref 5\n")
            .unwrap();
        assert_eq!(
            v,
            json!({
                "a": {"Fn::Sub": ["${A}", {"A": {"Ref": "X"}}]},
                "b": {"Fn::Transform": {"Name": "T"}},
                "c": {"Ref": 5},
            })
        );
        assert_eq!(
            parse("m: !FindInMap [Map, !Ref AWS::Region, Key]\n").unwrap(),
            json!({"m": {"Fn::FindInMap": ["Map", {"Ref": "AWS::Region"}, "Key"]}})
        );
        let e = parse("a: 1\nb: [x\nc: 2\n").unwrap_err();
        assert!(
            e.starts_with("not valid YAML: ") && e.contains("line 3"),
            "{e}"
        );
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.contains("duplicate entry"), "{e}");
    }
}
