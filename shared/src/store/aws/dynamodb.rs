//! [`DynamoStore`]: [`EntitySource`] and [`EntityWriter`] over the Entities
//! table. Its TenantConfig table is a [`crate::store::kv::KvStore`]
//! (`config.rs`), which gives it [`TenantConfigStore`].
//!
//! It mirrors [`crate::store::embedded::EmbeddedStore`]: the same keys, the
//! same `data` JSON, the same cursor format, the same orderings and the same
//! defaults. Where DynamoDB differs, the difference is handled here:
//!
//! - a `Query` page can end early (1 MB), so [`EntitySource::page`] keeps
//!   querying until the page is full or the tenant's last shard is exhausted;
//! - `BatchWriteItem` takes at most 25 puts, rejects two puts of one key, is
//!   not a transaction and may hand back `UnprocessedItems`, so
//!   [`EntityWriter::put_records`] keeps the last record of each id, writes in
//!   chunks of 25, and resends unprocessed items with exponential backoff;
//! - there is no transaction for a whole load, so a [`BatchedLoad`] writes
//!   each batch as it comes: a load that stops part-way leaves what it wrote.

use super::item::{self, EntityItem, Item};
use crate::model::{EntityKind, Projection, Record, TenantId, Value};
use crate::query::engine::{Collector, RowSink, ValueCounter};
use crate::query::{EntityQuery, QueryAnswer};
use crate::store::keys;
use crate::store::{
    ActivityStore, EntitySource, EntityWriter, Page, PageCursor, RecordLoad, StoreError,
    TenantConfigStore, QUERY_PAGE_SIZE,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::{StreamExt as _, TryStreamExt as _};
use std::collections::HashSet;
use std::time::Duration;

/// The most puts one `BatchWriteItem` may carry.
pub(super) const BATCH_WRITE_MAX: usize = 25;

/// How many times one chunk is sent before its unprocessed items are an error.
const BATCH_WRITE_ATTEMPTS: u32 = 8;

/// The first backoff before resending unprocessed items; it doubles per attempt.
const BACKOFF_BASE: Duration = Duration::from_millis(25);

/// The longest backoff between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The storage traits over DynamoDB. Cheap to clone (the SDK client is an
/// `Arc` inside).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    entities_table: String,
    config_table: String,
    /// `Limit` of each TenantConfig `Query`; `None` lets DynamoDB cut pages at 1 MB.
    config_page_size: Option<i32>,
    backoff_base: Duration,
}

/// Unprocessed items were still left after every attempt.
#[derive(Debug, thiserror::Error)]
#[error("{items} items still unprocessed after {attempts} attempts")]
pub struct UnprocessedItems {
    pub items: usize,
    pub attempts: u32,
}

impl DynamoStore {
    /// A store over the given tables. Makes no request: a missing table shows
    /// up as a [`StoreError::Backend`] on first use.
    pub fn new(
        client: Client,
        entities_table: impl Into<String>,
        config_table: impl Into<String>,
    ) -> Self {
        DynamoStore {
            client,
            entities_table: entities_table.into(),
            config_table: config_table.into(),
            config_page_size: None,
            backoff_base: BACKOFF_BASE,
        }
    }

