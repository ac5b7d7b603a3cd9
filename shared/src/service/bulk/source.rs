//! Reading a task's records as a stream of pages: its partitions (one
//! activity day, a range of contact shards, or every contact), several read
//! at once, each through a bounded channel. Partitions are started in order
//! and drained in order, so rows come out in the order a single reader
//! would give. At most `parallelism` partitions hold pages in memory, each
//! at most one page ahead of the writer: a reader reserves room in its
//! channel before it reads. Every page comes with the [`TaskCursor`] after
//! it, so a task can resume where its last stored chunk ended.

use super::rows::TaskRows;
use super::WorkerDeps;
use crate::model::bulk::{ExportSpec, ExportType, TaskCursor, TaskPartition};
use crate::model::{EntityKind, TenantId, Value};
use crate::query::{EntityQuery, Window};
use crate::store::{keys, PageCursor, StoreError};
use chrono::{Duration, NaiveDate};
use tokio::sync::{mpsc, Semaphore};

/// A page of rows (see [`super::rows`]) and the cursor after it.
type PageResult = Result<(Vec<Vec<Value>>, TaskCursor), StoreError>;

/// One partition to read.
#[derive(Debug, Clone, Copy)]
enum Partition {
    Shard {
        shards: u32,
        shard: u32,
    },
    /// Every record, in the source's page order (a source without shards).
    All,
    Day(NaiveDate),
}

/// The pages of an export, in partition order.
pub(super) struct Pages {
    partitions: mpsc::Receiver<mpsc::Receiver<PageResult>>,
    current: Option<mpsc::Receiver<PageResult>>,
}

impl Pages {
    /// The next page, `None` at the end.
    pub(super) async fn next(&mut self) -> Option<PageResult> {
        loop {
            if let Some(rx) = &mut self.current {
                if let Some(page) = rx.recv().await {
                    return Some(page);
                }
                self.current = None;
            }
            self.current = Some(self.partitions.recv().await?);
        }
    }
}

