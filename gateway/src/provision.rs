//! Creates the tables, queues, topics and state machines an app needs when
//! they are missing; safe to run again. DynamoDB and SQS through their SDKs;
//! SNS and Step Functions through the signed client the AWS integrations use.

use std::collections::HashMap;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::config::{ProvisionConfig, QueueConfig, StateMachineConfig, TableConfig, TopicConfig};
use crate::integrations::{Outgoing, Service, ServiceUri, Signer};

#[derive(Debug, thiserror::Error)]
#[error("cannot provision {what} at {endpoint}: {message}")]
pub struct ProvisionError {
    what: String,
    endpoint: String,
    message: String,
}

/// Makes every table and queue of `plan` exist with its settings.
pub async fn provision(
    sdk: &aws_config::SdkConfig,
    plan: &ProvisionConfig,
) -> Result<(), ProvisionError> {
    let endpoint = sdk
        .endpoint_url()
        .unwrap_or("AWS (the default endpoints)")
        .to_string();
    let fail = |what: String| {
        let endpoint = endpoint.clone();
        move |message: String| ProvisionError {
            what,
            endpoint,
            message,
        }
    };
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    for table in &plan.tables {
        ensure_table(&dynamo, table)
            .await
            .map_err(fail(format!("table {}", table.name)))?;
    }
    let sqs = aws_sdk_sqs::Client::new(sdk);
    for queue in &plan.queues {
        ensure_queue(&sqs, queue)
            .await
            .map_err(fail(format!("queue {}", queue.name)))?;
    }
    if plan.topics.is_empty() && plan.state_machines.is_empty() {
        return Ok(());
    }
    let aws = crate::config::AwsConfig {
        region: sdk.region().map_or("us-east-1".into(), |r| r.to_string()),
        endpoint_url: sdk.endpoint_url().map(str::to_string),
        account_id: String::new(),
    };
    let signer = Signer::new(&aws);
    for topic in &plan.topics {
        ensure_topic(&aws.region, &signer, &sqs, topic)
            .await
            .map_err(fail(format!("topic {}", topic.name)))?;
    }
    for machine in &plan.state_machines {
        ensure_state_machine(&aws.region, &signer, machine)
            .await
            .map_err(fail(format!("state machine {}", machine.name)))?;
    }
    Ok(())
}

/// One action of a service, signed; its answer's body, or the error it gave.
async fn action(
    region: &str,
    signer: &std::sync::Arc<Signer>,
    service: &str,
    action: &str,
    body: String,
) -> Result<String, String> {
    let uri = ServiceUri::parse(&format!(
        "arn:aws:apigateway:{region}:{service}:action/{action}"
    ))
    .map_err(|e| e.to_string())?;
    let outgoing = Outgoing {
        body,
        ..Outgoing::default()
    };
    let reply = Service::new(uri, None, signer.clone())
        .call(outgoing, std::time::Duration::from_secs(30))
        .await?;
    if reply.status >= 300 {
        return Err(format!("{action}: {} {}", reply.status, reply.text()));
    }
    Ok(reply.text())
}