    /// Reads TenantConfig lists `size` items per `Query` (at least 1) instead of
    /// DynamoDB's 1 MB pages. Lists are the same either way; tests use a small
    /// size so that every list follows `LastEvaluatedKey` across pages.
    #[must_use]
    pub fn with_config_page_size(mut self, size: i32) -> Self {
        self.config_page_size = Some(size.max(1));
        self
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The Entities table's name.
    pub fn entities_table(&self) -> &str {
        &self.entities_table
    }

    /// The TenantConfig table's name.
    pub fn config_table(&self) -> &str {
        &self.config_table
    }

    /// `Limit` of each TenantConfig `Query` (see [`Self::with_config_page_size`]).
    pub(super) fn config_page_size(&self) -> Option<i32> {
        self.config_page_size
    }

    /// Writes one chunk of at most [`BATCH_WRITE_MAX`] puts to the Entities
    /// table, resending `UnprocessedItems` with exponential backoff.
    pub(super) async fn batch_write(&self, pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        self.batch_write_to(&self.entities_table, pending).await
    }

    /// [`Self::batch_write`] to `table`.
    pub(super) async fn batch_write_to(
        &self,
        table: &str,
        mut pending: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        for attempt in 0..BATCH_WRITE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(self.backoff_base, attempt, rand::random())).await;
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("batch write {table}"), e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut unprocessed| unprocessed.remove(table))
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            tracing::debug!(table = %table, unprocessed = pending.len(), attempt, "resending unprocessed items");
        }
        Err(StoreError::backend(
            format!("batch write {table}"),
            UnprocessedItems {
                items: pending.len(),
                attempts: BATCH_WRITE_ATTEMPTS,
            },
        ))
    }
}

/// The wait before attempt `attempt` (1-based): half of `base * 2^(attempt-1)`
/// (capped at [`BACKOFF_MAX`]) plus a random part of the other half, so that
/// writers that were throttled together do not retry together.
fn backoff(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    ceiling / 2 + (ceiling / 2).mul_f64(jitter.clamp(0.0, 1.0))
}

/// The records to write: the last one of each id, as the embedded store's
/// upserts in one transaction leave them. (`BatchWriteItem` rejects a request
/// that puts one key twice.)
fn last_of_each_id(records: Vec<Record>) -> Vec<Record> {
    let mut seen = HashSet::new();
    let mut kept: Vec<Record> = records
        .into_iter()
        .rev()
        .filter(|r| seen.insert(r.id.clone()))
        .collect();
    kept.reverse();
    kept
}

/// The cursor, as the embedded store writes it: `{shards}|{shard}|{last sk}`.
/// An empty last key means "from the start of that shard".
fn format_cursor(shards: u32, shard: u32, last: &str) -> PageCursor {
    keys::encode_cursor(shards, shard, last)
}

impl DynamoStore {
    /// One `Query` of shard `shard` of the tenant's `entity`, of at most
    /// `limit` items after the sort key `after` (from the start when empty).
    async fn query_shard(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        shard: u32,
        after: &str,
        limit: usize,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, StoreError> {
        let pk = keys::entity_pk(tenant, entity, shard);
        let start = (!after.is_empty()).then(|| item::key(pk.clone(), after.to_string()));
        self.client
            .query()
            .table_name(&self.entities_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .consistent_read(true)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::backend(format!("query {} {pk}", self.entities_table), e))
    }

    /// Every shard of the tenant's `entity`, read side by side, each as a
    /// stream of pages of projected rows: at most one page per shard is in
    /// flight, so memory is bounded by the shard count, not the tenant.
    async fn shard_rows<'a>(
        &'a self,
        tenant: &'a TenantId,
        entity: EntityKind,
        projection: &'a Projection,
    ) -> Result<impl futures::Stream<Item = Result<Vec<Vec<Value>>, StoreError>> + 'a, StoreError>
    {
        let shards = self
            .settings(tenant)
            .await?
            .shards
            .clamp(1, keys::MAX_SHARDS);
        let streams = (0..shards).map(move |shard| {
            futures::stream::try_unfold(Some(String::new()), move |after| async move {
                let Some(after) = after else {
                    return Ok(None);
                };
                let out = self
                    .query_shard(tenant, entity, shard, &after, QUERY_PAGE_SIZE)
                    .await?;
                let rows = out
                    .items()
                    .iter()
                    .map(|found| Record::try_from(found).map(|r| projection.project(&r)))
                    .collect::<Result<Vec<_>, _>>()?;
                let next = match out.last_evaluated_key() {
                    Some(key) => Some(item::string_attr(key, item::SK)?.to_string()),
                    None => None,
                };
                Ok(Some((rows, next)))
            })
            .boxed()
        });
        Ok(futures::stream::select_all(streams))
    }