/// The UTC days the window `[from, to)` touches.
pub(super) fn days(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Vec<NaiveDate> {
    let last = (to - Duration::nanoseconds(1)).date_naive();
    let mut out = Vec::new();
    let mut d = from.date_naive();
    while d <= last {
        out.push(d);
        d += Duration::days(1);
    }
    out
}

/// The partitions a task reads, in order.
fn partitions_of(partition: TaskPartition) -> Vec<Partition> {
    match partition {
        TaskPartition::Day { day } => vec![Partition::Day(day)],
        TaskPartition::Shards { shards, from, to } => (from..to)
            .map(|shard| Partition::Shard { shards, shard })
            .collect(),
        TaskPartition::All => vec![Partition::All],
    }
}

/// How a job splits into tasks, in file order: one per UTC day of an
/// activities window; for contacts, ranges of shards (at most
/// [`MAX_CONTACT_TASKS`]), or one task over a source without shards.
///
/// # Errors
/// When the tenant's settings cannot be read.
pub(super) async fn plan(
    deps: &WorkerDeps,
    tenant: &TenantId,
    spec: &ExportSpec,
) -> Result<Vec<TaskPartition>, StoreError> {
    Ok(match spec.export_type {
        ExportType::Contacts if !deps.entities.shard_cursors() => vec![TaskPartition::All],
        ExportType::Contacts => {
            let shards = deps
                .config
                .settings(tenant)
                .await?
                .shards
                .clamp(1, keys::MAX_SHARDS);
            let tasks = shards.min(MAX_CONTACT_TASKS);
            // Task i reads shards [i*shards/tasks, (i+1)*shards/tasks).
            (0..tasks)
                .map(|i| TaskPartition::Shards {
                    shards,
                    from: i * shards / tasks,
                    to: (i + 1) * shards / tasks,
                })
                .collect()
        }
        ExportType::Activities => match spec.filters.from_date.zip(spec.filters.to_date) {
            Some((from, to)) => days(from, to)
                .into_iter()
                .map(|day| TaskPartition::Day { day })
                .collect(),
            None => Vec::new(),
        },
    })
}

/// The rows a contacts export will hold, counted while planning: only on
/// a source that counts in the store, and only when no segment narrows the
/// export (the worker matches segment codes exactly, the store's filters
/// fold case). `None` otherwise (activities count per task, see
/// [`expected_task_rows`]).
///
/// # Errors
/// When the source fails.
pub(super) async fn expected_rows(
    deps: &WorkerDeps,
    tenant: &TenantId,
    spec: &ExportSpec,
) -> Result<Option<u64>, StoreError> {
    if spec.export_type != ExportType::Contacts
        || spec.filters.segment_id.is_some()
        || !deps.entities.counts_in_store()
    {
        return Ok(None);
    }
    let mut q = EntityQuery::new(EntityKind::Contacts);
    q.window = Window::Range {
        offset: 0,
        limit: 0,
    };
    q.count = true;
    Ok(deps.entities.query(tenant, &q).await?.total)
}

/// The rows an activities task will write, counted in the store when it
/// first starts: its day's activities inside the window. `None` when the
/// export's filter reads more than the window (`rows` matches a segment
/// or activity types while writing) or its window does not fall on whole
/// seconds.
///
/// # Errors
/// When the store fails.
pub(super) async fn expected_task_rows(
    deps: &WorkerDeps,
    tenant: &TenantId,
    rows: &TaskRows,
    partition: TaskPartition,
) -> Result<Option<u64>, StoreError> {
    let (TaskPartition::Day { day }, Some((from, to))) = (partition, rows.window()) else {
        return Ok(None);
    };
    let whole = |t: chrono::DateTime<chrono::Utc>| t.timestamp_subsec_nanos() == 0;
    if rows.narrows() || !whole(from) || !whole(to) {
        return Ok(None);
    }
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let (from, to) = (from.max(start), to.min(start + Duration::days(1)));
    if from >= to {
        return Ok(Some(0));
    }
    deps.activities
        .count_activities_of_day(tenant, day, from, to)
        .await
        .map(Some)
}

/// Contacts exports split into at most this many tasks.
pub const MAX_CONTACT_TASKS: u32 = 16;

/// Starts reading a task's partition at `start`, as `rows` projects it.
pub(super) fn open(
    deps: &WorkerDeps,
    tenant: &TenantId,
    partition: TaskPartition,
    start: &TaskCursor,
    rows: std::sync::Arc<TaskRows>,
) -> Pages {
    let partitions: Vec<(u32, Partition, Option<String>)> = partitions_of(partition)
        .into_iter()
        .zip(0u32..)
        .filter(|(_, i)| *i >= start.partition)
        .map(|(p, i)| {
            let after = if i == start.partition {
                start.after.clone()
            } else {
                None
            };
            (i, p, after)
        })
        .collect();
    let parallelism = deps.parallelism.max(1);
    let (tx, rx) = mpsc::channel(parallelism);
    let deps = deps.clone();
    let tenant = tenant.clone();
    tokio::spawn(async move {
        let permits = std::sync::Arc::new(Semaphore::new(parallelism));
        for (index, partition, after) in partitions {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (page_tx, page_rx) = mpsc::channel(1);
            let (deps, tenant, rows) = (deps.clone(), tenant.clone(), rows.clone());
            tokio::spawn(async move {
                read_partition(&deps, &tenant, &rows, index, partition, after, &page_tx).await;
                drop(permit);
            });
            if tx.send(page_rx).await.is_err() {
                return;
            }
        }
    });
    Pages {
        partitions: rx,
        current: None,
    }
}

async fn read_partition(
    deps: &WorkerDeps,
    tenant: &TenantId,
    rows: &TaskRows,
    index: u32,
    partition: Partition,
    start: Option<String>,
    out: &mpsc::Sender<PageResult>,
) {
    let mut after = start.unwrap_or_default();
    loop {
        // Read the next page only once there is room for it: a partition
        // waiting its turn holds one page, not one queued and one in hand.
        let Ok(slot) = out.reserve().await else {
            return;
        };
        let (records, next) = match partition {
            Partition::Day(day) => {
                let after = (!after.is_empty()).then(|| after.clone());
                match deps
                    .activities
                    .activities_of_day(tenant, day, after, deps.page_size)
                    .await
                {
                    Ok((records, next)) => {
                        (records.into_iter().map(|r| rows.project(r)).collect(), next)
                    }
                    Err(e) => {
                        slot.send(Err(e));
                        return;
                    }
                }
            }
            Partition::All => {
                let cursor = (!after.is_empty()).then(|| PageCursor(after.clone()));
                match contacts(deps, tenant, rows, cursor).await {
                    Ok(page) => (page.rows, page.next.map(|c| c.0)),
                    Err(e) => {
                        slot.send(Err(e));
                        return;
                    }
                }
            }
            Partition::Shard { shards, shard } => {
                let cursor = keys::encode_cursor(shards, shard, &after);
                match contacts(deps, tenant, rows, Some(cursor)).await {
                    Ok(page) => {
                        // A page may run on into the next shard: keep this
                        // shard's records and stop where it ends.
                        let next = match &page.next {
                            Some(c) => match keys::decode_cursor(c) {
                                Ok((_, s, last)) if s == shard => Some(last),
                                Ok(_) => None,
                                Err(e) => {
                                    slot.send(Err(e));
                                    return;
                                }
                            },
                            None => None,
                        };
                        let page_rows = page
                            .rows
                            .into_iter()
                            .filter(|r| keys::shard_of(rows.id(r), shards) == shard)
                            .collect();
                        (page_rows, next)
                    }
                    Err(e) => {
                        slot.send(Err(e));
                        return;
                    }
                }
            }
        };
        match next {
            Some(n) if !n.is_empty() => {
                let cursor = TaskCursor {
                    partition: index,
                    after: Some(n.clone()),
                };
                slot.send(Ok((records, cursor)));
                after = n;
            }
            _ => {
                let cursor = TaskCursor {
                    partition: index + 1,
                    after: None,
                };
                slot.send(Ok((records, cursor)));
                return;
            }
        }
    }
}

/// A page of the task's contacts query: its projection's rows, read by the
/// entity source in storage order from `cursor`.
async fn contacts(
    deps: &WorkerDeps,
    tenant: &TenantId,
    rows: &TaskRows,
    cursor: Option<PageCursor>,
) -> Result<crate::store::RowPage, StoreError> {
    let q = &rows.query;
    deps.entities
        .page_rows(tenant, q.entity, cursor, deps.page_size, &q.projection)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_window_touches_each_utc_day_once() {
        let t = |d, h| chrono::Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap();
        assert_eq!(days(t(1, 0), t(2, 0)).len(), 1);
        assert_eq!(days(t(1, 23), t(2, 1)).len(), 2);
        let month = days(
            t(1, 0),
            chrono::Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        );
        assert_eq!(month.len(), 31);
        assert_eq!(
            days(
                t(1, 0),
                chrono::Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 1).unwrap()
            )
            .len(),
            32
        );
    }
}
