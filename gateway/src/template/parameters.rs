//! Parameters (overrides, defaults, constraints, pseudo parameters) and Conditions.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::intrinsics::Scope;
use super::{TemplateError, TemplateOptions, section, text};

/// The parameters' values: overrides, else defaults, checked against their
/// constraints as CloudFormation checks them.
pub(super) fn parameters(
    template: &Value,
    options: &TemplateOptions,
) -> Result<BTreeMap<String, Value>, TemplateError> {
    let declared = section(template, "Parameters");
    if let Some(unknown) = options
        .parameters
        .keys()
        .find(|k| !declared.contains_key(*k))
    {
        return Err(TemplateError::at(
            &format!("Parameters.{unknown}"),
            "is overridden but not declared in the template",
        ));
    }
    let mut out = BTreeMap::new();
    for (name, spec) in declared {
        let at = format!("Parameters.{name}");
        let value = match options.parameters.get(name) {
            Some(v) => v.clone(),
            None => text(&spec["Default"]).ok_or_else(|| {
                TemplateError::at(&at, format!("has no Default: pass --parameter {name}=…"))
            })?,
        };
        check(name, spec, &value)?;
        let value = if is_list(spec) {
            Value::Array(value.split(',').map(|s| json!(s.trim())).collect())
        } else {
            Value::String(value)
        };
        out.insert(name.clone(), value);
    }
    out.insert("AWS::Region".into(), json!(options.region));
    out.insert("AWS::AccountId".into(), json!(options.account_id));
    out.insert("AWS::StackName".into(), json!(options.stack_name));
    out.insert(
        "AWS::StackId".into(),
        json!(format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/local",
            options.region, options.account_id, options.stack_name
        )),
    );
    // Fixed, whatever the region: the gateway's own ARNs (function ARNs in
    // contexts, authorizers' method ARNs) and its execute-api host use them.
    out.insert("AWS::Partition".into(), json!("aws"));
    out.insert("AWS::URLSuffix".into(), json!("amazonaws.com"));
    // No SNS topics hear of a local stack's events.
    out.insert("AWS::NotificationARNs".into(), json!([]));
    Ok(out)
}

fn kind(spec: &Value) -> &str {
    spec["Type"].as_str().unwrap_or("String")
}

fn is_list(spec: &Value) -> bool {
    let kind = kind(spec);
    kind.starts_with("List<") || kind == "CommaDelimitedList"
}

/// A number as CloudFormation reads one (`inf` and `NaN` are not).
fn as_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Type, AllowedValues, AllowedPattern, Min/MaxLength and Min/MaxValue, each
/// worded as CloudFormation words it; `ConstraintDescription` replaces the
/// wording of a failed constraint, as it does there.
fn check(name: &str, spec: &Value, value: &str) -> Result<(), TemplateError> {
    let at = format!("Parameters.{name}");
    // A list's items are checked one by one, the whole value against lengths.
    let items: Vec<&str> = if is_list(spec) {
        value.split(',').map(str::trim).collect()
    } else {
        vec![value]
    };
    let numeric = matches!(kind(spec), "Number" | "List<Number>");
    if numeric && items.iter().any(|i| as_number(i).is_none()) {
        return Err(TemplateError::at(
            &at,
            format!("Parameter '{name}' must be a number"),
        ));
    }
    let failed = if numeric {
        number_constraint(name, spec, &items)?
    } else {
        text_constraint(name, spec, value, &items)?
    };
    let failed = failed.or_else(|| allowed_values(name, spec, value));
    match (failed, text(&spec["ConstraintDescription"])) {
        (None, _) => Ok(()),
        (Some(_), Some(description)) => Err(TemplateError::at(
            &at,
            format!("Parameter '{name}' failed to satisfy constraint: {description}"),
        )),
        (Some(message), None) => Err(TemplateError::at(&at, message)),
    }
}

fn allowed_values(name: &str, spec: &Value, value: &str) -> Option<String> {
    let allowed = spec["AllowedValues"].as_array()?;
    if allowed.iter().filter_map(text).any(|a| a == value) {
        return None;
    }
    let listed: Vec<String> = allowed.iter().filter_map(text).collect();
    Some(format!(
        "Parameter '{name}' must be one of AllowedValues [{}]",
        listed.join(", ")
    ))
}