    /// Pushes every projected row of the tenant's entity into `sink`, the
    /// shards read side by side, until they end or the sink is done.
    async fn scan_shards(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        sink: &mut dyn RowSink,
    ) -> Result<(), StoreError> {
        let mut pages = std::pin::pin!(self.shard_rows(tenant, q.entity, &q.projection).await?);
        while let Some(rows) = pages.try_next().await? {
            for row in rows {
                sink.push(row);
            }
            if sink.is_done() {
                break;
            }
        }
        Ok(())
    }
}

/// Reads a cursor of [`format_cursor`].
#[async_trait]
impl EntitySource for DynamoStore {
    /// Queries the tenant's shards in order, `limit` items at a time, resuming
    /// after the cursor's key. A page holds at most `limit` records and is
    /// short only at the end of the last shard.
    async fn page(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let (shards, mut shard, mut after) = match cursor {
            Some(c) => keys::decode_cursor(&c)?,
            None => (self.settings(tenant).await?.shards.max(1), 0, String::new()),
        };
        let limit = limit.max(1);
        let mut records = Vec::with_capacity(limit.min(1_000));
        loop {
            let want = limit - records.len();
            let out = self
                .query_shard(tenant, entity, shard, &after, want)
                .await?;
            for found in out.items() {
                records.push(Record::try_from(found)?);
            }
            match out.last_evaluated_key() {
                // More of this shard may follow: stop when full, else keep
                // reading it (the page was cut at 1 MB).
                Some(key) => {
                    after = item::string_attr(key, item::SK)?.to_string();
                    if records.len() >= limit {
                        return Ok(Page {
                            records,
                            next: Some(format_cursor(shards, shard, &after)),
                        });
                    }
                }
                // This shard is exhausted: on to the next one.
                None => {
                    shard += 1;
                    after.clear();
                    if shard >= shards {
                        return Ok(Page {
                            records,
                            next: None,
                        });
                    }
                    if records.len() >= limit {
                        return Ok(Page {
                            records,
                            next: Some(format_cursor(shards, shard, "")),
                        });
                    }
                }
            }
        }
    }

    /// DynamoDB cannot filter or sort ad hoc: every shard is scanned, side
    /// by side, and the query is evaluated in process ([`Collector`]), which
    /// holds no more rows than the window needs and counts the total.
    async fn query(&self, tenant: &TenantId, q: &EntityQuery) -> Result<QueryAnswer, StoreError> {
        let mut collector = Collector::new(q);
        self.scan_shards(tenant, q, &mut collector).await?;
        Ok(collector.finish())
    }

    /// As [`query`](Self::query), counting values instead of keeping rows.
    async fn count_values(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        index: usize,
    ) -> Result<Vec<(Value, u64)>, StoreError> {
        let mut counter = ValueCounter::new(q, index);
        self.scan_shards(tenant, q, &mut counter).await?;
        Ok(counter.finish())
    }
}

