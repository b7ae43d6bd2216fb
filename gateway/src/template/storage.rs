//! Tables, queues (with their dead-letter queues), topics and state machines to provision.

use serde_json::Value;

use super::resources::Resources;
use super::{TemplateError, number, required, text};
use crate::config::{
    DeadLetterConfig, IndexConfig, ProvisionConfig, QueueConfig, QueueSubscription,
    StateMachineConfig, TableConfig, TopicConfig,
};

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
            fifo: p["FifoQueue"] == true || p["FifoQueue"] == "true",
            content_based_deduplication: p["ContentBasedDeduplication"] == true
                || p["ContentBasedDeduplication"] == "true",
        });
    }
    // SAM's SimpleTable: one string key `id` unless PrimaryKey says otherwise;
    // keys other than strings are not emulated (the tables here have string keys).
    for t in res.of("AWS::Serverless::SimpleTable") {
        let at = format!("Resources.{}.Properties.PrimaryKey", t.id);
        let key = &res.resolved[t.id]["PrimaryKey"];
        let partition_key = match key {
            Value::Null => "id".to_string(),
            key => required(key, "Name", &at)?,
        };
        provision.tables.push(TableConfig {
            name: res.scope.resources[t.id].reference.clone(),
            partition_key,
            sort_key: None,
            indexes: Vec::new(),
        });
    }
    topics(res, &mut provision)?;
    for m in res.of("AWS::StepFunctions::StateMachine") {
        let at = format!("Resources.{}.Properties", m.id);
        let p = &res.resolved[m.id];
        let definition = match (&p["Definition"], &p["DefinitionString"]) {
            (Value::Object(_), _) => p["Definition"].to_string(),
            (_, Value::String(s)) => s.clone(),
            _ => {
                return Err(TemplateError::at(
                    &at,
                    "needs Definition or DefinitionString",
                ));
            }
        };
        // `${Name}` placeholders take DefinitionSubstitutions, as CloudFormation does.
        let definition = p["DefinitionSubstitutions"]
            .as_object()
            .into_iter()
            .flatten()
            .fold(definition, |d, (k, v)| {
                d.replace(&format!("${{{k}}}"), &text(v).unwrap_or_default())
            });
        provision.state_machines.push(StateMachineConfig {
            name: res.scope.resources[m.id].attributes["Name"].clone(),
            definition,
            kind: text(&p["StateMachineType"]).unwrap_or_else(|| "STANDARD".into()),
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

/// SNS topics with their SQS subscriptions: a topic's own `Subscription` list
/// and `AWS::SNS::Subscription` resources. Other protocols are not emulated.
fn topics(res: &Resources, provision: &mut ProvisionConfig) -> Result<(), TemplateError> {
    let queue_name = |arn: &str| arn.rsplit(':').next().unwrap_or(arn).to_string();
    for t in res.of("AWS::SNS::Topic") {
        let p = &res.resolved[t.id];
        let queues = p["Subscription"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["Protocol"] == "sqs")
            .filter_map(|s| text(&s["Endpoint"]))
            .map(|arn| QueueSubscription {
                queue: queue_name(&arn),
                raw_message_delivery: false,
            })
            .collect();
        provision.topics.push(TopicConfig {
            name: res.scope.resources[t.id].attributes["TopicName"].clone(),
            queues,
        });
    }
    for s in res.of("AWS::SNS::Subscription") {
        let at = format!("Resources.{}.Properties", s.id);
        let p = &res.resolved[s.id];
        if p["Protocol"] != "sqs" {
            continue;
        }
        let topic = queue_name(&required(p, "TopicArn", &at)?);
        let subscription = QueueSubscription {
            queue: queue_name(&required(p, "Endpoint", &at)?),
            raw_message_delivery: p["RawMessageDelivery"] == true
                || p["RawMessageDelivery"] == "true",
        };
        match provision.topics.iter_mut().find(|t| t.name == topic) {
            Some(t) => t.queues.push(subscription),
            None => provision.topics.push(TopicConfig {
                name: topic,
                queues: vec![subscription],
            }),
        }
    }
    Ok(())
}