/// A constraint's own value: `MinLength: 3` or `MinLength: "3"`.
fn limit(name: &str, spec: &Value, key: &str) -> Result<Option<(f64, String)>, TemplateError> {
    let Some(given) = text(&spec[key]) else {
        return Ok(None);
    };
    let n = as_number(&given).ok_or_else(|| {
        TemplateError::at(
            &format!("Parameters.{name}.{key}"),
            format!("must be a number, found `{given}`"),
        )
    })?;
    Ok(Some((n, given)))
}

fn number_constraint(
    name: &str,
    spec: &Value,
    items: &[&str],
) -> Result<Option<String>, TemplateError> {
    let numbers: Vec<f64> = items.iter().filter_map(|i| as_number(i)).collect();
    if let Some((min, given)) = limit(name, spec, "MinValue")?
        && numbers.iter().any(|n| *n < min)
    {
        return Ok(Some(format!(
            "Parameter '{name}' must be a number not less than {given}"
        )));
    }
    if let Some((max, given)) = limit(name, spec, "MaxValue")?
        && numbers.iter().any(|n| *n > max)
    {
        return Ok(Some(format!(
            "Parameter '{name}' must be a number not greater than {given}"
        )));
    }
    Ok(None)
}

fn text_constraint(
    name: &str,
    spec: &Value,
    value: &str,
    items: &[&str],
) -> Result<Option<String>, TemplateError> {
    let length = value.chars().count() as f64;
    if let Some((min, given)) = limit(name, spec, "MinLength")?
        && length < min
    {
        return Ok(Some(format!(
            "Parameter '{name}' must contain at least {given} characters"
        )));
    }
    if let Some((max, given)) = limit(name, spec, "MaxLength")?
        && length > max
    {
        return Ok(Some(format!(
            "Parameter '{name}' must contain at most {given} characters"
        )));
    }
    let Some(pattern) = text(&spec["AllowedPattern"]) else {
        return Ok(None);
    };
    // The whole value must match. CloudFormation's patterns are Java's; the
    // common ones (classes, anchors, counts) read the same here.
    let whole = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        TemplateError::at(
            &format!("Parameters.{name}.AllowedPattern"),
            format!("is not a pattern wsgate can read: {e}"),
        )
    })?;
    Ok(items
        .iter()
        .any(|i| !whole.is_match(i))
        .then(|| format!("Parameter '{name}' must match pattern {pattern}")))
}

