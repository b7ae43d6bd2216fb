//! Parameters (overrides, defaults, AllowedValues, pseudo parameters) and Conditions.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::intrinsics::Scope;
use super::{TemplateError, TemplateOptions, section, text};

/// The parameters' values: overrides, else defaults; AllowedValues are checked.
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
        if let Some(allowed) = spec["AllowedValues"].as_array()
            && !allowed.iter().filter_map(text).any(|a| a == value)
        {
            return Err(TemplateError::at(
                &at,
                format!(
                    "`{value}` is not one of its AllowedValues {}",
                    Value::Array(allowed.clone())
                ),
            ));
        }
        if spec["Type"]
            .as_str()
            .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList")
        {
            out.insert(
                name.clone(),
                Value::Array(value.split(',').map(|s| json!(s.trim())).collect()),
            );
        } else {
            out.insert(name.clone(), Value::String(value));
        }
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
