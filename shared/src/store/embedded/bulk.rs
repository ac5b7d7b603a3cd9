//! The bulk export traits on [`EmbeddedStore`]: jobs and idempotency records
//! in `export_logs` (the Exports table's mirror), keys, the blocked flag and
//! buckets in `tenant_config`, activities in `activities`, under the keys of
//! [`crate::store::keys`]. Conditional writes read and write inside one
//! `BEGIN IMMEDIATE` transaction, so they are atomic across processes too.

use super::rows::{insert_new, json, parse, prefixed, read, upsert};
use super::sqlite::{sql_err, EmbeddedStore};
use crate::model::bulk::{ApiKey, BulkJob};
use crate::model::{Record, TenantId};
use crate::store::bulk::{
    ActivityStore, ApiKeyStore, Bucket, BulkJobStore, IdempotencyRecord, JobPage,
};
use crate::store::kv::records::{ApiKeyPointer, Blocked};
use crate::store::{keys, RecordLoad, StoreError};
use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, TransactionBehavior};

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
}
