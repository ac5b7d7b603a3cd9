//! Taking over from a dead worker process: [`release_dead_leases`] expires
//! the leases it held, on jobs and on their tasks, so they are claimed again
//! at once instead of after their lease runs out.

use super::lease as jobs;
use crate::model::bulk::BulkJob;
use crate::model::TenantId;
use crate::store::bulk::BulkJobStore;
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// Expires, at `now`, the lease of each of `held`: `inProgress` jobs whose
/// holder is known to be dead (on the embedded backend, every `inProgress`
/// job when the process owning the data directory starts). Returns how many
/// leases were released (jobs' and tasks'); a job or task that changed
/// since it was read is left alone.
///
/// # Errors
/// When the store fails.
pub async fn release_dead_leases(
    store: &dyn BulkJobStore,
    held: Vec<(TenantId, BulkJob)>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut released = 0;
    for (tenant, job) in held {
        if jobs::expire_lease(store, &tenant, &job, now).await? {
            tracing::info!(tenant = %tenant, job = %job.id, progress = job.progress,
                "released the lease of a job a dead process held");
            released += 1;
        }
        if job.tasks.is_some() {
            for task in store.list_tasks(&tenant, &job.id).await? {
                if jobs::expire_task_lease(store, &tenant, &task, now).await? {
                    tracing::info!(tenant = %tenant, job = %job.id, task = task.index,
                        chunks = task.chunks.len(), "released the lease of a task a dead process held");
                    released += 1;
                }
            }
        }
    }
    Ok(released)
}
