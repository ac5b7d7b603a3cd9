//! Reading an export's records as a stream of pages: contact shards or
//! activity days (partitions), several read at once, each through a bounded
//! channel. Partitions are started in order and drained in order, so
//! activities come out in time order. At most `parallelism` partitions hold
//! pages in memory, each at most one page ahead of the writer: a reader
//! reserves room in its channel before it reads.

use super::WorkerDeps;
use crate::model::bulk::{ExportSpec, ExportType};
use crate::model::{EntityKind, Record, TenantId};
use crate::store::{keys, PageCursor, StoreError};
use chrono::{Duration, NaiveDate};
use tokio::sync::{mpsc, Semaphore};

type PageResult = Result<Vec<Record>, StoreError>;

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

/// Starts reading.
pub(super) async fn open(
    deps: &WorkerDeps,
    tenant: &TenantId,
    spec: &ExportSpec,
) -> Result<Pages, StoreError> {
    let partitions: Vec<Partition> = match spec.export_type {
        ExportType::Contacts if !deps.entities.shard_cursors() => vec![Partition::All],
        ExportType::Contacts => {
            let shards = deps
                .config
                .settings(tenant)
                .await?
                .shards
                .clamp(1, keys::MAX_SHARDS);
            (0..shards)
                .map(|shard| Partition::Shard { shards, shard })
                .collect()
        }
        ExportType::Activities => match spec.filters.from_date.zip(spec.filters.to_date) {
            Some((from, to)) => days(from, to).into_iter().map(Partition::Day).collect(),
            None => Vec::new(),
        },
    };
    let parallelism = deps.parallelism.max(1);
    let (tx, rx) = mpsc::channel(parallelism);
    let deps = deps.clone();
    let tenant = tenant.clone();
    tokio::spawn(async move {
        let permits = std::sync::Arc::new(Semaphore::new(parallelism));
        for partition in partitions {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (page_tx, page_rx) = mpsc::channel(1);
            let (deps, tenant) = (deps.clone(), tenant.clone());
            tokio::spawn(async move {
                read_partition(&deps, &tenant, partition, &page_tx).await;
                drop(permit);
            });
            if tx.send(page_rx).await.is_err() {
                return;
            }
        }
    });
    Ok(Pages {
        partitions: rx,
        current: None,
    })
}

async fn read_partition(
    deps: &WorkerDeps,
    tenant: &TenantId,
    partition: Partition,
    out: &mpsc::Sender<PageResult>,
) {
    let mut after = String::new();
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
                    Ok(page) => page,
                    Err(e) => {
                        slot.send(Err(e));
                        return;
                    }
                }
            }
            Partition::All => {
                let cursor = (!after.is_empty()).then(|| PageCursor(after.clone()));
                match deps
                    .entities
                    .page(tenant, EntityKind::Contacts, cursor, deps.page_size)
                    .await
                {
                    Ok(page) => (page.records, page.next.map(|c| c.0)),
                    Err(e) => {
                        slot.send(Err(e));
                        return;
                    }
                }
            }
            Partition::Shard { shards, shard } => {
                let cursor = keys::encode_cursor(shards, shard, &after);
                match deps
                    .entities
                    .page(tenant, EntityKind::Contacts, Some(cursor), deps.page_size)
                    .await
                {
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
                        let records = page
                            .records
                            .into_iter()
                            .filter(|r| keys::shard_of(&r.id, shards) == shard)
                            .collect();
                        (records, next)
                    }
                    Err(e) => {
                        slot.send(Err(e));
                        return;
                    }
                }
            }
        };
        slot.send(Ok(records));
        match next {
            Some(n) if !n.is_empty() => after = n,
            _ => return,
        }
    }
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
