//! The bulk job queue: [`JobMessage`], what is queued, and [`JobQueue`],
//! the trait that sends it to the workers (SQS, or the embedded queue).

use super::StoreError;
use crate::model::TenantId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A bulk job to run, as queued: without `task`, the job itself (its
/// worker splits it into tasks and queues one message per task); with it,
/// one task of the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMessage {
    pub tenant: TenantId,
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<u32>,
}

impl JobMessage {
    /// The message of a new job.
    pub fn job(tenant: TenantId, job_id: impl Into<String>) -> Self {
        JobMessage {
            tenant,
            job_id: job_id.into(),
            task: None,
        }
    }

    /// The message of one task of a job.
    pub fn task(tenant: TenantId, job_id: impl Into<String>, index: u32) -> Self {
        JobMessage {
            tenant,
            job_id: job_id.into(),
            task: Some(index),
        }
    }
}

/// Sends jobs to the workers.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError>;
}