#[async_trait]
impl EntityWriter for DynamoStore {
    /// Upserts with `BatchWriteItem`, 25 puts per request. Unlike the embedded
    /// store this is not one transaction: when it fails, some chunks may be
    /// written. Puts are idempotent, so repeating the call is safe.
    async fn put_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        let shards = self.settings(tenant).await?.shards.max(1);
        let records = last_of_each_id(records);
        for chunk in records.chunks(BATCH_WRITE_MAX) {
            let requests = chunk
                .iter()
                .map(|record| {
                    let pk = keys::entity_pk(tenant, entity, keys::shard_of(&record.id, shards));
                    let put = PutRequest::builder()
                        .set_item(Some(Item::try_from(EntityItem { pk: &pk, record })?))
                        .build()
                        .map_err(|e| StoreError::backend("build put request", e))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.batch_write(requests).await?;
        }
        Ok(())
    }

    /// Not atomic: see [`BatchedLoad`].
    async fn begin_load(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError> {
        Ok(Box::new(BatchedLoad {
            store: self,
            tenant: tenant.clone(),
            target: LoadTarget::Entity(entity),
            written: 0,
        }))
    }
}

/// What a [`BatchedLoad`] writes.
#[derive(Debug, Clone, Copy)]
pub(super) enum LoadTarget {
    Entity(EntityKind),
    Activities,
}

/// A [`RecordLoad`] without a transaction: each batch is written when it
/// comes, so [`RecordLoad::commit`] has nothing left to do.
pub(super) struct BatchedLoad<'a> {
    pub(super) store: &'a DynamoStore,
    pub(super) tenant: TenantId,
    pub(super) target: LoadTarget,
    pub(super) written: u64,
}

#[async_trait]
impl RecordLoad for BatchedLoad<'_> {
    async fn write(&mut self, records: Vec<Record>) -> Result<(), StoreError> {
        let n = records.len() as u64;
        match self.target {
            LoadTarget::Entity(entity) => {
                self.store
                    .put_records(&self.tenant, entity, records)
                    .await?;
            }
            LoadTarget::Activities => self.store.put_activities(&self.tenant, records).await?,
        }
        self.written += n;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<u64, StoreError> {
        Ok(self.written)
    }

    fn all_or_nothing(&self) -> bool {
        false
    }
}

/// Without a network: the pure parts, and the store against a fake DynamoDB
/// made of `aws-smithy-mocks` rules that answer from an in-memory table.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantSettings;
    use crate::store::kv::ConfigItem;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use serde_json::json;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Mutex};

    fn record(id: &str, n: i64) -> Record {
        match json!({"n": n}) {
            serde_json::Value::Object(map) => Record::new(id, map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_a_bad_cursor() {
        let c = format_cursor(4, 2, "c-10|x");
        assert_eq!(c.0, "4|2|c-10|x");
        assert_eq!(
            keys::decode_cursor(&c).expect("ours"),
            (4, 2, "c-10|x".into())
        );
        assert_eq!(
            keys::decode_cursor(&format_cursor(4, 3, "")).expect("ours"),
            (4, 3, String::new())
        );
        for bad in [
            "", "garbage", "4|2", "4|4|c-1", "0|0|x", "-1|0|x", "4|x|c", "a|1|c",
        ] {
            assert!(
                matches!(
                    keys::decode_cursor(&PageCursor(bad.into())),
                    Err(StoreError::BadCursor)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_last_record_of_each_id_is_kept_in_order() {
        let kept = last_of_each_id(vec![
            record("a", 1),
            record("b", 1),
            record("a", 2),
            record("c", 1),
            record("b", 2),
        ]);
        let got: Vec<(String, i64)> = kept
            .iter()
            .map(|r| (r.id.clone(), r.get("n").as_i64().unwrap_or(-1)))
            .collect();
        assert_eq!(got, [("a".into(), 2), ("c".into(), 1), ("b".into(), 2)]);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(base, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(base, 3, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(base, 3, 0.5), Duration::from_millis(300));
        assert_eq!(backoff(base, 30, 1.0), BACKOFF_MAX);
        assert_eq!(backoff(base, u32::MAX, 7.0), BACKOFF_MAX);
    }

    /// An in-memory Entities table: pk → (sk → item).
    type Table = Arc<Mutex<BTreeMap<String, BTreeMap<String, Item>>>>;

    fn attr(item: &HashMap<String, AttributeValue>, name: &str) -> String {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    }

    /// A `Query` answered from `table`, honouring `ExclusiveStartKey` and
    /// `Limit`, and cut at `cut` items like DynamoDB's 1 MB pages. Like real
    /// DynamoDB it returns `LastEvaluatedKey` whenever it stopped at `Limit`.
    fn query_rule(table: Table, cut: usize) -> aws_smithy_mocks::Rule {
        mock!(Client::query).then_compute_output(move |req| {
            let pk = req
                .expression_attribute_values()
                .and_then(|v| v.get(":pk"))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let after = req
                .exclusive_start_key()
                .map(|k| attr(k, item::SK))
                .unwrap_or_default();
            let limit = usize::try_from(req.limit().unwrap_or(i32::MAX)).unwrap_or(usize::MAX);
            let guard = table.lock().expect("lock");
            let items: Vec<Item> = guard
                .get(&pk)
                .map(|part| {
                    part.range(after.clone()..)
                        .filter(|(sk, _)| **sk > after)
                        .map(|(_, i)| i.clone())
                        .take(limit.min(cut))
                        .collect()
                })
                .unwrap_or_default();
            let stopped = items.len() == limit
                || (items.len() == cut
                    && guard.get(&pk).is_some_and(|p| {
                        p.range(after.clone()..)
                            .filter(|(k, _)| **k > after)
                            .count()
                            > cut
                    }));
            let last = items
                .last()
                .map(|i| item::key(pk.clone(), attr(i, item::SK)));
            QueryOutput::builder()
                .set_items(Some(items))
                .set_last_evaluated_key(if stopped { last } else { None })
                .build()
        })
    }

    fn settings_rule(shards: u32) -> aws_smithy_mocks::Rule {
        mock!(Client::get_item).then_compute_output(move |_| {
            let settings = TenantSettings {
                shards,
                ..TenantSettings::default()
            };
            let config = ConfigItem::new("T#t", keys::SETTINGS_SK, &settings).expect("serialises");
            GetItemOutput::builder()
                .set_item(Some(Item::from(config)))
                .build()
        })
    }

    /// Seeds `n` records of tenant `t` over `shards` shards straight into the table.
    fn seed(table: &Table, n: usize, shards: u32) -> Vec<String> {
        let t = TenantId::new("t");
        let mut guard = table.lock().expect("lock");
        let mut ids = Vec::new();
        for i in 0..n {
            let rec = record(&format!("c-{i:04}"), i as i64);
            let pk = keys::entity_pk(&t, EntityKind::Contacts, keys::shard_of(&rec.id, shards));
            let it = Item::try_from(EntityItem {
                pk: &pk,
                record: &rec,
            })
            .expect("serialises");
            guard.entry(pk).or_default().insert(rec.id.clone(), it);
            ids.push(rec.id);
        }
        ids
    }

    async fn read_all(store: &DynamoStore, limit: usize) -> (Vec<String>, Vec<usize>) {
        let t = TenantId::new("t");
        let mut ids = Vec::new();
        let mut sizes = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .page(&t, EntityKind::Contacts, cursor, limit)
                .await
                .expect("page");
            sizes.push(page.records.len());
            ids.extend(page.records.into_iter().map(|r| r.id));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return (ids, sizes),
            }
        }
    }

    #[tokio::test]
    async fn pages_cross_shards_and_survive_short_query_pages() {
        let table: Table = Arc::default();
        let mut expected = seed(&table, 53, 3);
        expected.sort();
        for (limit, cut) in [(1, 1000), (7, 1000), (10, 3), (53, 4), (100, 5)] {
            let queries = query_rule(table.clone(), cut);
            let settings = settings_rule(3);
            let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&queries, &settings]);
            let store = DynamoStore::new(client, "entities", "config");
            let (mut ids, sizes) = read_all(&store, limit).await;
            assert!(
                sizes.iter().all(|&n| n <= limit),
                "{limit}/{cut}: {sizes:?}"
            );
            let full = sizes.len() - 1;
            assert!(
                sizes[..full].iter().all(|&n| n == limit),
                "{limit}/{cut}: {sizes:?}"
            );
            ids.sort();
            assert_eq!(ids, expected, "limit {limit}, cut {cut}");
            assert_eq!(
                settings.num_calls(),
                1,
                "settings are read for the first page only"
            );
        }
    }

    #[tokio::test]
    async fn unprocessed_items_are_resent_until_written() {
        let written: Arc<Mutex<Vec<String>>> = Arc::default();
        let calls: Arc<Mutex<Vec<usize>>> = Arc::default();
        let (w, c) = (written.clone(), calls.clone());
        // Every request leaves its last two puts unprocessed, until a request
        // has two puts or fewer.
        let batch = mock!(Client::batch_write_item).then_compute_output(move |req| {
            let puts = req
                .request_items()
                .and_then(|r| r.get("entities"))
                .cloned()
                .unwrap_or_default();
            c.lock().expect("lock").push(puts.len());
            let keep = if puts.len() > 2 {
                puts.len() - 2
            } else {
                puts.len()
            };
            let mut w = w.lock().expect("lock");
            for p in &puts[..keep] {
                let put = p.put_request().expect("a put");
                w.push(attr(put.item(), item::SK));
            }
            let rest = puts[keep..].to_vec();
            let unprocessed =
                (!rest.is_empty()).then(|| HashMap::from([("entities".to_string(), rest)]));
            BatchWriteItemOutput::builder()
                .set_unprocessed_items(unprocessed)
                .build()
        });
        let settings = settings_rule(4);
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&batch, &settings]);
        let mut store = DynamoStore::new(client, "entities", "config");
        store.backoff_base = Duration::from_millis(1);

        // 60 records, one id twice: 59 distinct, so chunks of 25, 25 and 9.
        let mut records: Vec<Record> = (0..59).map(|i| record(&format!("r{i:02}"), i)).collect();
        records.insert(10, record("r30", -1));
        store
            .put_records(&TenantId::new("t"), EntityKind::Contacts, records)
            .await
            .expect("written");

        assert_eq!(*calls.lock().expect("lock"), [25, 2, 25, 2, 9, 2]);
        let mut got = written.lock().expect("lock").clone();
        got.sort();
        let want: Vec<String> = (0..59).map(|i| format!("r{i:02}")).collect();
        assert_eq!(got, want, "every record once, the duplicate id only once");
    }

    #[tokio::test]
    async fn items_left_unprocessed_after_every_attempt_are_an_error() {
        let batch = mock!(Client::batch_write_item).then_compute_output(|req| {
            BatchWriteItemOutput::builder()
                .set_unprocessed_items(req.request_items().cloned())
                .build()
        });
        let settings = settings_rule(4);
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&batch, &settings]);
        let mut store = DynamoStore::new(client, "entities", "config");
        store.backoff_base = Duration::from_millis(1);
        let err = store
            .put_records(
                &TenantId::new("t"),
                EntityKind::Contacts,
                vec![record("a", 1), record("b", 2)],
            )
            .await
            .expect_err("never written");
        assert_eq!(batch.num_calls(), BATCH_WRITE_ATTEMPTS as usize);
        match err {
            StoreError::Backend { context, source } => {
                assert_eq!(context, "batch write entities");
                assert_eq!(
                    source.to_string(),
                    "2 items still unprocessed after 8 attempts"
                );
            }
            other => panic!("expected a backend error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn service_errors_keep_their_source() {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
        let missing = mock!(Client::get_item).then_error(|| {
            GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, [&missing]);
        let store = DynamoStore::new(client, "entities", "no-such-table");
        let err = store
            .settings(&TenantId::new("t"))
            .await
            .expect_err("no table");
        assert_eq!(
            err.to_string(),
            "storage backend failed: get no-such-table SETTINGS"
        );
        let source = std::error::Error::source(&err).expect("keeps the SDK error");
        let chain = format!("{source:?}");
        assert!(chain.contains("ResourceNotFoundException"), "{chain}");
    }
}
