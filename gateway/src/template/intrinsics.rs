//! CloudFormation intrinsic functions, resolved to local names, ARNs and URLs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::TemplateError;

/// What `Ref` and `Fn::GetAtt` give for one resource.
#[derive(Debug, Clone, Default)]
pub struct ResourceValues {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
}

/// Parameters, pseudo parameters, mappings, conditions and resources' values.
#[derive(Debug, Default)]
pub struct Scope {
    pub parameters: BTreeMap<String, Value>,
    /// The template's `Mappings`, for `Fn::FindInMap`.
    pub mappings: Map<String, Value>,
    /// Other stacks' exports, for `Fn::ImportValue`.
    pub imports: BTreeMap<String, String>,
    pub conditions: BTreeMap<String, bool>,
    pub resources: BTreeMap<String, ResourceValues>,
}

/// Marks a value that `AWS::NoValue` removed.
fn no_value() -> Value {
    Value::String("\u{0}AWS::NoValue".into())
}

fn is_no_value(v: &Value) -> bool {
    v.as_str() == Some("\u{0}AWS::NoValue")
}

impl Scope {
    fn reference(&self, name: &str, at: &str) -> Result<Value, TemplateError> {
        if name == "AWS::NoValue" {
            return Ok(no_value());
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        if let Some(r) = self.resources.get(name) {
            return Ok(Value::String(r.reference.clone()));
        }
        Err(TemplateError::at(
            at,
            format!("!Ref {name}: no parameter or resource is called {name}"),
        ))
    }

    fn attribute(
        &self,
        resource: &str,
        attribute: &str,
        at: &str,
    ) -> Result<String, TemplateError> {
        let r = self.resources.get(resource).ok_or_else(|| {
            TemplateError::at(
                at,
                format!("!GetAtt {resource}.{attribute}: no resource is called {resource}"),
            )
        })?;
        r.attributes.get(attribute).cloned().ok_or_else(|| {
            TemplateError::at(
                at,
                format!("!GetAtt {resource}.{attribute}: wsgate does not know the attribute {attribute} of this resource"),
            )
        })
    }

    pub fn condition(&self, name: &str, at: &str) -> Result<bool, TemplateError> {
        self.conditions
            .get(name)
            .copied()
            .ok_or_else(|| TemplateError::at(at, format!("no condition is called {name}")))
    }

    /// Resolves every intrinsic in `value`; `AWS::NoValue` drops keys and list items.
    pub fn resolve(&self, value: &Value, at: &str) -> Result<Value, TemplateError> {
        let resolved = self.resolve_inner(value, at)?;
        Ok(if is_no_value(&resolved) {
            Value::Null
        } else {
            resolved
        })
    }

    fn resolve_inner(&self, value: &Value, at: &str) -> Result<Value, TemplateError> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let v = self.resolve_inner(item, &format!("{at}[{i}]"))?;
                    if !is_no_value(&v) {
                        out.push(v);
                    }
                }
                Ok(Value::Array(out))
            }
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match self.function(key, arg, at)? {
                    Some(v) => Ok(v),
                    None => self.resolve_map(map, at),
                }
            }
            Value::Object(map) => self.resolve_map(map, at),
            other => Ok(other.clone()),
        }
    }

    fn resolve_map(&self, map: &Map<String, Value>, at: &str) -> Result<Value, TemplateError> {
        let mut out = Map::new();
        for (k, v) in map {
            let v = self.resolve_inner(v, &format!("{at}.{k}"))?;
            if !is_no_value(&v) {
                out.insert(k.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    fn string(&self, value: &Value, at: &str) -> Result<String, TemplateError> {
        match self.resolve_inner(value, at)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(TemplateError::at(
                at,
                format!("expected a string, found {other}"),
            )),
        }
    }

    fn list(&self, value: &Value, at: &str) -> Result<Vec<Value>, TemplateError> {
        match self.resolve_inner(value, at)? {
            Value::Array(items) => Ok(items),
            other => Err(TemplateError::at(
                at,
                format!("expected a list, found {other}"),
            )),
        }
    }

    /// One intrinsic function call, or None when `key` is not one.
    fn function(&self, key: &str, arg: &Value, at: &str) -> Result<Option<Value>, TemplateError> {
        let here = format!("{at}.{key}");
        let at = here.as_str();
        let args = |n: usize| -> Result<Vec<Value>, TemplateError> {
            match arg {
                Value::Array(a) if a.len() == n => Ok(a.clone()),
                _ => Err(TemplateError::at(
                    at,
                    format!("takes a list of {n} arguments"),
                )),
            }
        };
        let v = match key {
            "Ref" => self.reference(&self.string(arg, at)?, at)?,
            "Fn::GetAtt" => {
                let (resource, attribute) = match arg {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(r, a)| (r.to_string(), a.to_string()))
                        .ok_or_else(|| TemplateError::at(at, "expects Resource.Attribute"))?,
                    Value::Array(a) if a.len() == 2 => {
                        (self.string(&a[0], at)?, self.string(&a[1], at)?)
                    }
                    _ => return Err(TemplateError::at(at, "expects Resource.Attribute")),
                };
                Value::String(self.attribute(&resource, &attribute, at)?)
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let vars = match self.resolve_inner(&a[1], at)? {
                            Value::Object(m) => m,
                            _ => {
                                return Err(TemplateError::at(
                                    at,
                                    "the second argument must be a map",
                                ));
                            }
                        };
                        (self.string(&a[0], at)?, vars)
                    }
                    _ => {
                        return Err(TemplateError::at(
                            at,
                            "takes a string, or a string and a map",
                        ));
                    }
                };
                Value::String(self.substitute(&text, &vars, at)?)
            }
            "Fn::Join" => {
                let a = args(2)?;
                let sep = self.string(&a[0], at)?;
                let parts = self
                    .list(&a[1], at)?
                    .iter()
                    .map(|p| self.string(p, at))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::String(parts.join(&sep))
            }
            "Fn::If" => {
                let a = args(3)?;
                let chosen = if self.condition(&self.string(&a[0], at)?, at)? {
                    &a[1]
                } else {
                    &a[2]
                };
                self.resolve_inner(chosen, at)?
            }
            "Fn::Equals" => {
                let a = args(2)?;
                Value::Bool(self.resolve_inner(&a[0], at)? == self.resolve_inner(&a[1], at)?)
            }
            "Fn::Not" => Value::Bool(!self.boolean(&args(1)?[0], at)?),
            "Fn::And" | "Fn::Or" => {
                let items = match arg {
                    Value::Array(a) => a,
                    _ => return Err(TemplateError::at(at, "takes a list of conditions")),
                };
                let values = items
                    .iter()
                    .map(|c| self.boolean(c, at))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Bool(if key == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Condition" => Value::Bool(self.condition(&self.string(arg, at)?, at)?),
            "Fn::Select" => {
                let a = args(2)?;
                let index: usize = self
                    .string(&a[0], at)?
                    .parse()
                    .map_err(|_| TemplateError::at(at, "the index must be a number"))?;
                self.list(&a[1], at)?.get(index).cloned().ok_or_else(|| {
                    TemplateError::at(at, format!("index {index} is out of range"))
                })?
            }
            "Fn::Split" => {
                let a = args(2)?;
                let sep = self.string(&a[0], at)?;
                let text = self.string(&a[1], at)?;
                Value::Array(
                    text.split(sep.as_str())
                        .map(|s| Value::String(s.into()))
                        .collect(),
                )
            }
            "Fn::Base64" => {
                use base64::Engine;
                Value::String(
                    base64::engine::general_purpose::STANDARD.encode(self.string(arg, at)?),
                )
            }
            "Fn::FindInMap" => self.find_in_map(arg, at)?,
            "Fn::ImportValue" => self.import_value(arg, at)?,
            "Fn::GetAZs" => self.zones(arg, at)?,
            "Fn::Cidr" | "Fn::Transform" => {
                return Err(TemplateError::at(
                    at,
                    format!("{key} is not supported by wsgate"),
                ));
            }
            _ => return Ok(None),
        };
        Ok(Some(v))
    }

    /// `[MapName, TopLevelKey, SecondLevelKey]`, each of which may be an intrinsic;
    /// a fourth `{DefaultValue: …}` (AWS::LanguageExtensions) answers missing keys.
    fn find_in_map(&self, arg: &Value, at: &str) -> Result<Value, TemplateError> {
        let a = match arg {
            Value::Array(a) if a.len() == 3 || a.len() == 4 => a,
            _ => {
                return Err(TemplateError::at(
                    at,
                    "takes [MapName, TopLevelKey, SecondLevelKey]",
                ));
            }
        };
        let map = self.string(&a[0], at)?;
        let top = self.string(&a[1], at)?;
        let second = self.string(&a[2], at)?;
        // CloudFormation's wording, so a search for the message finds its cause.
        let table = self.mappings.get(&map).ok_or_else(|| {
            TemplateError::at(
                at,
                format!("Template error: Mapping named '{map}' is not present in the 'Mappings' section of template"),
            )
        })?;
        if let Some(v) = table.get(&top).and_then(|t| t.get(&second)) {
            return Ok(v.clone());
        }
        match a.get(3).map(|d| &d["DefaultValue"]) {
            Some(Value::Null) => Err(TemplateError::at(
                at,
                "the fourth argument must be {DefaultValue: …}",
            )),
            Some(default) => self.resolve_inner(default, at),
            None => Err(TemplateError::at(
                at,
                format!("Template error: Unable to get mapping for {map}::{top}::{second}"),
            )),
        }
    }

    /// No other stack runs here: an export's value comes from `--import Name=value`.
    fn import_value(&self, arg: &Value, at: &str) -> Result<Value, TemplateError> {
        let name = self.string(arg, at)?;
        match self.imports.get(&name) {
            Some(v) => Ok(Value::String(v.clone())),
            // CloudFormation's words, then how to answer it locally.
            None => Err(TemplateError::at(
                at,
                format!("No export named {name} found: pass --import {name}=…"),
            )),
        }
    }

    /// A region's Availability Zones (`""` is this stack's region). Nothing is
    /// placed in them locally, so plausible names do: `{region}a`, `b`, `c`,
    /// three because templates often `!Select` up to index 2.
    fn zones(&self, arg: &Value, at: &str) -> Result<Value, TemplateError> {
        let mut region = self.string(arg, at)?;
        if region.is_empty() {
            region = self.string(&self.reference("AWS::Region", at)?, at)?;
        }
        Ok(Value::Array(
            ["a", "b", "c"]
                .iter()
                .map(|zone| Value::String(format!("{region}{zone}")))
                .collect(),
        ))
    }

    fn boolean(&self, value: &Value, at: &str) -> Result<bool, TemplateError> {
        match self.resolve_inner(value, at)? {
            Value::Bool(b) => Ok(b),
            Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
            other => Err(TemplateError::at(
                at,
                format!("expected a condition, found {other}"),
            )),
        }
    }

    /// `${Name}`, `${Resource.Attribute}` and `${!Literal}` in a `Fn::Sub` string.
    fn substitute(
        &self,
        text: &str,
        vars: &Map<String, Value>,
        at: &str,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::at(at, format!("`${{` without `}}` in {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&self.string(v, at)?);
            } else if let Some((resource, attribute)) = name
                .split_once('.')
                .filter(|(r, _)| !r.starts_with("AWS::"))
            {
                out.push_str(&self.attribute(resource, attribute, at)?);
            } else {
                let v = self.reference(name, at)?;
                // Its marker must not leak into text, and "" would hide the mistake.
                if is_no_value(&v) {
                    return Err(TemplateError::at(
                        at,
                        format!("${{{name}}} has no value to substitute"),
                    ));
                }
                out.push_str(&self.string(&v, at)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut s = Scope::default();
        s.parameters.insert("Stage".into(), json!("dev"));
        s.parameters
            .insert("AWS::Region".into(), json!("us-east-1"));
        s.conditions.insert("IsDev".into(), true);
        s.mappings = json!({
            "Sizes": {"us-east-1": {"Memory": 256, "Zones": ["a", "b"]}, "dev": {"Memory": 128}}
        })
        .as_object()
        .unwrap()
        .clone();
        s.resources.insert(
            "Q".into(),
            ResourceValues {
                reference: "http://q/Q".into(),
                attributes: BTreeMap::from([("Arn".to_string(), "arn:q".to_string())]),
            },
        );
        s
    }

    #[test]
    fn every_intrinsic() {
        let s = scope();
        let r = |v: Value| s.resolve(&v, "X").unwrap();
        assert_eq!(r(json!({"Ref": "Stage"})), json!("dev"));
        assert_eq!(r(json!({"Ref": "Q"})), json!("http://q/Q"));
        assert_eq!(r(json!({"Fn::GetAtt": "Q.Arn"})), json!("arn:q"));
        assert_eq!(r(json!({"Fn::GetAtt": ["Q", "Arn"]})), json!("arn:q"));
        assert_eq!(
            r(json!({"Fn::Sub": "${Stage}-${Q.Arn}-${AWS::Region}-${!Keep}"})),
            json!("dev-arn:q-us-east-1-${Keep}")
        );
        assert_eq!(
            r(json!({"Fn::Sub": ["${A}/${Stage}", {"A": {"Ref": "Q"}}]})),
            json!("http://q/Q/dev")
        );
        assert_eq!(
            r(json!({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]})),
            json!("a-dev")
        );
        assert_eq!(r(json!({"Fn::If": ["IsDev", "yes", "no"]})), json!("yes"));
        assert_eq!(
            r(json!({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]})),
            json!("b")
        );
        assert_eq!(
            r(json!({"Fn::Equals": [{"Ref": "Stage"}, "dev"]})),
            json!(true)
        );
        assert_eq!(
            r(json!({"Fn::Not": [{"Condition": "IsDev"}]})),
            json!(false)
        );
        assert_eq!(
            r(json!({"Fn::Or": [false, {"Condition": "IsDev"}]})),
            json!(true)
        );
        assert_eq!(r(json!({"Fn::Base64": "hi"})), json!("aGk="));
        // NoValue drops keys and list items.
        assert_eq!(
            r(
                json!({"a": {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, 1]}, "b": [1, {"Ref": "AWS::NoValue"}]})
            ),
            json!({"b": [1]})
        );
    }

    #[test]
    fn errors_name_the_place() {
        let s = scope();
        let e = s
            .resolve(&json!({"Ref": "Nope"}), "Resources.F.Properties.X")
            .unwrap_err();
        assert!(e.to_string().contains("Resources.F.Properties.X"), "{e}");
        assert!(e.to_string().contains("Nope"), "{e}");
        let e = s
            .resolve(&json!({"Fn::GetAtt": "Q.Missing"}), "Y")
            .unwrap_err();
        assert!(e.to_string().contains("Missing"), "{e}");
        assert!(
            s.resolve(&json!({"Fn::If": ["Unknown", 1, 2]}), "Z")
                .is_err()
        );
        let e = s
            .resolve(&json!({"Fn::Sub": "a-${AWS::NoValue}"}), "S")
            .unwrap_err();
        assert!(e.to_string().contains("no value"), "{e}");
    }

    #[test]
    fn find_in_map_with_intrinsic_keys_and_a_default() {
        let s = scope();
        let r = |v: Value| s.resolve(&v, "X").unwrap();
        assert_eq!(
            r(json!({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Memory"]})),
            json!(256)
        );
        assert_eq!(
            r(json!({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]})),
            json!(128)
        );
        assert_eq!(
            r(json!({"Fn::Select": [1, {"Fn::FindInMap": ["Sizes", "us-east-1", "Zones"]}]})),
            json!("b")
        );
        assert_eq!(
            r(
                json!({"Fn::FindInMap": ["Sizes", "eu-west-1", "Memory", {"DefaultValue": {"Ref": "Stage"}}]})
            ),
            json!("dev")
        );
    }

    #[test]
    fn find_in_map_errors_as_cloudformation_words_them() {
        let s = scope();
        let at = "Resources.F.Properties.MemorySize";
        let e = s
            .resolve(&json!({"Fn::FindInMap": ["Nope", "a", "b"]}), at)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Resources.F.Properties.MemorySize.Fn::FindInMap: Template error: Mapping named 'Nope' is not present in the 'Mappings' section of template"
        );
        let e = s
            .resolve(&json!({"Fn::FindInMap": ["Sizes", "dev", "Zones"]}), at)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(at)
                && e.ends_with("Template error: Unable to get mapping for Sizes::dev::Zones"),
            "{e}"
        );
        let e = s
            .resolve(&json!({"Fn::FindInMap": ["Sizes", "dev"]}), at)
            .unwrap_err()
            .to_string();
        assert!(e.contains("MapName, TopLevelKey, SecondLevelKey"), "{e}");
    }

    #[test]
    fn imports_come_from_overrides() {
        let mut s = scope();
        s.imports.insert("net-VpcId".into(), "vpc-123".into());
        assert_eq!(
            s.resolve(&json!({"Fn::ImportValue": "net-VpcId"}), "X")
                .unwrap(),
            json!("vpc-123")
        );
        assert_eq!(
            s.resolve(
                &json!({"Fn::ImportValue": {"Fn::Sub": "net-${VpcOutput}"}}),
                "X"
            )
            .map_err(|e| e.to_string()),
            Err("X.Fn::ImportValue.Fn::Sub: !Ref VpcOutput: no parameter or resource is called VpcOutput".into())
        );
        let e = s
            .resolve(
                &json!({"Fn::ImportValue": {"Fn::Sub": "${Stage}-Missing"}}),
                "Resources.F.Properties.Vpc",
            )
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Resources.F.Properties.Vpc.Fn::ImportValue: No export named dev-Missing found: pass --import dev-Missing=…"
        );
    }

    #[test]
    fn zones_of_this_region_or_another() {
        let s = scope();
        assert_eq!(
            s.resolve(&json!({"Fn::GetAZs": ""}), "X").unwrap(),
            json!(["us-east-1a", "us-east-1b", "us-east-1c"])
        );
        assert_eq!(
            s.resolve(
                &json!({"Fn::Select": [1, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}),
                "X"
            )
            .unwrap(),
            json!("us-east-1b")
        );
        assert_eq!(
            s.resolve(&json!({"Fn::GetAZs": "eu-west-1"}), "X").unwrap()[2],
            json!("eu-west-1c")
        );
    }
}
