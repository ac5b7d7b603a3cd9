//! The bulk export traits on [`EmbeddedStore`]: jobs and idempotency records
//! in `export_logs` (the Exports table's mirror), keys, the blocked flag and
//! buckets in `tenant_config`, activities in `activities`, under the keys of
//! [`crate::store::keys`]. Conditional writes read and write inside one
//! `BEGIN IMMEDIATE` transaction, so they are atomic across processes too.
//!
//! A fan-out job's tasks live in `bulk_tasks (tenant, job, task_index, data,
//! version)` and the set of its finished tasks in `bulk_tasks_done (tenant,
//! job, task_index)` (schema version 3, see [`super::sqlite`]); every
//! statement on them names the tenant and the job.

use super::rows::{insert_new, json, parse, prefixed, read, upsert};
use super::sqlite::{sql_err, EmbeddedStore};
use crate::model::bulk::{ApiKey, BulkJob, BulkTask};
use crate::model::{Record, TenantId};
use crate::store::bulk::{
    ActivityStore, ApiKeyStore, Bucket, BulkJobStore, IdempotencyRecord, JobPage,
};
use crate::store::kv::records::{ApiKeyPointer, Blocked};
use crate::store::{keys, RecordLoad, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

const EXPORTS: &str = "export_logs";
const CONFIG: &str = "tenant_config";

#[async_trait]
impl BulkJobStore for EmbeddedStore {
    async fn create_job(&self, tenant: &TenantId, job: &BulkJob) -> Result<(), StoreError> {
        let (pk, sk, data) = (keys::tenant_pk(tenant), keys::job_sk(&job.id), json(job)?);
        self.with_conn(move |c| {
            if insert_new(c, EXPORTS, &pk, &sk, &data)? {
                Ok(())
            } else {
                Err(StoreError::AlreadyExists(sk))
            }
        })
        .await
    }

    async fn get_job(&self, tenant: &TenantId, id: &str) -> Result<Option<BulkJob>, StoreError> {
        let (pk, sk) = (keys::tenant_pk(tenant), keys::job_sk(id));
        self.with_conn(move |c| read(c, EXPORTS, &pk, &sk)).await
    }

    async fn replace_job(
        &self,
        tenant: &TenantId,
        job: &BulkJob,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let (pk, sk, data) = (keys::tenant_pk(tenant), keys::job_sk(&job.id), json(job)?);
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin"))?;
            let current: Option<BulkJob> = read(&tx, EXPORTS, &pk, &sk)?;
            if current.map(|j| j.version) != Some(expected_version) {
                return Ok(false);
            }
            upsert(&tx, EXPORTS, &pk, &sk, &data)?;
            tx.commit().map_err(sql_err("commit"))?;
            Ok(true)
        })
        .await
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: u64,
        limit: u32,
    ) -> Result<JobPage, StoreError> {
        let pk = keys::tenant_pk(tenant);
        self.with_conn(move |c| {
            let total: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM export_logs WHERE pk = ?1 AND sk >= 'JOB#' AND sk < 'JOB$'",
                    params![pk],
                    |r| r.get(0),
                )
                .map_err(sql_err("count jobs"))?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT sk, data FROM export_logs WHERE pk = ?1 AND sk >= 'JOB#' AND sk < 'JOB$'
                     ORDER BY sk DESC LIMIT ?2 OFFSET ?3",
                )
                .map_err(sql_err("prepare jobs"))?;
            let rows = stmt
                .query_map(
                    params![pk, i64::from(limit), i64::try_from(offset).unwrap_or(i64::MAX)],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
                .map_err(sql_err("list jobs"))?;
            let mut jobs = Vec::new();
            for row in rows {
                let (sk, data) = row.map_err(sql_err("read job"))?;
                jobs.push(parse(&sk, &data)?);
            }
            Ok(JobPage {
                jobs,
                total: total.max(0) as u64,
            })
        })
        .await
    }

    async fn put_idempotency(
        &self,
        tenant: &TenantId,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let sk = keys::idempotency_sk(&record.key_sha256);
        let data = json(record)?;
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin"))?;
            if let Some(existing) = read(&tx, EXPORTS, &pk, &sk)? {
                return Ok(Some(existing));
            }
            upsert(&tx, EXPORTS, &pk, &sk, &data)?;
            tx.commit().map_err(sql_err("commit"))?;
            Ok(None)
        })
        .await
    }

    /// `INSERT OR IGNORE` of every task in one transaction: a task that is
    /// already there keeps its row.
    async fn put_tasks(&self, tenant: &TenantId, tasks: &[BulkTask]) -> Result<(), StoreError> {
        let tenant = tenant.as_str().to_string();
        let rows = tasks
            .iter()
            .map(|t| Ok((t.job_id.clone(), t.index, json(t)?, version_of(t)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin"))?;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO bulk_tasks (tenant, job, task_index, data, version)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(sql_err("prepare put tasks"))?;
                for (job, index, data, version) in &rows {
                    stmt.execute(params![tenant, job, index, data, version])
                        .map_err(sql_err("put task"))?;
                }
            }
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }

    async fn get_task(
        &self,
        tenant: &TenantId,
        job_id: &str,
        index: u32,
    ) -> Result<Option<BulkTask>, StoreError> {
        let (tenant, job) = (tenant.as_str().to_string(), job_id.to_string());
        self.with_conn(move |c| {
            let data: Option<String> = c
                .prepare_cached(
                    "SELECT data FROM bulk_tasks WHERE tenant = ?1 AND job = ?2 AND task_index = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![tenant, job, index], |r| r.get(0))
                        .optional()
                })
                .map_err(sql_err("read task"))?;
            data.map(|d| parse(&keys::task_sk(&job, index), &d))
                .transpose()
        })
        .await
    }

    /// One `UPDATE ... WHERE version = ?`: atomic without a transaction.
    async fn replace_task(
        &self,
        tenant: &TenantId,
        task: &BulkTask,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.as_str().to_string();
        let (job, index, data, version) = (
            task.job_id.clone(),
            task.index,
            json(task)?,
            version_of(task)?,
        );
        let expected = i64::try_from(expected_version)
            .map_err(|_| StoreError::Corrupt(format!("task version {expected_version}")))?;
        self.with_conn(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE bulk_tasks SET data = ?5, version = ?6
                     WHERE tenant = ?1 AND job = ?2 AND task_index = ?3 AND version = ?4",
                )
                .and_then(|mut s| s.execute(params![tenant, job, index, expected, data, version]))
                .map_err(sql_err("replace task"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_tasks(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> Result<Vec<BulkTask>, StoreError> {
        let (tenant, job) = (tenant.as_str().to_string(), job_id.to_string());
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT task_index, data FROM bulk_tasks WHERE tenant = ?1 AND job = ?2
                     ORDER BY task_index",
                )
                .map_err(sql_err("prepare list tasks"))?;
            let rows = stmt
                .query_map(params![tenant, job], |r| {
                    Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(sql_err("list tasks"))?;
            let mut tasks = Vec::new();
            for row in rows {
                let (index, data) = row.map_err(sql_err("read task"))?;
                tasks.push(parse(&keys::task_sk(&job, index), &data)?);
            }
            Ok(tasks)
        })
        .await
    }

    /// `INSERT OR IGNORE` into `bulk_tasks_done`, then its `COUNT` for the
    /// job, in one `BEGIN IMMEDIATE` transaction: no other writer adds
    /// between the two, so concurrent marks each see a different count.
    async fn mark_task_done(
        &self,
        tenant: &TenantId,
        job_id: &str,
        index: u32,
    ) -> Result<u32, StoreError> {
        let (tenant, job) = (tenant.as_str().to_string(), job_id.to_string());
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin"))?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO bulk_tasks_done (tenant, job, task_index)
                 VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![tenant, job, index]))
            .map_err(sql_err("mark task done"))?;
            let done: i64 = tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM bulk_tasks_done WHERE tenant = ?1 AND job = ?2",
                )
                .and_then(|mut s| s.query_row(params![tenant, job], |r| r.get(0)))
                .map_err(sql_err("count finished tasks"))?;
            tx.commit().map_err(sql_err("commit"))?;
            u32::try_from(done)
                .map_err(|_| StoreError::Corrupt(format!("{done} finished tasks of {job}")))
        })
        .await
    }
}

