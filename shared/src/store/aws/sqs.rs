//! [`SqsQueue`]: the job queue over SQS (`aws-sdk-sqs`). The consumer side is
//! the worker Lambda's SQS event source.

use crate::store::queue::{JobMessage, JobQueue};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_sqs::Client;

/// One SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| StoreError::backend("SQS SendMessage", e))?;
        Ok(())
    }
}
