//! The bulk export traits over DynamoDB, under the keys of
//! [`crate::store::keys`]:
//!
//! - [`DynamoBulkJobs`]: jobs and idempotency records in the Exports table.
//!   Items carry `data` (the JSON) and a numeric `version`; a job is created
//!   with `attribute_not_exists(pk)` and replaced with `version = :expected`,
//!   so every transition is a conditional write. A job item also carries
//!   the table's `ttl` (Unix seconds, [`BulkJob::ttl`]) so DynamoDB deletes
//!   it once its file has expired.
//! - Fan-out tasks in the Exports table too: `{pk: T#{tenant}, sk:
//!   TASK#{job}#{index:05}, data, version, ttl?}` ([`TaskItem`]), put with
//!   `attribute_not_exists(pk)` and replaced with `version = :expected`
//!   like jobs, listed by a consistent `Query` on `begins_with(sk,
//!   TASK#{job}#)`. The set of a job's finished tasks is one item, `{pk,
//!   sk: TASKSDONE#{job}, done: NS, ttl?}` ([`TasksDoneItem`]):
//!   [`BulkJobStore::mark_task_done`] is one `UpdateItem` (`ADD #done :idx`
//!   on the condition `attribute_not_exists(#done) OR NOT contains(#done,
//!   :i)`) that returns the new set, so no read comes before the write.
//!   [`BulkJobStore::put_tasks`] creates that item, empty, with the tasks'
//!   `ttl` (the job's), so DynamoDB expires it with the job; a mark made
//!   without a plan creates it without one.
//! - [`ApiKeyStore`] and [`ActivityStore`] on [`DynamoStore`]: keys, their
//!   pointer items, the blocked flag and rate buckets in TenantConfig
//!   (buckets conditional on `version` too); activities in Entities.

use super::dynamodb::{BatchedLoad, DynamoStore, LoadTarget, BATCH_WRITE_MAX};
use super::item::{self, string_attr, Item, DATA};
use crate::model::bulk::{ApiKey, BulkJob, BulkTask};
use crate::model::{Record, TenantId};
use crate::store::bulk::{
    ActivityStore, ApiKeyStore, Bucket, BulkJobStore, IdempotencyRecord, JobPage,
};
use crate::store::kv::records::{ApiKeyPointer, Blocked};
use crate::store::kv::{ConfigItem, KvStore as _};
use crate::store::{keys, RecordLoad, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, Select, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;

/// The attribute holding an item's version.
pub const VERSION: &str = "version";
/// The Exports table's TTL attribute (Unix seconds).
pub const TTL: &str = "ttl";

/// A job as its Exports item: `{pk, sk, data, version, ttl?}`.
#[derive(Debug, Clone, Copy)]
pub struct JobItem<'a> {
    pub tenant: &'a TenantId,
    pub job: &'a BulkJob,
}

impl TryFrom<JobItem<'_>> for Item {
    type Error = StoreError;

    /// # Errors
    /// [`StoreError::Corrupt`] when the job does not serialise.
    fn try_from(j: JobItem<'_>) -> Result<Item, StoreError> {
        let mut it = versioned(
            keys::tenant_pk(j.tenant),
            keys::job_sk(&j.job.id),
            json(j.job)?,
            Some(j.job.version),
        );
        if let Some(ttl) = j.job.ttl {
            it.insert(TTL.into(), AttributeValue::N(ttl.to_string()));
        }
        Ok(it)
    }
}

/// A fan-out task as its Exports item: `{pk, sk: TASK#{job}#{index:05},
/// data, version, ttl?}`.
#[derive(Debug, Clone, Copy)]
pub struct TaskItem<'a> {
    pub tenant: &'a TenantId,
    pub task: &'a BulkTask,
}