/// A task's version as SQLite's signed integer.
fn version_of(task: &BulkTask) -> Result<i64, StoreError> {
    i64::try_from(task.version).map_err(|_| {
        StoreError::Corrupt(format!(
            "{}: version {} out of range",
            keys::task_sk(&task.job_id, task.index),
            task.version
        ))
    })
}

impl EmbeddedStore {
    /// Every `inProgress` job of every tenant, with its tenant: the jobs a
    /// dead process may have held when it died (see
    /// [`crate::service::bulk::release_dead_leases`]).
    ///
    /// # Errors
    /// When SQLite fails or a stored job is corrupt.
    pub async fn in_progress_jobs(&self) -> Result<Vec<(TenantId, BulkJob)>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT pk, sk, data FROM export_logs
                     WHERE sk >= 'JOB#' AND sk < 'JOB$' AND json_extract(data, '$.status') = ?1
                     ORDER BY pk, sk",
                )
                .map_err(sql_err("prepare in-progress jobs"))?;
            let rows = stmt
                .query_map(params!["inProgress"], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(sql_err("list in-progress jobs"))?;
            let mut out = Vec::new();
            for row in rows {
                let (pk, sk, data) = row.map_err(sql_err("read job"))?;
                let tenant = pk
                    .strip_prefix("T#")
                    .ok_or_else(|| StoreError::Corrupt(format!("job {sk} under {pk}")))?;
                out.push((TenantId::new(tenant), parse(&sk, &data)?));
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl ApiKeyStore for EmbeddedStore {
    async fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let pk = keys::tenant_pk(&key.tenant);
        let sk = keys::api_key_sk(&key.sha256);
        let data = json(key)?;
        let pointer = json(&ApiKeyPointer {
            tenant: key.tenant.clone(),
        })?;
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            upsert(&tx, CONFIG, &pk, &sk, &data)?;
            upsert(&tx, CONFIG, &sk, keys::API_KEY_POINTER_SK, &pointer)?;
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }

    async fn api_key_by_hash(&self, sha256: &str) -> Result<Option<ApiKey>, StoreError> {
        let sk = keys::api_key_sk(sha256);
        self.with_conn(move |c| {
            let Some(p) = read::<ApiKeyPointer>(c, CONFIG, &sk, keys::API_KEY_POINTER_SK)? else {
                return Ok(None);
            };
            read(c, CONFIG, &keys::tenant_pk(&p.tenant), &sk)
        })
        .await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        self.with_conn(move |c| prefixed(c, CONFIG, &pk, keys::API_KEY_PREFIX, false))
            .await
    }

    async fn revoke_api_key(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let Some(key) = self
            .list_api_keys(tenant)
            .await?
            .into_iter()
            .find(|k| k.id == id)
        else {
            return Ok(false);
        };
        let pk = keys::tenant_pk(tenant);
        let sk = keys::api_key_sk(&key.sha256);
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            tx.execute(
                "DELETE FROM tenant_config WHERE (pk = ?1 AND sk = ?2) OR (pk = ?2 AND sk = ?3)",
                params![pk, sk, keys::API_KEY_POINTER_SK],
            )
            .map_err(sql_err("revoke key"))?;
            tx.commit().map_err(sql_err("commit"))?;
            Ok(true)
        })
        .await
    }

    async fn account_blocked(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let pk = keys::tenant_pk(tenant);
        self.with_conn(move |c| {
            Ok(read::<Blocked>(c, CONFIG, &pk, keys::BLOCKED_SK)?.is_some_and(|b| b.blocked))
        })
        .await
    }

    async fn set_account_blocked(
        &self,
        tenant: &TenantId,
        blocked: bool,
    ) -> Result<(), StoreError> {
        let pk = keys::tenant_pk(tenant);
        let data = json(&Blocked { blocked })?;
        self.with_conn(move |c| upsert(c, CONFIG, &pk, keys::BLOCKED_SK, &data))
            .await
    }

    async fn get_bucket(
        &self,
        tenant: &TenantId,
        key_id: &str,
    ) -> Result<Option<Bucket>, StoreError> {
        let (pk, sk) = (keys::tenant_pk(tenant), keys::rate_sk(key_id));
        self.with_conn(move |c| read(c, CONFIG, &pk, &sk)).await
    }

    async fn put_bucket(
        &self,
        tenant: &TenantId,
        key_id: &str,
        bucket: &Bucket,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let (pk, sk, data) = (
            keys::tenant_pk(tenant),
            keys::rate_sk(key_id),
            json(bucket)?,
        );
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin"))?;
            let current: Option<Bucket> = read(&tx, CONFIG, &pk, &sk)?;
            if current.map(|b| b.version) != expected {
                return Ok(false);
            }
            upsert(&tx, CONFIG, &pk, &sk, &data)?;
            tx.commit().map_err(sql_err("commit"))?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl ActivityStore for EmbeddedStore {
    async fn put_activities(
        &self,
        tenant: &TenantId,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(records.len());
        for r in &records {
            let (at, sk) = keys::activity_key(r)?;
            rows.push((
                keys::activity_pk(tenant, at.date_naive()),
                sk,
                json(&r.data)?,
            ));
        }
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            for (pk, sk, data) in &rows {
                upsert(&tx, "activities", pk, sk, data)?;
            }
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }

    /// One transaction for the whole load (see [`super::load`]).
    async fn begin_activity_load(
        &self,
        tenant: &TenantId,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError> {
        let tenant = tenant.clone();
        Ok(Box::new(self.begin_load_with(move |tx, records| {
            for r in records {
                let (at, sk) = keys::activity_key(r)?;
                let pk = keys::activity_pk(&tenant, at.date_naive());
                upsert(tx, "activities", &pk, &sk, &json(&r.data)?)?;
            }
            Ok(())
        })))
    }

    async fn activities_of_day(
        &self,
        tenant: &TenantId,
        day: NaiveDate,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Record>, Option<String>), StoreError> {
        let pk = keys::activity_pk(tenant, day);
        let limit = limit.max(1);
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT sk, data FROM activities WHERE pk = ?1 AND sk > ?2 ORDER BY sk LIMIT ?3",
                )
                .map_err(sql_err("prepare activities"))?;
            let rows = stmt
                .query_map(params![pk, after.unwrap_or_default(), limit as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(sql_err("read activities"))?;
            let mut out = Vec::with_capacity(limit);
            let mut last = None;
            for row in rows {
                let (sk, data) = row.map_err(sql_err("read activity"))?;
                let map: serde_json::Map<String, serde_json::Value> = parse(&sk, &data)?;
                let id = sk.split_once('#').map_or(sk.as_str(), |(_, id)| id);
                out.push(Record::new(id, map));
                last = Some(sk);
            }
            let next = if out.len() >= limit { last } else { None };
            Ok((out, next))
        })
        .await
    }

    async fn count_activities_of_day(
        &self,
        tenant: &TenantId,
        day: NaiveDate,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let pk = keys::activity_pk(tenant, day);
        let (from, to) = (keys::activity_sk_bound(from), keys::activity_sk_bound(to));
        self.with_conn(move |c| {
            c.prepare_cached(
                "SELECT count(*) FROM activities WHERE pk = ?1 AND sk >= ?2 AND sk < ?3",
            )
            .and_then(|mut stmt| stmt.query_row(params![pk, from, to], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(sql_err("count activities"))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bulk::{
        DateFormat, ExportFilters, ExportSpec, ExportType, ExportVersion, TaskPartition,
    };

    fn job() -> BulkJob {
        let spec = ExportSpec {
            compression: Default::default(),
            export_type: ExportType::Contacts,
            date_format: DateFormat::Iso,
            delimiter: ',',
            version: ExportVersion::V1,
            filters: ExportFilters::default(),
        };
        BulkJob::new(BulkJob::new_id(), spec, chrono::Utc::now())
    }

    #[tokio::test]
    async fn a_version_2_data_directory_gains_the_task_tables_and_keeps_its_jobs() {
        // GIVEN a data directory as schema version 2 left it: a job, no
        // task tables
        let dir = tempfile::tempdir().unwrap();
        let (t, j) = (TenantId::new("t1"), job());
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.create_job(&t, &j).await.unwrap();
        }
        let db = dir.path().join("exports.sqlite3");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "DROP TABLE bulk_tasks; DROP TABLE bulk_tasks_done; PRAGMA user_version = 2;",
            )
            .unwrap();
        // WHEN it is opened by this build
        let store = EmbeddedStore::open(dir.path()).unwrap();
        // THEN the job is there and tasks work
        assert_eq!(store.get_job(&t, &j.id).await.unwrap(), Some(j.clone()));
        let task = BulkTask::new(&j, 0, TaskPartition::All, chrono::Utc::now());
        store
            .put_tasks(&t, std::slice::from_ref(&task))
            .await
            .unwrap();
        assert_eq!(store.list_tasks(&t, &j.id).await.unwrap(), vec![task]);
        assert_eq!(store.mark_task_done(&t, &j.id, 0).await.unwrap(), 1);
        // AND the schema version says so, and reopening changes nothing
        drop(store);
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.mark_task_done(&t, &j.id, 0).await.unwrap(), 1);
        let version: i64 = rusqlite::Connection::open(&db)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
    }
}
