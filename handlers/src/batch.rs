//! SQS batches: handle each record on its own, report the ones that failed.

use std::future::Future;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

/// Runs `handle` on every record, concurrently, and reports the failures as
/// batch item failures, so one bad record never blocks or redelivers the rest.
pub async fn each_record<F, Fut, E>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let work = event.records.into_iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let done = handle(record);
        async move { (id, done.await) }
    });
    let failed = futures::future::join_all(work)
        .await
        .into_iter()
        .filter_map(|(id, result)| result.err().map(|e| (id, e.to_string())));
    failures(failed)
}

/// The batch response naming the records that failed (message id, why), each logged.
pub fn failures(failed: impl IntoIterator<Item = (String, String)>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (id, e) in failed {
        tracing::warn!(message_id = %id, "record failed: {e}");
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}