impl TryFrom<TaskItem<'_>> for Item {
    type Error = StoreError;

    /// # Errors
    /// [`StoreError::Corrupt`] when the task does not serialise.
    fn try_from(t: TaskItem<'_>) -> Result<Item, StoreError> {
        let mut it = versioned(
            keys::tenant_pk(t.tenant),
            keys::task_sk(&t.task.job_id, t.task.index),
            json(t.task)?,
            Some(t.task.version),
        );
        if let Some(ttl) = t.task.ttl {
            it.insert(TTL.into(), AttributeValue::N(ttl.to_string()));
        }
        Ok(it)
    }
}

impl TryFrom<&Item> for BulkTask {
    type Error = StoreError;

    /// The task in `data`, which must be the one the sort key names.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when `data` is missing or does not parse, or
    /// holds another job's or index's task.
    fn try_from(found: &Item) -> Result<BulkTask, StoreError> {
        let task: BulkTask = value_of(found)?;
        let sk = string_attr(found, item::SK)?;
        if sk != keys::task_sk(&task.job_id, task.index) {
            return Err(StoreError::Corrupt(format!(
                "{sk} holds task {} of job {}",
                task.index, task.job_id
            )));
        }
        Ok(task)
    }
}

/// The attribute holding the set of a job's finished task indexes.
pub const DONE: &str = "done";

/// The item holding the set of a job's finished tasks, as
/// [`BulkJobStore::put_tasks`] creates it: `{pk, sk: TASKSDONE#{job},
/// ttl?}`, without `done` (DynamoDB has no empty sets; the first
/// `ADD` creates it).
#[derive(Debug, Clone, Copy)]
pub struct TasksDoneItem<'a> {
    pub tenant: &'a TenantId,
    pub job_id: &'a str,
    pub ttl: Option<i64>,
}

impl From<TasksDoneItem<'_>> for Item {
    fn from(d: TasksDoneItem<'_>) -> Item {
        let mut it = item::key(keys::tenant_pk(d.tenant), keys::tasks_done_sk(d.job_id));
        if let Some(ttl) = d.ttl {
            it.insert(TTL.into(), AttributeValue::N(ttl.to_string()));
        }
        it
    }
}

/// How many indexes a `TASKSDONE#` item's `done` set holds (0 without
/// one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoneCount(pub u32);

impl TryFrom<&Item> for DoneCount {
    type Error = StoreError;

    /// # Errors
    /// [`StoreError::Corrupt`] when `done` is not a number set.
    fn try_from(found: &Item) -> Result<DoneCount, StoreError> {
        match found.get(DONE) {
            None => Ok(DoneCount(0)),
            Some(AttributeValue::Ns(set)) => u32::try_from(set.len())
                .map(DoneCount)
                .map_err(|_| StoreError::Corrupt(format!("{} finished tasks", set.len()))),
            Some(_) => Err(StoreError::Corrupt(format!(
                "{}: attribute '{DONE}' is not a number set",
                string_attr(found, item::SK).unwrap_or("?")
            ))),
        }
    }
}

/// Conditional puts in flight at once in [`BulkJobStore::put_tasks`].
const PUT_TASKS_CONCURRENCY: usize = 8;

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// `{pk, sk, data, version?}`.
fn versioned(pk: String, sk: String, data: String, version: Option<u64>) -> Item {
    let mut it = item::key(pk, sk);
    it.insert(DATA.into(), AttributeValue::S(data));
    if let Some(v) = version {
        it.insert(VERSION.into(), AttributeValue::N(v.to_string()));
    }
    it
}

fn value_of<T: DeserializeOwned>(found: &Item) -> Result<T, StoreError> {
    let sk = string_attr(found, item::SK)?;
    serde_json::from_str(string_attr(found, DATA)?)
        .map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))
}

fn condition_failed(e: &SdkError<PutItemError>) -> bool {
    e.as_service_error()
        .is_some_and(PutItemError::is_conditional_check_failed_exception)
}

