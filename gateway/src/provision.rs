//! Creates the tables and queues an app needs when they are missing; safe to run again.

use std::collections::HashMap;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::config::{ProvisionConfig, QueueConfig, TableConfig};

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
    if let Some(dlq) = &queue.dead_letter {
        // A DLQ keeps messages for the longest time SQS allows (14 days).
        let dlq_url = queue_with(
            client,
            &dlq.name,
            HashMap::from([(QueueAttributeName::MessageRetentionPeriod, "1209600".into())]),
        )
        .await?;
        let arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or("the dead-letter queue has no ARN")?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": dlq.max_receive_count.to_string(),
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    queue_with(client, &queue.name, attributes).await?;
    Ok(())
}
