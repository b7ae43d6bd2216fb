//! SQS messages as the records of an `SqsEvent`, and the function's answer about them.

use std::collections::HashSet;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Map, Value, json};

/// One record of an `SqsEvent`, shaped as Lambda's event source mapping sends it.
pub fn record(message: &Message, queue_arn: &str, region: &str) -> Value {
    let mut attributes = Map::new();
    for (name, value) in message.attributes().into_iter().flatten() {
        attributes.insert(name.as_str().to_string(), value.clone().into());
    }
    // Lambda always sends these four.
    for name in [
        MessageSystemAttributeName::ApproximateReceiveCount,
        MessageSystemAttributeName::SentTimestamp,
        MessageSystemAttributeName::SenderId,
        MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
    ] {
        attributes
            .entry(name.as_str().to_string())
            .or_insert_with(|| Value::String(String::new()));
    }
    let mut message_attributes = Map::new();
    for (name, value) in message.message_attributes().into_iter().flatten() {
        let binary = |b: &aws_sdk_sqs::primitives::Blob| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(b.as_ref())
        };
        message_attributes.insert(
            name.clone(),
            json!({
                "stringValue": value.string_value(),
                "binaryValue": value.binary_value().map(binary),
                "stringListValues": value.string_list_values(),
                "binaryListValues": value.binary_list_values().iter().map(binary).collect::<Vec<_>>(),
                "dataType": value.data_type(),
            }),
        );
    }
    json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
}

/// Which messages of a batch failed, by id, from a `{"batchItemFailures":[…]}` response.
/// As on AWS, a response that cannot be read, or that names an id that is not in
/// the batch, fails the whole batch; an empty or null response fails nothing.
pub fn failed_ids(response: &[u8], batch: &HashSet<String>) -> Result<HashSet<String>, String> {
    let value: Value =
        serde_json::from_slice(response).map_err(|_| "the response is not JSON".to_string())?;
    let failures = match &value {
        Value::Null => return Ok(HashSet::new()),
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("batchItemFailures is not a list".into()),
        },
        _ => return Ok(HashSet::new()),
    };
    let mut ids = HashSet::new();
    for item in failures {
        match item["itemIdentifier"].as_str() {
            Some(id) if batch.contains(id) => {
                ids.insert(id.to_string());
            }
            _ => return Err(format!("batchItemFailures names an unknown item: {item}")),
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_responses() {
        let batch: HashSet<String> = ["a", "b"].map(String::from).into();
        let ok = |r: &str| failed_ids(r.as_bytes(), &batch);
        assert!(ok("null").unwrap().is_empty());
        assert!(ok(r#"{"batchItemFailures":[]}"#).unwrap().is_empty());
        assert_eq!(
            ok(r#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#).unwrap(),
            ["b".to_string()].into()
        );
        assert!(ok(r#"{"batchItemFailures":[{"itemIdentifier":"zz"}]}"#).is_err());
        assert!(ok(r#"{"batchItemFailures":[{}]}"#).is_err());
        assert!(ok("garbage").is_err());
    }

    #[test]
    fn records_deserialize_as_sqs_messages() {
        let m = Message::builder()
            .message_id("id-1")
            .receipt_handle("rh")
            .body("hello")
            .md5_of_body("5d41402abc4b2a76b9719d911017c592")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .build();
        let r = record(&m, "arn:aws:sqs:us-east-1:000000000000:Q", "us-east-1");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(r["body"], "hello");
    }
}
