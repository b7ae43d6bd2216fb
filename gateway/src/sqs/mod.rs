//! SQS event source mappings: poll a queue, invoke a function with batches,
//! delete what it handled. What it did not handle becomes visible again after
//! the queue's visibility timeout, and the queue's redrive policy moves poison
//! messages to the dead-letter queue, so nothing is lost.

mod records;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use bytes::Bytes;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::config::{AwsConfig, SqsMappingConfig};
use crate::lambda::{Function, InvokeError};
use crate::metrics::{Metrics, QueueLabels};

/// SQS returns at most ten messages per receive.
const MAX_RECEIVE: usize = 10;
/// Long polling, as Lambda's pollers do.
const LONG_POLL_SECS: i32 = 20;
/// How long a poller whose batch was throttled waits before it receives again.
const THROTTLE_BACKOFF: Duration = Duration::from_secs(1);

pub struct EventSource {
    pub mapping: SqsMappingConfig,
    pub function: Arc<Function>,
    client: Client,
    aws: AwsConfig,
    metrics: Arc<Metrics>,
    /// Its invocations' lane in the function's queue: while the function's
    /// processes are all busy, the mapping takes turns with connections and
    /// other mappings (it never leaves).
    owner: Arc<crate::lambda::Owner>,
}

impl EventSource {
    pub fn new(
        mapping: SqsMappingConfig,
        function: Arc<Function>,
        sdk: &aws_config::SdkConfig,
        aws: AwsConfig,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            mapping,
            function,
            client: Client::new(sdk),
            aws,
            metrics,
            owner: Arc::default(),
        })
    }

    /// Starts the mapping's pollers; they stop when `stop` is cancelled.
    pub fn spawn(
        self: &Arc<Self>,
        stop: &CancellationToken,
        tasks: &tokio_util::task::TaskTracker,
    ) {
        tracing::info!(
            queue = %self.mapping.queue,
            function = %self.function.name(),
            pollers = self.mapping.max_concurrency,
            "SQS event source mapping"
        );
        for _ in 0..self.mapping.max_concurrency {
            tasks.spawn(self.clone().poll(stop.clone()));
        }
    }

    /// Retries with a growing pause while the backend is unreachable, logging once per outage.
    async fn pause(&self, failures: &mut u32, what: &str, error: String) {
        if *failures == 0 {
            tracing::warn!(queue = %self.mapping.queue, "{what}: {error}; retrying");
        }
        *failures += 1;
        sleep(Duration::from_millis(200 * u64::from((*failures).min(25)))).await;
    }

    async fn queue_url(&self, stop: &CancellationToken) -> Option<String> {
        let queue = &self.mapping.queue;
        if queue.starts_with("http://") || queue.starts_with("https://") {
            return Some(queue.clone());
        }
        // An ARN's last part is the queue's name.
        let name = queue.rsplit(':').next().unwrap_or(queue);
        let mut failures = 0;
        loop {
            let lookup = self.client.get_queue_url().queue_name(name).send();
            tokio::select! {
                r = lookup => match r {
                    Ok(out) => return out.queue_url,
                    Err(e) => {
                        let e = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                        self.pause(&mut failures, "cannot find the queue", e).await;
                    }
                },
                _ = stop.cancelled() => return None,
            }
        }
    }

    /// The queue's ARN as SQS reports it (the backend decides the account id).
    async fn queue_arn(&self, url: &str) -> String {
        let reported = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .ok()
            .and_then(|out| out.attributes)
            .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn));
        reported.unwrap_or_else(|| crate::sdk::queue_arn(&self.aws, url))
    }

    async fn poll(self: Arc<Self>, stop: CancellationToken) {
        let Some(url) = self.queue_url(&stop).await else {
            return;
        };
        let arn = self.queue_arn(&url).await;
        tracing::debug!(queue = %url, function = %self.function.name(), "polling");
        while !stop.is_cancelled() {
            let Some(batch) = self.gather(&url, &stop).await else {
                return;
            };
            self.deliver(&url, &arn, batch).await;
        }
    }

    /// Receives up to `batch_size` messages, waiting at most the batching window
    /// once the first has arrived. None when stopped.
    async fn gather(&self, url: &str, stop: &CancellationToken) -> Option<Vec<Message>> {
        let window = Duration::from_secs(self.mapping.batching_window_secs);
        let mut batch: Vec<Message> = Vec::new();
        let mut first_at: Option<Instant> = None;
        let mut failures = 0;
        loop {
            let wait = match first_at {
                None => LONG_POLL_SECS,
                Some(t) => window.saturating_sub(t.elapsed()).as_secs() as i32,
            };
            let want = (self.mapping.batch_size - batch.len()).min(MAX_RECEIVE) as i32;
            let receive = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(want)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send();
            let received = tokio::select! {
                r = receive => r,
                // Messages received but not yet handed on become visible again.
                _ = stop.cancelled() => return None,
            };
            match received {
                Ok(out) => {
                    failures = 0;
                    let got = out.messages.unwrap_or_default();
                    if !got.is_empty() && first_at.is_none() {
                        first_at = Some(Instant::now());
                    }
                    batch.extend(got);
                }
                Err(e) => {
                    let e = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                    self.pause(&mut failures, "cannot receive", e).await;
                }
            }
            let full = batch.len() >= self.mapping.batch_size;
            let window_over = first_at.is_some_and(|t| t.elapsed() >= window);
            if !batch.is_empty() && (full || window_over) {
                return Some(batch);
            }
        }
    }

    /// Invokes the function with a batch and deletes what it handled.
    async fn deliver(&self, url: &str, arn: &str, batch: Vec<Message>) {
        let records: Vec<_> = batch
            .iter()
            .map(|m| records::record(m, arn, &self.aws.region))
            .collect();
        let event = serde_json::json!({ "Records": records });
        let ids: HashSet<String> = batch
            .iter()
            .filter_map(|m| m.message_id().map(str::to_string))
            .collect();
        let name = self.function.name();
        let failed = match self
            .function
            .invoke_for(Bytes::from(event.to_string()), Some(self.owner.clone()))
            .await
        {
            Err(e @ InvokeError::Throttled { .. }) => {
                self.count(batch.len(), "throttled", 0);
                // As Lambda's pollers: the batch goes back to the queue (visible
                // again after its visibility timeout) and this poller backs off.
                tracing::debug!(queue = %url, function = %name, "batch of {} throttled, will be retried: {e}", batch.len());
                sleep(THROTTLE_BACKOFF).await;
                return;
            }
            Err(e) => {
                tracing::warn!(queue = %url, function = %name, "batch of {} failed, will be retried: {e}", batch.len());
                self.count(batch.len(), "failed", 0);
                return;
            }
            Ok(_) if !self.mapping.report_batch_item_failures => HashSet::new(),
            Ok(response) => match records::failed_ids(&response, &ids) {
                Ok(failed) => failed,
                Err(e) => {
                    tracing::warn!(queue = %url, function = %name, "whole batch failed: {e}");
                    self.count(batch.len(), "failed", 0);
                    return;
                }
            },
        };
        if !failed.is_empty() {
            tracing::info!(queue = %url, function = %name, "{} of {} messages failed and will be retried", failed.len(), batch.len());
        }
        let done: Vec<&Message> = batch
            .iter()
            .filter(|m| m.message_id().is_some_and(|id| !failed.contains(id)))
            .collect();
        let outcome = if failed.is_empty() {
            "succeeded"
        } else {
            "partial"
        };
        self.count(batch.len(), outcome, done.len());
        self.delete(url, &done).await;
    }

    /// One batch's outcome, and its records: `handled` (then deleted) or `retried`.
    fn count(&self, records: usize, outcome: &str, handled: usize) {
        let labels = |outcome: &str| QueueLabels {
            queue: self.mapping.queue.clone(),
            outcome: outcome.to_string(),
        };
        let m = &self.metrics;
        m.sqs_batches.get_or_create(&labels(outcome)).inc();
        m.sqs_records
            .get_or_create(&labels("handled"))
            .inc_by(handled as u64);
        m.sqs_records
            .get_or_create(&labels("retried"))
            .inc_by((records - handled) as u64);
    }

    async fn delete(&self, url: &str, messages: &[&Message]) {
        for chunk in messages.chunks(MAX_RECEIVE) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle()?)
                        .build()
                        .ok()
                })
                .collect();
            let result = self
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await;
            // A message that was handled but not deleted is delivered again (at least once).
            match result {
                Ok(out) if !out.failed.is_empty() => {
                    tracing::warn!(queue = %url, "{} handled messages could not be deleted and will be delivered again", out.failed.len())
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    queue = %url,
                    "handled messages could not be deleted and will be delivered again: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                ),
            }
        }
    }
}
