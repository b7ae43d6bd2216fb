//! Tables and queues (with their dead-letter queues) to provision.

use serde_json::Value;

use super::resources::Resources;
use super::{TemplateError, number, required, text};
use crate::config::{DeadLetterConfig, IndexConfig, ProvisionConfig, QueueConfig, TableConfig};

pub(super) fn storage(res: &Resources) -> Result<ProvisionConfig, TemplateError> {
    // Tables and queues to create.
    let mut provision = ProvisionConfig::default();
    for t in res.of("AWS::DynamoDB::Table") {
        let at = format!("Resources.{}.Properties", t.id);
        let p = &res.resolved[t.id];
        let keys = |schema: &Value, at: &str| -> Result<(String, Option<String>), TemplateError> {
            let items = schema
                .as_array()
                .ok_or_else(|| TemplateError::at(at, "is required"))?;
            let find = |kind: &str| {
                items
                    .iter()
                    .find(|k| k["KeyType"] == kind)
                    .and_then(|k| text(&k["AttributeName"]))
            };
            Ok((
                find("HASH").ok_or_else(|| TemplateError::at(at, "has no HASH key"))?,
                find("RANGE"),
            ))
        };
        let (partition_key, sort_key) = keys(&p["KeySchema"], &format!("{at}.KeySchema"))?;
        let mut indexes = Vec::new();
        for (i, gsi) in p["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}.GlobalSecondaryIndexes[{i}]");
            let (partition_key, sort_key) = keys(&gsi["KeySchema"], &format!("{at}.KeySchema"))?;
            indexes.push(IndexConfig {
                name: required(gsi, "IndexName", &at)?,
                partition_key,
                sort_key,
            });
        }
        let name = res.scope.resources[t.id].reference.clone();
        provision.tables.push(TableConfig {
            name,
            partition_key,
            sort_key,
            indexes,
        });
    }
    for q in res.of("AWS::SQS::Queue") {
        let at = format!("Resources.{}.Properties", q.id);
        let p = &res.resolved[q.id];
        let dead_letter = match &p["RedrivePolicy"] {
            Value::Null => None,
            policy => {
                let policy = match policy {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                    other => other.clone(),
                };
                let arn = required(
                    &policy,
                    "deadLetterTargetArn",
                    &format!("{at}.RedrivePolicy"),
                )?;
                let count = number(&policy, "maxReceiveCount", &format!("{at}.RedrivePolicy"))?
                    .unwrap_or(3);
                Some(DeadLetterConfig {
                    name: arn.rsplit(':').next().unwrap_or(&arn).to_string(),
                    max_receive_count: count as u32,
                })
            }
        };
        provision.queues.push(QueueConfig {
            name: res.scope.resources[q.id].attributes["QueueName"].clone(),
            visibility_timeout_secs: number(p, "VisibilityTimeout", &at)?.unwrap_or(30),
            dead_letter,
        });
    }
    // A DLQ is provisioned with its queue; listing it again would be harmless but noisy.
    let dlqs: Vec<String> = provision
        .queues
        .iter()
        .filter_map(|q| q.dead_letter.as_ref().map(|d| d.name.clone()))
        .collect();
    provision
        .queues
        .retain(|q| !dlqs.contains(&q.name) || q.dead_letter.is_some());
    Ok(provision)
}
