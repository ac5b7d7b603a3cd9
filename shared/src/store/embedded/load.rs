//! All-or-nothing loads ([`RecordLoad`]) on SQLite: one transaction for the
//! whole load, fed batch by batch.
//!
//! A blocking task takes the connection, begins an `IMMEDIATE` transaction
//! and writes each batch it receives over a small bounded channel, so the
//! caller holds at most a few batches however long the load is. `commit`
//! commits it; a dropped load (or a dead process) never commits, and SQLite
//! discards what the transaction wrote, so readers — in this process or
//! another — see the records of a load all at once or not at all.

use super::sqlite::{sql_err, EmbeddedStore};
use crate::model::Record;
use crate::store::{RecordLoad, StoreError};
use async_trait::async_trait;
use rusqlite::{Transaction, TransactionBehavior};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Batches the caller may queue ahead of the writer.
const QUEUED_BATCHES: usize = 2;

enum Message {
    Batch(Vec<Record>),
    Commit,
}

/// A load in one SQLite transaction (see the module docs).
pub(super) struct SqliteLoad {
    sender: mpsc::Sender<Message>,
    /// The writer; taken once its result has been read.
    worker: Option<JoinHandle<Result<u64, StoreError>>>,
}

impl EmbeddedStore {
    /// Starts a load whose batches `write` puts into the transaction.
    pub(super) fn begin_load_with<W>(&self, mut write: W) -> SqliteLoad
    where
        W: FnMut(&Transaction<'_>, &[Record]) -> Result<(), StoreError> + Send + 'static,
    {
        let (sender, mut receiver) = mpsc::channel(QUEUED_BATCHES);
        let conn = self.shared_connection();
        let worker = tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Corrupt("connection lock poisoned".into()))?;
            let tx = guard
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin load"))?;
            let mut written = 0u64;
            while let Some(message) = receiver.blocking_recv() {
                match message {
                    Message::Batch(records) => {
                        write(&tx, &records)?;
                        written += records.len() as u64;
                    }
                    Message::Commit => {
                        tx.commit().map_err(sql_err("commit load"))?;
                        return Ok(written);
                    }
                }
            }
            // The load was dropped uncommitted.
            tx.rollback().map_err(sql_err("roll back load"))?;
            Ok(0)
        });
        SqliteLoad {
            sender,
            worker: Some(worker),
        }
    }
}

impl SqliteLoad {
    /// The writer's result, once it has stopped.
    async fn finish(&mut self) -> Result<u64, StoreError> {
        match self.worker.take() {
            Some(worker) => worker
                .await
                .map_err(|e| StoreError::backend("load writer", e))?,
            None => Err(StoreError::Corrupt("the load has already failed".into())),
        }
    }
}

#[async_trait]
impl RecordLoad for SqliteLoad {
    async fn write(&mut self, records: Vec<Record>) -> Result<(), StoreError> {
        if self.sender.send(Message::Batch(records)).await.is_ok() {
            return Ok(());
        }
        // The writer stopped: it failed (it commits only when told to).
        self.finish().await?;
        Err(StoreError::Corrupt(
            "the load ended before it was committed".into(),
        ))
    }

    async fn commit(mut self: Box<Self>) -> Result<u64, StoreError> {
        // A closed channel means the writer failed; `finish` returns why.
        let _ = self.sender.send(Message::Commit).await;
        self.finish().await
    }

    fn all_or_nothing(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntityKind, TenantId};
    use crate::query::{EntityQuery, Window};
    use crate::store::{ActivityStore, EntitySource, EntityWriter};

    fn contact(id: &str) -> Record {
        let serde_json::Value::Object(map) = serde_json::json!({"firstName": id}) else {
            unreachable!()
        };
        Record::new(id, map)
    }

    async fn count(store: &EmbeddedStore, tenant: &TenantId) -> u64 {
        let mut q = EntityQuery::new(EntityKind::Contacts);
        q.window = Window::Range {
            offset: 0,
            limit: 1,
        };
        q.count = true;
        store
            .query(tenant, &q)
            .await
            .expect("query")
            .total
            .unwrap_or_default()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_load_is_seen_whole_at_commit_and_not_at_all_when_dropped() {
        // GIVEN a data directory, and a second store on it as the server would open it
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let tenant = TenantId::new("t");
        let mut load = store
            .begin_load(&tenant, EntityKind::Contacts)
            .await
            .expect("begin");
        // WHEN three batches are written but not committed
        for b in 0..3 {
            let batch = (0..100).map(|i| contact(&format!("c-{b}-{i}"))).collect();
            load.write(batch).await.expect("write");
        }
        // THEN a reader opening the directory meanwhile sees none of them
        let reader = EmbeddedStore::open(dir.path()).expect("open while loading");
        assert_eq!(count(&reader, &tenant).await, 0);
        // WHEN the load is committed, THEN all 300 are seen at once
        assert_eq!(load.commit().await.expect("commit"), 300);
        assert_eq!(count(&reader, &tenant).await, 300);

        // WHEN another load is dropped uncommitted
        let mut load = store
            .begin_load(&tenant, EntityKind::Contacts)
            .await
            .expect("begin");
        load.write(vec![contact("dropped")]).await.expect("write");
        drop(load);
        // THEN nothing of it is seen, and the store takes writes again
        store
            .put_records(&tenant, EntityKind::Contacts, vec![contact("after")])
            .await
            .expect("write after a dropped load");
        assert_eq!(count(&reader, &tenant).await, 301);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_activity_load_that_fails_part_way_loads_nothing() {
        // GIVEN an activity load with one good batch
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let tenant = TenantId::new("t");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        let act = |id: &str, at: &str| {
            let serde_json::Value::Object(map) =
                serde_json::json!({"activityType": "call", "occurredAt": at})
            else {
                unreachable!()
            };
            Record::new(id, map)
        };
        let mut load = store.begin_activity_load(&tenant).await.expect("begin");
        load.write(vec![act("a1", "2026-10-01T10:00:00Z")])
            .await
            .expect("write");
        // WHEN a later batch holds an activity without a valid time
        let _ = load.write(vec![act("a2", "yesterday")]).await;
        let failed = load.commit().await;
        // THEN the load fails and none of its activities are stored
        assert!(failed.is_err(), "{failed:?}");
        let (stored, _) = store
            .activities_of_day(&tenant, day, None, 10)
            .await
            .expect("read");
        assert!(stored.is_empty(), "{stored:?}");
    }
}
