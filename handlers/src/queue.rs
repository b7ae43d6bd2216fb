//! Sending JSON messages to a queue (`NotifyConnection`, `CloseUnauthorized`).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use tokio::sync::OnceCell;

use serde::Serialize;

/// SQS takes at most 10 messages per batch call.
const BATCH: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error("queue {queue}: {message}")]
pub struct QueueError {
    queue: String,
    message: String,
}

pub struct Queue {
    client: Client,
    /// A queue name or URL.
    queue: String,
    url: OnceCell<String>,
}

impl Queue {
    pub fn new(config: &aws_config::SdkConfig, queue: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            queue: queue.into(),
            url: OnceCell::new(),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> QueueError {
        QueueError {
            queue: self.queue.clone(),
            message: message.to_string(),
        }
    }

    /// The queue's URL, looked up once when a name was given.
    async fn url(&self) -> Result<&str, QueueError> {
        self.url
            .get_or_try_init(|| async {
                if self.queue.starts_with("http://") || self.queue.starts_with("https://") {
                    return Ok(self.queue.clone());
                }
                let out = self
                    .client
                    .get_queue_url()
                    .queue_name(&self.queue)
                    .send()
                    .await
                    .map_err(|e| self.error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
                out.queue_url
                    .ok_or_else(|| self.error("GetQueueUrl returned no URL"))
            })
            .await
            .map(String::as_str)
    }

    /// Sends one message, delivered after `delay_secs` (SQS allows up to 900).
    pub async fn send_delayed(
        &self,
        message: &impl Serialize,
        delay_secs: i32,
    ) -> Result<(), QueueError> {
        let url = self.url().await?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(serde_json::to_string(message).expect("serializable"))
            .delay_seconds(delay_secs)
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    pub async fn send<T: Serialize>(&self, message: &T) -> Result<(), QueueError> {
        self.send_all(std::slice::from_ref(message)).await
    }

    /// Sends the messages in batches of ten; fails if any entry was not accepted.
    pub async fn send_all<T: Serialize>(&self, messages: &[T]) -> Result<(), QueueError> {
        match self.send_each(messages).await.into_iter().next() {
            None => Ok(()),
            Some((_, e)) => Err(e),
        }
    }

    /// Sends the messages in batches of ten; returns the
    /// index of every message not sent, with why (a batch refused whole fails
    /// each of its messages).
    pub async fn send_each<T: Serialize>(&self, messages: &[T]) -> Vec<(usize, QueueError)> {
        let url = match self.url().await {
            Ok(url) => url,
            Err(e) => {
                return (0..messages.len())
                    .map(|i| (i, self.error(&e.message)))
                    .collect();
            }
        };
        // One call at a time: concurrent batch calls slow a local backend down
        // (moto's fan-out to 1 000 sockets went from 7 s to over the 10 s timeout).
        let mut failed = Vec::new();
        for (b, chunk) in messages.chunks(BATCH).enumerate() {
            let first = b * BATCH;
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id((first + i).to_string())
                        .message_body(serde_json::to_string(m).expect("serializable"))
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let sent = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await;
            match sent {
                Ok(out) => failed.extend(out.failed.iter().map(|f| {
                    let index = f.id.parse().unwrap_or(first);
                    let why = f.message.as_deref().unwrap_or(f.code.as_str());
                    (index, self.error(format!("message not sent: {why}")))
                })),
                Err(e) => {
                    let why = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                    failed.extend((first..first + chunk.len()).map(|i| (i, self.error(&why))));
                }
            }
        }
        failed
    }
}