/// A conditional put: `Ok(false)` when the condition failed.
async fn put_if(
    client: &Client,
    table: &str,
    it: Item,
    condition: &str,
    values: HashMap<String, AttributeValue>,
) -> Result<bool, StoreError> {
    let values = (!values.is_empty()).then_some(values);
    let names = condition
        .contains("#v")
        .then(|| HashMap::from([("#v".to_string(), VERSION.to_string())]));
    match client
        .put_item()
        .table_name(table)
        .set_item(Some(it))
        .condition_expression(condition)
        .set_expression_attribute_values(values)
        .set_expression_attribute_names(names)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(StoreError::backend(format!("put {table}"), e)),
    }
}

/// Jobs and idempotency records in the Exports table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoBulkJobs {
    client: Client,
    table: String,
}

impl DynamoBulkJobs {
    /// Jobs in `table` (the Exports table). Makes no request.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoBulkJobs {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl BulkJobStore for DynamoBulkJobs {
    async fn create_job(&self, tenant: &TenantId, job: &BulkJob) -> Result<(), StoreError> {
        let sk = keys::job_sk(&job.id);
        let it = Item::try_from(JobItem { tenant, job })?;
        if put_if(
            &self.client,
            &self.table,
            it,
            "attribute_not_exists(pk)",
            HashMap::new(),
        )
        .await?
        {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(sk))
        }
    }

    async fn get_job(&self, tenant: &TenantId, id: &str) -> Result<Option<BulkJob>, StoreError> {
        item::get(
            &self.client,
            &self.table,
            keys::tenant_pk(tenant),
            &keys::job_sk(id),
        )
        .await?
        .as_ref()
        .map(value_of)
        .transpose()
    }

    async fn replace_job(
        &self,
        tenant: &TenantId,
        job: &BulkJob,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let it = Item::try_from(JobItem { tenant, job })?;
        put_if(
            &self.client,
            &self.table,
            it,
            "#v = :expected",
            HashMap::from([(
                ":expected".to_string(),
                AttributeValue::N(expected_version.to_string()),
            )]),
        )
        .await
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: u64,
        limit: u32,
    ) -> Result<JobPage, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let mut jobs = Vec::new();
        let mut seen: u64 = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(keys::JOB_PREFIX.into()))
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("query {} jobs", self.table), e))?;
            for found in out.items() {
                if seen >= offset && jobs.len() < limit as usize {
                    jobs.push(value_of(found)?);
                }
                seen += 1;
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(JobPage { jobs, total: seen });
            }
        }
    }

    async fn put_idempotency(
        &self,
        tenant: &TenantId,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let sk = keys::idempotency_sk(&record.key_sha256);
        let it = versioned(pk.clone(), sk.clone(), json(record)?, None);
        if put_if(
            &self.client,
            &self.table,
            it,
            "attribute_not_exists(pk)",
            HashMap::new(),
        )
        .await?
        {
            return Ok(None);
        }
        item::get(&self.client, &self.table, pk, &sk)
            .await?
            .as_ref()
            .map(value_of)
            .transpose()
    }

    /// One `PutItem` on `attribute_not_exists(pk)` per task (a few at a
    /// time), and per job the empty [`TasksDoneItem`] with the tasks' ttl,
    /// on the same condition; a put whose item exists changes nothing.
    async fn put_tasks(&self, tenant: &TenantId, tasks: &[BulkTask]) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(tasks.len() + 1);
        let mut jobs: Vec<(&str, Option<i64>)> = Vec::new();
        for task in tasks {
            items.push(Item::try_from(TaskItem { tenant, task })?);
            if !jobs.iter().any(|(j, _)| *j == task.job_id) {
                jobs.push((&task.job_id, task.ttl));
            }
        }
        items.extend(jobs.into_iter().map(|(job_id, ttl)| {
            Item::from(TasksDoneItem {
                tenant,
                job_id,
                ttl,
            })
        }));
        futures::stream::iter(items)
            .map(|it| {
                put_if(
                    &self.client,
                    &self.table,
                    it,
                    "attribute_not_exists(pk)",
                    HashMap::new(),
                )
            })
            .buffer_unordered(PUT_TASKS_CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await
            .map(|_| ())
    }

    async fn get_task(
        &self,
        tenant: &TenantId,
        job_id: &str,
        index: u32,
    ) -> Result<Option<BulkTask>, StoreError> {
        item::get(
            &self.client,
            &self.table,
            keys::tenant_pk(tenant),
            &keys::task_sk(job_id, index),
        )
        .await?
        .as_ref()
        .map(BulkTask::try_from)
        .transpose()
    }

    /// A `PutItem` on `version = :expected` (false on a missing item too).
    async fn replace_task(
        &self,
        tenant: &TenantId,
        task: &BulkTask,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        put_if(
            &self.client,
            &self.table,
            Item::try_from(TaskItem { tenant, task })?,
            "#v = :expected",
            HashMap::from([(
                ":expected".to_string(),
                AttributeValue::N(expected_version.to_string()),
            )]),
        )
        .await
    }

    /// A consistent `Query` of `begins_with(sk, TASK#{job}#)`, page after
    /// page; the zero-padded index in the key gives index order.
    async fn list_tasks(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> Result<Vec<BulkTask>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let prefix = keys::task_prefix(job_id);
        let mut tasks = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("query {} tasks", self.table), e))?;
            for found in out.items() {
                tasks.push(BulkTask::try_from(found)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                // Already in key order; an index past 99,999 would not be.
                tasks.sort_by_key(|t: &BulkTask| t.index);
                return Ok(tasks);
            }
        }
    }

    /// `UpdateItem` of `{pk, sk: TASKSDONE#{job}}`: `ADD #done :idx` (a
    /// number set of the index) on the condition
    /// `attribute_not_exists(#done) OR NOT contains(#done, :i)`, returning
    /// `ALL_NEW`: the set's size after this write. When the condition fails
    /// the index was already there, and a consistent `GetItem` gives the
    /// size (it can only have grown since).
    async fn mark_task_done(
        &self,
        tenant: &TenantId,
        job_id: &str,
        index: u32,
    ) -> Result<u32, StoreError> {
        let key = item::key(keys::tenant_pk(tenant), keys::tasks_done_sk(job_id));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression("ADD #done :idx")
            .condition_expression("attribute_not_exists(#done) OR NOT contains(#done, :i)")
            .expression_attribute_names("#done", DONE)
            .expression_attribute_values(":idx", AttributeValue::Ns(vec![index.to_string()]))
            .expression_attribute_values(":i", AttributeValue::N(index.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let new = out.attributes.unwrap_or_default();
                DoneCount::try_from(&new).map(|d| d.0)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                let sk = keys::tasks_done_sk(job_id);
                let found = item::get(&self.client, &self.table, keys::tenant_pk(tenant), &sk)
                    .await?
                    .unwrap_or(key);
                DoneCount::try_from(&found).map(|d| d.0)
            }
            Err(e) => Err(StoreError::backend(
                format!("mark a task of {job_id} done"),
                e,
            )),
        }
    }
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let sk = keys::api_key_sk(&key.sha256);
        self.put_item(ConfigItem::new(
            keys::tenant_pk(&key.tenant),
            sk.clone(),
            key,
        )?)
        .await?;
        let pointer = ApiKeyPointer {
            tenant: key.tenant.clone(),
        };
        self.put_item(ConfigItem::new(sk, keys::API_KEY_POINTER_SK, &pointer)?)
            .await
    }

    async fn api_key_by_hash(&self, sha256: &str) -> Result<Option<ApiKey>, StoreError> {
        let sk = keys::api_key_sk(sha256);
        let Some(p) = self
            .get_config::<ApiKeyPointer>(sk.clone(), keys::API_KEY_POINTER_SK)
            .await?
        else {
            return Ok(None);
        };
        self.get_config(keys::tenant_pk(&p.tenant), &sk).await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.list_config(keys::tenant_pk(tenant), keys::API_KEY_PREFIX.into())
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
        let sk = keys::api_key_sk(&key.sha256);
        // The pointer first: once it is gone the key no longer authenticates.
        for (pk, sk) in [
            (sk.clone(), keys::API_KEY_POINTER_SK.to_string()),
            (keys::tenant_pk(tenant), sk),
        ] {
            self.client()
                .delete_item()
                .table_name(self.config_table())
                .set_key(Some(item::key(pk, sk)))
                .send()
                .await
                .map_err(|e| StoreError::backend("revoke api key", e))?;
        }
        Ok(true)
    }

    async fn account_blocked(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        Ok(self
            .get_config::<Blocked>(keys::tenant_pk(tenant), keys::BLOCKED_SK)
            .await?
            .is_some_and(|b| b.blocked))
    }

    async fn set_account_blocked(
        &self,
        tenant: &TenantId,
        blocked: bool,
    ) -> Result<(), StoreError> {
        self.put_item(ConfigItem::new(
            keys::tenant_pk(tenant),
            keys::BLOCKED_SK,
            &Blocked { blocked },
        )?)
        .await
    }

    async fn get_bucket(
        &self,
        tenant: &TenantId,
        key_id: &str,
    ) -> Result<Option<Bucket>, StoreError> {
        self.get_config(keys::tenant_pk(tenant), &keys::rate_sk(key_id))
            .await
    }

    async fn put_bucket(
        &self,
        tenant: &TenantId,
        key_id: &str,
        bucket: &Bucket,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let it = versioned(
            keys::tenant_pk(tenant),
            keys::rate_sk(key_id),
            json(bucket)?,
            Some(bucket.version),
        );
        match expected {
            None => {
                put_if(
                    self.client(),
                    self.config_table(),
                    it,
                    "attribute_not_exists(pk)",
                    HashMap::new(),
                )
                .await
            }
            Some(v) => {
                put_if(
                    self.client(),
                    self.config_table(),
                    it,
                    "#v = :expected",
                    HashMap::from([(":expected".to_string(), AttributeValue::N(v.to_string()))]),
                )
                .await
            }
        }
    }
}

