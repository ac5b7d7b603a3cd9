//! The bulk job queue: [`JobMessage`], what is queued, and [`JobQueue`],
//! the trait that sends it to the workers (SQS, or the embedded queue).

use super::StoreError;
use crate::model::TenantId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A bulk job to run, as queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMessage {
    pub tenant: TenantId,
    pub job_id: String,
}

/// Sends jobs to the workers.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError>;
}