/// The text of the first `<name>…</name>` in an XML answer (query services answer in XML).
fn xml_value(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

/// The topic (CreateTopic is idempotent) and its queue subscriptions.
async fn ensure_topic(
    region: &str,
    signer: &std::sync::Arc<Signer>,
    sqs: &aws_sdk_sqs::Client,
    topic: &TopicConfig,
) -> Result<(), String> {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("Name", &topic.name)
        .finish();
    let answer = action(region, signer, "sns", "CreateTopic", body).await?;
    let topic_arn = xml_value(&answer, "TopicArn").ok_or("CreateTopic gave no TopicArn")?;
    for subscription in &topic.queues {
        let url = sqs
            .get_queue_url()
            .queue_name(&subscription.queue)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?
            .queue_url
            .unwrap_or_default();
        let queue_arn = queue_arn(sqs, &url).await?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("TopicArn", &topic_arn)
            .append_pair("Protocol", "sqs")
            .append_pair("Endpoint", &queue_arn);
        if subscription.raw_message_delivery {
            form.append_pair("Attributes.entry.1.key", "RawMessageDelivery")
                .append_pair("Attributes.entry.1.value", "true");
        }
        action(region, signer, "sns", "Subscribe", form.finish()).await?;
    }
    tracing::info!("topic {} ready", topic.name);
    Ok(())
}

/// The state machine, created, or updated to the definition when it exists.
async fn ensure_state_machine(
    region: &str,
    signer: &std::sync::Arc<Signer>,
    machine: &StateMachineConfig,
) -> Result<(), String> {
    // The role is required by the API and not enforced by local backends.
    let role = "arn:aws:iam::000000000000:role/wsgate-local";
    let create = serde_json::json!({
        "name": machine.name,
        "definition": machine.definition,
        "roleArn": role,
        "type": machine.kind,
    });
    match action(
        region,
        signer,
        "states",
        "CreateStateMachine",
        create.to_string(),
    )
    .await
    {
        Ok(_) => {}
        Err(e) if e.contains("AlreadyExists") => {
            let list = action(region, signer, "states", "ListStateMachines", "{}".into()).await?;
            let list: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
            let arn = list["stateMachines"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"] == machine.name.as_str())
                .and_then(|m| m["stateMachineArn"].as_str())
                .ok_or("it exists but is not listed")?
                .to_string();
            let update =
                serde_json::json!({"stateMachineArn": arn, "definition": machine.definition});
            action(
                region,
                signer,
                "states",
                "UpdateStateMachine",
                update.to_string(),
            )
            .await?;
        }
        Err(e) => return Err(e),
    }
    tracing::info!("state machine {} ready", machine.name);
    Ok(())
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn keys(partition: &str, sort: Option<&String>) -> Vec<KeySchemaElement> {
    let mut out = vec![key(partition, KeyType::Hash)];
    out.extend(sort.map(|s| key(s, KeyType::Range)));
    out
}

async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    table: &TableConfig,
) -> Result<(), String> {
    let described = client.describe_table().table_name(&table.name).send().await;
    match described {
        Ok(_) => {
            tracing::info!("table {} exists", table.name);
            return Ok(());
        }
        Err(e) => {
            let e = e.into_service_error();
            if !e.is_resource_not_found_exception() {
                return Err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string());
            }
        }
    }
    // Every key attribute is a string; each is defined once.
    let mut names: Vec<&String> = vec![&table.partition_key];
    names.extend(table.sort_key.as_ref());
    for index in &table.indexes {
        names.push(&index.partition_key);
        names.extend(index.sort_key.as_ref());
    }
    names.sort();
    names.dedup();
    let definitions = names
        .into_iter()
        .map(|n| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
        })
        .collect();
    let indexes: Vec<GlobalSecondaryIndex> = table
        .indexes
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(&i.name)
                .set_key_schema(Some(keys(&i.partition_key, i.sort_key.as_ref())))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("name, keys and projection are set")
        })
        .collect();
    let created = client
        .create_table()
        .table_name(&table.name)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(keys(&table.partition_key, table.sort_key.as_ref())))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Another process created it meanwhile: that is what we wanted.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
    }
    client
        .wait_until_table_exists()
        .table_name(&table.name)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    tracing::info!("table {} created", table.name);
    Ok(())
}

/// A queue's ARN, as SQS gives it.
async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| format!("queue {url} has no ARN"))
}

/// The URL of a queue, created with `attributes` if missing, updated to them otherwise.
async fn queue_with(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, String> {
    fn err(e: impl std::error::Error) -> String {
        aws_sdk_sqs::error::DisplayErrorContext(e).to_string()
    }
    match client.get_queue_url().queue_name(name).send().await {
        Ok(out) => {
            let url = out.queue_url.unwrap_or_default();
            let mut attributes = attributes;
            // Fixed at creation: SQS refuses to set it again.
            attributes.remove(&QueueAttributeName::FifoQueue);
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(err)?;
            tracing::info!("queue {name} exists");
            Ok(url)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            let out = client
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(err)?;
            tracing::info!("queue {name} created");
            Ok(out.queue_url.unwrap_or_default())
        }
        Err(e) => Err(err(e)),
    }
}

async fn ensure_queue(client: &aws_sdk_sqs::Client, queue: &QueueConfig) -> Result<(), String> {
    let mut attributes = HashMap::from([(
        QueueAttributeName::VisibilityTimeout,
        queue.visibility_timeout_secs.to_string(),
    )]);
    if queue.fifo {
        attributes.insert(QueueAttributeName::FifoQueue, "true".into());
        attributes.insert(
            QueueAttributeName::ContentBasedDeduplication,
            queue.content_based_deduplication.to_string(),
        );
    }
    if let Some(dlq) = &queue.dead_letter {
        // A DLQ keeps messages for the longest time SQS allows (14 days).
        let dlq_url = queue_with(
            client,
            &dlq.name,
            HashMap::from([(QueueAttributeName::MessageRetentionPeriod, "1209600".into())]),
        )
        .await?;
        let arn = queue_arn(client, &dlq_url).await?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": dlq.max_receive_count.to_string(),
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    queue_with(client, &queue.name, attributes).await?;
    Ok(())
}