#[async_trait]
impl ActivityStore for DynamoStore {
    async fn put_activities(
        &self,
        tenant: &TenantId,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        // BatchWriteItem rejects two puts of one key: keep the last of each.
        let mut by_key: Vec<(String, String, String)> = Vec::with_capacity(records.len());
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        for r in &records {
            let (at, sk) = keys::activity_key(r)?;
            let pk = keys::activity_pk(tenant, at.date_naive());
            let data = json(&r.data)?;
            match index.get(&(pk.clone(), sk.clone())) {
                Some(&i) => by_key[i].2 = data,
                None => {
                    index.insert((pk.clone(), sk.clone()), by_key.len());
                    by_key.push((pk, sk, data));
                }
            }
        }
        for chunk in by_key.chunks(BATCH_WRITE_MAX) {
            let mut writes = Vec::with_capacity(chunk.len());
            for (pk, sk, data) in chunk {
                let put = PutRequest::builder()
                    .set_item(Some(versioned(pk.clone(), sk.clone(), data.clone(), None)))
                    .build()
                    .map_err(|e| StoreError::backend("build put request", e))?;
                writes.push(WriteRequest::builder().put_request(put).build());
            }
            self.batch_write(writes).await?;
        }
        Ok(())
    }

    /// Not atomic: see [`BatchedLoad`].
    async fn begin_activity_load(
        &self,
        tenant: &TenantId,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError> {
        Ok(Box::new(BatchedLoad {
            store: self,
            tenant: tenant.clone(),
            target: LoadTarget::Activities,
            written: 0,
        }))
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
        let mut out = Vec::with_capacity(limit.min(1_000));
        let mut after = after.filter(|a| !a.is_empty());
        loop {
            let want = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let query = self
                .client()
                .query()
                .table_name(self.entities_table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .consistent_read(true)
                .limit(want)
                .set_exclusive_start_key(after.as_ref().map(|a| item::key(pk.clone(), a.clone())));
            let res = query
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("query {pk}"), e))?;
            for found in res.items() {
                let sk = string_attr(found, item::SK)?;
                let map: serde_json::Map<String, serde_json::Value> = value_of(found)?;
                let id = sk.split_once('#').map_or(sk, |(_, id)| id);
                out.push(Record::new(id, map));
            }
            match res.last_evaluated_key() {
                Some(k) => {
                    let last = string_attr(k, item::SK)?.to_string();
                    if out.len() >= limit {
                        return Ok((out, Some(last)));
                    }
                    after = Some(last);
                }
                None => return Ok((out, None)),
            }
        }
    }