/// Conditions may use each other; they are evaluated until none is left.
pub(super) fn conditions(template: &Value, scope: &mut Scope) -> Result<(), TemplateError> {
    let mut pending: Vec<(&String, &Value)> = section(template, "Conditions").iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut last_error = None;
        pending.retain(
            |(name, body)| match scope.resolve(body, &format!("Conditions.{name}")) {
                Ok(Value::Bool(b)) => {
                    scope.conditions.insert((*name).clone(), b);
                    false
                }
                Ok(other) => {
                    last_error = Some(TemplateError::at(
                        &format!("Conditions.{name}"),
                        format!("is not a condition: {other}"),
                    ));
                    true
                }
                Err(e) => {
                    last_error = Some(e);
                    true
                }
            },
        );
        if pending.len() == before {
            return Err(last_error.expect("something failed"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(spec: Value, value: &str) -> Result<Value, String> {
        let template = json!({"Parameters": {"P": spec}});
        let options = TemplateOptions {
            parameters: BTreeMap::from([("P".to_string(), value.to_string())]),
            ..TemplateOptions::default()
        };
        parameters(&template, &options)
            .map(|p| p["P"].clone())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lengths() {
        let spec = json!({"Type": "String", "MinLength": 3, "MaxLength": "5"});
        assert_eq!(value_of(spec.clone(), "abc").unwrap(), "abc");
        assert_eq!(value_of(spec.clone(), "abcde").unwrap(), "abcde");
        assert_eq!(
            value_of(spec.clone(), "ab").unwrap_err(),
            "Parameters.P: Parameter 'P' must contain at least 3 characters"
        );
        assert_eq!(
            value_of(spec, "abcdef").unwrap_err(),
            "Parameters.P: Parameter 'P' must contain at most 5 characters"
        );
        // Characters, not bytes.
        assert!(value_of(json!({"MaxLength": 3}), "äöü").is_ok());
        let e = value_of(json!({"MinLength": "three"}), "x").unwrap_err();
        assert!(e.starts_with("Parameters.P.MinLength: "), "{e}");
    }

    #[test]
    fn patterns_match_the_whole_value() {
        let spec = json!({"AllowedPattern": "[a-z]+"});
        assert!(value_of(spec.clone(), "abc").is_ok());
        assert_eq!(
            value_of(spec.clone(), "abc1").unwrap_err(),
            "Parameters.P: Parameter 'P' must match pattern [a-z]+"
        );
        assert!(value_of(spec, "1abc").is_err());
        // Alternatives are anchored as a whole.
        assert!(value_of(json!({"AllowedPattern": "a|b"}), "ab").is_err());
        // A list's items, each.
        let list = json!({"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+"});
        assert_eq!(value_of(list.clone(), "a, b").unwrap(), json!(["a", "b"]));
        assert!(value_of(list, "a,B").is_err());
        let e = value_of(json!({"AllowedPattern": "("}), "x").unwrap_err();
        assert!(e.starts_with("Parameters.P.AllowedPattern: "), "{e}");
    }

    #[test]
    fn numbers_and_their_bounds() {
        let spec = json!({"Type": "Number", "MinValue": 1, "MaxValue": 100});
        assert_eq!(value_of(spec.clone(), "1").unwrap(), "1");
        assert!(value_of(spec.clone(), "99.5").is_ok());
        assert_eq!(
            value_of(spec.clone(), "0").unwrap_err(),
            "Parameters.P: Parameter 'P' must be a number not less than 1"
        );
        assert_eq!(
            value_of(spec.clone(), "101").unwrap_err(),
            "Parameters.P: Parameter 'P' must be a number not greater than 100"
        );
        for not_a_number in ["ten", "", "NaN", "inf"] {
            assert_eq!(
                value_of(spec.clone(), not_a_number).unwrap_err(),
                "Parameters.P: Parameter 'P' must be a number"
            );
        }
        let list = json!({"Type": "List<Number>", "MaxValue": 10});
        assert!(value_of(list.clone(), "1,2").is_ok());
        assert!(
            value_of(list.clone(), "1,20")
                .unwrap_err()
                .contains("not greater than 10")
        );
        assert!(
            value_of(list, "1,x")
                .unwrap_err()
                .ends_with("must be a number")
        );
    }

    #[test]
    fn a_constraint_description_replaces_the_wording() {
        let said = "Parameter 'P' failed to satisfy constraint: lowercase, 3 to 5 letters";
        for (spec, value) in [
            (json!({"AllowedPattern": "[a-z]+"}), "ABC"),
            (json!({"MinLength": 3}), "ab"),
            (json!({"Type": "Number", "MaxValue": 5}), "6"),
            (json!({"AllowedValues": ["a"]}), "b"),
        ] {
            let mut spec = spec;
            spec["ConstraintDescription"] = json!("lowercase, 3 to 5 letters");
            assert_eq!(
                value_of(spec, value).unwrap_err(),
                format!("Parameters.P: {said}")
            );
        }
        // Not a type error: that is not a constraint.
        let spec = json!({"Type": "Number", "ConstraintDescription": "small"});
        assert!(
            value_of(spec, "x")
                .unwrap_err()
                .ends_with("must be a number")
        );
        assert_eq!(
            value_of(json!({"AllowedValues": ["a", "b"]}), "c").unwrap_err(),
            "Parameters.P: Parameter 'P' must be one of AllowedValues [a, b]"
        );
    }

    #[test]
    fn pseudo_parameters() {
        let options = TemplateOptions {
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
            stack_name: "chat".into(),
            ..TemplateOptions::default()
        };
        let p = parameters(&json!({"Resources": {}}), &options).unwrap();
        assert_eq!(p["AWS::Region"], "eu-west-1");
        assert_eq!(p["AWS::AccountId"], "123456789012");
        assert_eq!(p["AWS::StackName"], "chat");
        assert_eq!(
            p["AWS::StackId"],
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/chat/local"
        );
        assert_eq!(p["AWS::Partition"], "aws");
        assert_eq!(p["AWS::URLSuffix"], "amazonaws.com");
        assert_eq!(p["AWS::NotificationARNs"], json!([]));
    }
}
