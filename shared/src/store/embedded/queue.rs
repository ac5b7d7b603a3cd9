//! The embedded job queue: a SQLite table with SQS-like semantics, so queued
//! jobs survive a restart.
//!
//! A received message becomes invisible for a visibility timeout; it is
//! deleted when acknowledged, and reappears (with its receive count raised)
//! when the timeout passes without an acknowledgement.
//!
//! A process that dies holds its in-flight messages until their timeout
//! passes; [`EmbeddedStore::release_in_flight`] gives them back at once, for
//! the process that takes over the data directory.

use super::sqlite::{sql_err, EmbeddedStore};
use crate::store::queue::{JobMessage, JobQueue};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, TransactionBehavior};
use std::time::Duration;

/// A message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Acknowledge with this.
    pub receipt: i64,
    pub message: JobMessage,
    /// 1 on first delivery.
    pub receive_count: u32,
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl EmbeddedStore {
    /// Takes up to `max` visible messages and hides them for `visibility`.
    ///
    /// # Errors
    /// When SQLite fails or a stored message is corrupt.
    pub async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Received>, StoreError> {
        let hide_ms = visibility.as_millis() as i64;
        self.with_conn(move |c| {
            // Immediate: take the write lock before reading, so a receive
            // that waits for another process's receive waits (busy timeout)
            // instead of failing when its read snapshot goes stale.
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin receive"))?;
            let now = now_millis();
            let rows: Vec<(i64, String, u32)> = {
                let mut stmt = tx
                    .prepare_cached("SELECT id, body, receive_count FROM queue WHERE visible_at <= ?1 ORDER BY id LIMIT ?2")
                    .map_err(sql_err("prepare receive"))?;
                let rows = stmt
                    .query_map(params![now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(sql_err("receive"))?;
                rows.collect::<Result<_, _>>().map_err(sql_err("read message"))?
            };
            let mut out = Vec::with_capacity(rows.len());
            for (id, body, count) in rows {
                tx.execute(
                    "UPDATE queue SET visible_at = ?1, receive_count = receive_count + 1 WHERE id = ?2",
                    params![now + hide_ms, id],
                )
                .map_err(sql_err("hide message"))?;
                let message = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("queue message {id}: {e}")))?;
                out.push(Received { receipt: id, message, receive_count: count + 1 });
            }
            tx.commit().map_err(sql_err("commit receive"))?;
            Ok(out)
        })
        .await
    }

    /// Deletes a processed message.
    ///
    /// # Errors
    /// When SQLite fails.
    pub async fn ack(&self, receipt: i64) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            c.execute("DELETE FROM queue WHERE id = ?1", params![receipt])
                .map_err(sql_err("ack"))?;
            Ok(())
        })
        .await
    }

    /// Makes every in-flight message (received, not acknowledged, its
    /// visibility timeout still running) visible now, keeping its receive
    /// count: the crash counts as a receive, as on SQS. Returns how many.
    /// Only for the process that owns the data directory, at start-up,
    /// before its worker receives: then every in-flight message was
    /// received by a process that is gone.
    ///
    /// # Errors
    /// When SQLite fails.
    pub async fn release_in_flight(&self) -> Result<u64, StoreError> {
        self.with_conn(|c| {
            let now = now_millis();
            c.execute(
                "UPDATE queue SET visible_at = ?1 WHERE visible_at > ?1 AND receive_count > 0",
                params![now],
            )
            .map(|n| n as u64)
            .map_err(sql_err("release in-flight messages"))
        })
        .await
    }

    /// How many messages are queued, visible or not.
    ///
    /// # Errors
    /// When SQLite fails.
    pub async fn queue_len(&self) -> Result<u64, StoreError> {
        self.with_conn(|c| {
            c.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(sql_err("count queue"))
        })
        .await
    }
}

#[async_trait]
impl JobQueue for EmbeddedStore {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.with_conn(move |c| {
            let now = now_millis();
            c.execute(
                "INSERT INTO queue (body, visible_at, enqueued_at) VALUES (?1, ?2, ?2)",
                params![body, now],
            )
            .map_err(sql_err("enqueue"))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantId;

    fn msg(id: &str) -> JobMessage {
        JobMessage {
            tenant: TenantId::new("t1"),
            job_id: id.into(),
            task: None,
        }
    }

    #[tokio::test]
    async fn messages_survive_a_restart_and_reappear_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.send(&msg("j1")).await.unwrap();
            store.send(&msg("j2")).await.unwrap();
        }
        // GIVEN a restart, WHEN messages are received
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let got = store.receive(10, Duration::from_millis(50)).await.unwrap();
        // THEN both are there in order, and hidden while in flight
        assert_eq!(
            got.iter()
                .map(|r| r.message.job_id.as_str())
                .collect::<Vec<_>>(),
            ["j1", "j2"]
        );
        assert!(store
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty());
        store.ack(got[0].receipt).await.unwrap();
        // AND the unacknowledged one comes back after the timeout, counted
        tokio::time::sleep(Duration::from_millis(80)).await;
        let again = store.receive(10, Duration::from_secs(1)).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].message, msg("j2"));
        assert_eq!(again[0].receive_count, 2);
        assert_eq!(store.queue_len().await.unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn consumers_on_separate_connections_share_the_queue_without_errors() {
        // GIVEN 400 messages, and 4 consumers each with its own connection
        // to the same database, as 4 worker processes have
        let dir = tempfile::tempdir().unwrap();
        let producer = EmbeddedStore::open(dir.path()).unwrap();
        for i in 0..400 {
            producer.send(&msg(&format!("j{i}"))).await.unwrap();
        }
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let store = EmbeddedStore::open(dir.path()).unwrap();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        // WHEN each receives one at a time, as fast as it can
                        let got = store.receive(1, Duration::from_secs(60)).await?;
                        let Some(r) = got.into_iter().next() else {
                            return Ok::<_, StoreError>(seen);
                        };
                        store.ack(r.receipt).await?;
                        seen.push(r.message.job_id);
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in consumers {
            // THEN no receive or acknowledgement fails on contention
            all.extend(c.await.unwrap().unwrap());
        }
        // AND every message was delivered exactly once
        all.sort();
        let mut want: Vec<String> = (0..400).map(|i| format!("j{i}")).collect();
        want.sort();
        assert_eq!(all, want);
    }

    #[tokio::test]
    async fn in_flight_messages_of_a_dead_process_are_received_at_once_after_recovery() {
        let dir = tempfile::tempdir().unwrap();
        {
            // GIVEN a process that received a message with the local
            // worker's 300 s visibility, and died without acknowledging it
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.send(&msg("j1")).await.unwrap();
            let got = store.receive(10, Duration::from_secs(300)).await.unwrap();
            assert_eq!(got.len(), 1);
            // AND a message it never received
            store.send(&msg("j2")).await.unwrap();
        }
        // WHEN the store is reopened, the message is still hidden
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let hidden = store.receive(10, Duration::from_secs(300)).await.unwrap();
        assert_eq!(
            hidden
                .iter()
                .map(|r| r.message.job_id.as_str())
                .collect::<Vec<_>>(),
            ["j2"]
        );
        // AND the recovery releases the in-flight ones (j1, and j2 just received)
        assert_eq!(store.release_in_flight().await.unwrap(), 2);
        // THEN both are received immediately, their receive counts kept
        let again = store.receive(10, Duration::from_secs(300)).await.unwrap();
        assert_eq!(
            again
                .iter()
                .map(|r| (r.message.job_id.as_str(), r.receive_count))
                .collect::<Vec<_>>(),
            [("j1", 2), ("j2", 2)]
        );
    }
}