    /// A `Select=COUNT` query over the day's sort key range, eventually
    /// consistent (half the read units of the export's strongly consistent
    /// reads), page by page: DynamoDB counts at most 1 MB of items a call.
    async fn count_activities_of_day(
        &self,
        tenant: &TenantId,
        day: NaiveDate,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let pk = keys::activity_pk(tenant, day);
        // BETWEEN is inclusive; no sort key equals the bare `to` bound
        // (each ends in `#id`), so this is `[from, to)`.
        let (from, to) = (keys::activity_sk_bound(from), keys::activity_sk_bound(to));
        let mut count = 0u64;
        let mut start = None;
        loop {
            let res = self
                .client()
                .query()
                .table_name(self.entities_table())
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":to", AttributeValue::S(to.clone()))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("count {pk}"), e))?;
            count += u64::try_from(res.count()).unwrap_or(0);
            match res.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(count),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bulk::{DateFormat, ExportFilters, ExportSpec, ExportType, ExportVersion};

    fn job(ttl: Option<i64>) -> BulkJob {
        let spec = ExportSpec {
            compression: Default::default(),
            export_type: ExportType::Contacts,
            date_format: DateFormat::Iso,
            delimiter: ',',
            version: ExportVersion::V1,
            filters: ExportFilters::default(),
        };
        let mut j = BulkJob::new(
            "0193a0c2-7b1d-7f3e-9a55-3c1e2d4f5a6b".into(),
            spec,
            chrono::Utc::now(),
        );
        j.version = 3;
        j.ttl = ttl;
        j
    }

    #[test]
    fn a_job_item_carries_keys_version_data_and_the_ttl() {
        // GIVEN a job that expires at a known second
        let (tenant, j) = (TenantId::new("t1"), job(Some(1_800_000_000)));
        // WHEN it becomes an item
        let it = Item::try_from(JobItem {
            tenant: &tenant,
            job: &j,
        })
        .unwrap();
        // THEN the keys, the version and the numeric ttl are attributes
        assert_eq!(it.get("pk"), Some(&AttributeValue::S("T#t1".into())));
        assert_eq!(
            it.get("sk"),
            Some(&AttributeValue::S(format!("JOB#{}", j.id)))
        );
        assert_eq!(it.get(VERSION), Some(&AttributeValue::N("3".into())));
        assert_eq!(it.get(TTL), Some(&AttributeValue::N("1800000000".into())));
        // AND the data reads back as the same job
        assert_eq!(value_of::<BulkJob>(&it).unwrap(), j);
    }

    fn task(ttl: Option<i64>) -> BulkTask {
        let mut t = BulkTask::new(
            &job(ttl),
            7,
            crate::model::bulk::TaskPartition::Shards {
                shards: 16,
                from: 4,
                to: 8,
            },
            chrono::Utc::now(),
        );
        t.version = 2;
        t
    }

    #[test]
    fn a_task_item_carries_keys_version_data_and_the_ttl() {
        // GIVEN a task of a job that expires at a known second
        let (tenant, t) = (TenantId::new("t1"), task(Some(1_800_000_000)));
        // WHEN it becomes an item
        let it = Item::try_from(TaskItem {
            tenant: &tenant,
            task: &t,
        })
        .unwrap();
        // THEN its key is the zero-padded task key under the tenant
        assert_eq!(it.get("pk"), Some(&AttributeValue::S("T#t1".into())));
        assert_eq!(
            it.get("sk"),
            Some(&AttributeValue::S(format!("TASK#{}#00007", t.job_id)))
        );
        assert_eq!(it.get(VERSION), Some(&AttributeValue::N("2".into())));
        assert_eq!(it.get(TTL), Some(&AttributeValue::N("1800000000".into())));
        // AND it reads back as the same task
        assert_eq!(BulkTask::try_from(&it).unwrap(), t);
        // AND without a ttl there is no ttl attribute
        let bare = Item::try_from(TaskItem {
            tenant: &tenant,
            task: &task(None),
        })
        .unwrap();
        assert!(!bare.contains_key(TTL));
    }

    #[test]
    fn a_task_item_whose_data_is_another_task_is_corrupt() {
        // GIVEN a task item whose sort key names index 8
        let (tenant, t) = (TenantId::new("t1"), task(None));
        let mut it = Item::try_from(TaskItem {
            tenant: &tenant,
            task: &t,
        })
        .unwrap();
        it.insert("sk".into(), AttributeValue::S(keys::task_sk(&t.job_id, 8)));
        // WHEN it is read, THEN it is corrupt, not task 7
        assert!(matches!(
            BulkTask::try_from(&it),
            Err(StoreError::Corrupt(_))
        ));
        // AND an item without data is corrupt too
        it.remove(DATA);
        assert!(matches!(
            BulkTask::try_from(&it),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn the_done_item_is_created_empty_with_the_ttl_and_counts_its_set() {
        // GIVEN the item put_tasks creates for a job with a ttl
        let tenant = TenantId::new("t1");
        let it = Item::from(TasksDoneItem {
            tenant: &tenant,
            job_id: "j1",
            ttl: Some(1_800_000_000),
        });
        // THEN it has the keys and the ttl, and no set yet: a count of 0
        assert_eq!(it.get("pk"), Some(&AttributeValue::S("T#t1".into())));
        assert_eq!(
            it.get("sk"),
            Some(&AttributeValue::S("TASKSDONE#j1".into()))
        );
        assert_eq!(it.get(TTL), Some(&AttributeValue::N("1800000000".into())));
        assert_eq!(DoneCount::try_from(&it).unwrap(), DoneCount(0));
        // AND once the set holds three indexes, the count is 3
        let mut with_set = it.clone();
        with_set.insert(
            DONE.into(),
            AttributeValue::Ns(vec!["0".into(), "4".into(), "2".into()]),
        );
        assert_eq!(DoneCount::try_from(&with_set).unwrap(), DoneCount(3));
        // AND a `done` that is not a number set is corrupt
        with_set.insert(DONE.into(), AttributeValue::S("3".into()));
        assert!(DoneCount::try_from(&with_set).is_err());
        // AND without a ttl the item has none
        let bare = Item::from(TasksDoneItem {
            tenant: &tenant,
            job_id: "j1",
            ttl: None,
        });
        assert!(!bare.contains_key(TTL));
    }

    #[test]
    fn a_job_without_a_ttl_has_no_ttl_attribute() {
        // GIVEN a job stored before jobs had a ttl
        let (tenant, j) = (TenantId::new("t1"), job(None));
        // WHEN it becomes an item
        let it = Item::try_from(JobItem {
            tenant: &tenant,
            job: &j,
        })
        .unwrap();
        // THEN DynamoDB will not expire it, and it reads back unchanged
        assert!(!it.contains_key(TTL));
        assert_eq!(value_of::<BulkJob>(&it).unwrap(), j);
    }
}
