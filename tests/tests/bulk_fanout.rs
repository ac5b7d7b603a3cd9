//! Fan-out on the embedded backend with tiny chunks (a few rows each), so
//! that every task writes many: a task near its deadline hands itself on,
//! a task that dies resumes from its last chunk, a task that keeps dying
//! fails its job, and any number of workers write the same bytes.

use exports_shared::model::bulk::JobStatus;
use exports_shared::model::TenantId;
use exports_shared::service::bulk::{run_delivery, Delivery, JobOutcome, FAILED_REPEATEDLY};
use exports_shared::store::{
    FileKey, FileMeta, FileStore, JobMessage, MultipartUpload, PresignedUrl, StoreError, StoredFile,
};
use exports_tests::bulk::{rec, sha256, BulkFixture, BULK_A};
use exports_tests::bulk_fanout_cases::{chunk_stored, create, drain, status, MemoryQueue};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The embedded fixture with 100 activities a day on 2026-03-01..03 and
/// chunks cut every ~256 bytes.
async fn fixture() -> BulkFixture {
    let mut fx = BulkFixture::embedded().await;
    let records = (0..3)
        .flat_map(|d| {
            (0..100).map(move |i| {
                rec(
                    &format!("m-{d}-{i:03}"),
                    json!({"contactId": "ca-1", "activityType": "email",
                        "occurredAt": format!("2026-03-0{}T{:02}:{:02}:00Z", d + 1, i / 60, i % 60),
                        "channel": "email", "metadata": {"n": i}}),
                )
            })
        })
        .collect();
    fx.activities
        .put_activities(&TenantId::new(BULK_A), records)
        .await
        .expect("seed");
    fx.worker.min_part_bytes = 64;
    fx.worker.part_bytes = 256;
    fx
}

fn march(compression: &str) -> Value {
    json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",",
        "compression": compression,
        "filters": {"fromDate": "2026-03-01T00:00:00Z", "toDate": "2026-03-04T00:00:00Z"}})
}

fn message(id: &str) -> JobMessage {
    JobMessage::job(TenantId::new(BULK_A), id)
}

/// The finished job's file, checked against its sha256.
async fn file(fx: &BulkFixture, id: &str) -> Vec<u8> {
    let s = status(fx, id).await;
    assert_eq!(s["status"], "finished", "{s}");
    let bytes = fx
        .download(s["fileUrl"].as_str().expect("url"))
        .await
        .expect("file");
    assert_eq!(s["sha256"].as_str(), Some(sha256(&bytes).as_str()));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_past_their_deadline_hand_on_and_the_file_is_the_same() {
    let mut fx = fixture().await;
    for compression in ["none", "gzip"] {
        // GIVEN the file of an uninterrupted run
        let reference = create(&fx, &march(compression)).await;
        drain(&fx.worker, message(&reference), 2, || None).await;
        let expected = file(&fx, &reference).await;
        // WHEN every delivery is already at its deadline, so each task
        // stops after every chunk and queues its continuation
        fx.worker.deadline_margin = std::time::Duration::ZERO;
        let id = create(&fx, &march(compression)).await;
        let outcomes = drain(&fx.worker, message(&id), 2, || Some(Instant::now())).await;
        fx.worker.deadline_margin = std::time::Duration::from_secs(90);
        // THEN the tasks were handed on many times, and the job finished
        // once with the same bytes
        let continued = outcomes
            .iter()
            .filter(|o| **o == JobOutcome::Continued)
            .count();
        // (with gzip the compressor holds these 20 KB until the end, so
        // nothing is cut early: only the bytes are compared)
        if compression == "none" {
            assert!(continued > 30, "{continued} continuations");
        }
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, JobOutcome::Finished(_)))
                .count(),
            1
        );
        assert!(
            file(&fx, &id).await == expected,
            "{compression}: the files differ"
        );
        assert_eq!(
            exports_tests::bulk::parse_csv(&expected_plain(&expected, compression), b',').len(),
            301
        );
    }
}

fn expected_plain(bytes: &[u8], compression: &str) -> Vec<u8> {
    if compression == "gzip" {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)
            .expect("gunzip");
        out
    } else {
        bytes.to_vec()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_and_one_write_the_same_gzip_file() {
    let fx = fixture().await;
    let (one, eight) = (
        create(&fx, &march("gzip")).await,
        create(&fx, &march("gzip")).await,
    );
    drain(&fx.worker, message(&one), 1, || None).await;
    drain(&fx.worker, message(&eight), 8, || None).await;
    let (a, b) = (file(&fx, &one).await, file(&fx, &eight).await);
    assert!(a == b, "the files differ");
    // The chunks are separate gzip members; any gzip reader reads them all.
    let plain = expected_plain(&a, "gzip");
    let rows = exports_tests::bulk::parse_csv(&plain, b',');
    assert_eq!(rows.len(), 301);
    assert_eq!(rows[1][0], "m-0-000");
    assert_eq!(rows[300][0], "m-2-099");
}

/// A file store that fails the `put` of chosen chunk keys (`times` each,
/// `u32::MAX` for ever) and counts every put per key.
struct Flaky {
    inner: Arc<dyn FileStore>,
    fail: Mutex<HashMap<String, u32>>,
    puts: Mutex<HashMap<String, u32>>,
}

#[async_trait::async_trait]
impl FileStore for Flaky {
    async fn put(
        &self,
        key: &FileKey,
        body: Vec<u8>,
        meta: &FileMeta,
    ) -> Result<StoredFile, StoreError> {
        *self
            .puts
            .lock()
            .expect("puts")
            .entry(key.file_name().to_string())
            .or_default() += 1;
        if let Some(left) = self.fail.lock().expect("fail").get_mut(key.file_name()) {
            if *left > 0 {
                *left = left.saturating_sub(1);
                return Err(StoreError::Corrupt("the disk fell off".into()));
            }
        }
        self.inner.put(key, body, meta).await
    }
    async fn start_upload(
        &self,
        key: &FileKey,
        meta: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        self.inner.start_upload(key, meta).await
    }
    async fn presign_get(
        &self,
        key: &FileKey,
        ttl: std::time::Duration,
    ) -> Result<PresignedUrl, StoreError> {
        self.inner.presign_get(key, ttl).await
    }
    async fn delete(&self, key: &FileKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn read_range(
        &self,
        key: &FileKey,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, StoreError> {
        self.inner.read_range(key, offset, len).await
    }
}

fn flaky(fx: &mut BulkFixture, failing: &[(&str, u32)]) -> Arc<Flaky> {
    let store = Arc::new(Flaky {
        inner: fx.worker.files.clone(),
        fail: Mutex::new(failing.iter().map(|(k, n)| (k.to_string(), *n)).collect()),
        puts: Mutex::new(HashMap::new()),
    });
    fx.worker.files = store.clone();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_dies_resumes_from_its_last_chunk() {
    // GIVEN the file of a clean run
    let mut fx = fixture().await;
    let reference = create(&fx, &march("none")).await;
    drain(&fx.worker, message(&reference), 1, || None).await;
    let expected = file(&fx, &reference).await;
    // WHEN storing task 1's fourth chunk fails twice (its run dies there)
    let store = flaky(&mut fx, &[("00001-00003.part", 2)]);
    let id = create(&fx, &march("none")).await;
    drain(&fx.worker, message(&id), 1, || None).await;
    // THEN the retries went on from that chunk: the three before it were
    // stored once each, it was tried three times
    let puts = store.puts.lock().expect("puts").clone();
    for chunk in 0..3 {
        assert_eq!(
            puts.get(&format!("00001-{chunk:05}.part")),
            Some(&1),
            "{puts:?}"
        );
    }
    assert_eq!(puts.get("00001-00003.part"), Some(&3));
    // AND the file is the clean run's, and no chunk is left
    assert!(file(&fx, &id).await == expected);
    assert!(!chunk_stored(&fx, &id, 1, 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_keeps_dying_fails_its_job_and_leaves_no_chunk() {
    // GIVEN task 2's second chunk can never be stored
    let mut fx = fixture().await;
    let store = flaky(&mut fx, &[("00002-00001.part", u32::MAX)]);
    let id = create(&fx, &march("none")).await;
    // WHEN the job runs
    let outcomes = drain(&fx.worker, message(&id), 2, || None).await;
    // THEN the task's first run stored chunk 0 and died at chunk 1, the
    // MAX_ATTEMPTS runs after it made no progress, and the next claim
    // failed the job with a safe message
    assert!(
        outcomes.iter().any(|o| matches!(o, JobOutcome::Failed(_))),
        "{outcomes:?}"
    );
    let puts = store.puts.lock().expect("puts").clone();
    assert_eq!(
        puts.get("00002-00001.part"),
        Some(&(exports_shared::service::bulk::MAX_ATTEMPTS + 1))
    );
    let job = fx
        .jobs
        .get_job(&TenantId::new(BULK_A), &id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.error.as_deref(), Some(FAILED_REPEATEDLY));
    let s = status(&fx, &id).await;
    assert!(s.get("fileUrl").is_none());
    // AND the chunks the other tasks stored are gone
    for task in 0..3 {
        assert!(!chunk_stored(&fx, &id, task, 0).await, "task {task}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_appears_once_every_task_has_started() {
    // GIVEN a 3-day export (300 activities) whose task 2 dies at its
    // second chunk once
    let mut fx = fixture().await;
    flaky(&mut fx, &[("00002-00001.part", 1)]);
    let id = create(&fx, &march("none")).await;
    let queue = MemoryQueue::default();
    let run = |m: JobMessage| {
        let (worker, queue) = (fx.worker.clone(), &queue);
        async move { run_delivery(&worker, queue, &m, Delivery::UNLIMITED).await }
    };
    assert_eq!(
        run(message(&id)).await.expect("plan"),
        JobOutcome::Planned(3)
    );
    let tasks: Vec<JobMessage> = std::iter::from_fn(|| queue.pop()).collect();
    // WHEN task 0 has run, THEN the total is not known yet
    assert_eq!(
        run(tasks[0].clone()).await.expect("task 0"),
        JobOutcome::TaskDone
    );
    let s = status(&fx, &id).await;
    assert_eq!(
        (s["status"].as_str(), &s["total"]),
        (Some("inProgress"), &Value::Null)
    );
    // WHEN task 2 starts and dies, and task 1 runs
    assert!(run(tasks[2].clone()).await.is_err());
    assert_eq!(
        run(tasks[1].clone()).await.expect("task 1"),
        JobOutcome::TaskDone
    );
    // THEN every task has started: the total is the 300 rows, ahead of
    // the progress
    let s = status(&fx, &id).await;
    assert_eq!(
        (s["status"].as_str(), s["total"].as_u64()),
        (Some("inProgress"), Some(300))
    );
    assert!(s["progress"].as_u64().expect("progress") < 300, "{s}");
    // AND when task 2 runs again, the job finishes with those 300 rows
    let last = run(tasks[2].clone()).await.expect("task 2 again");
    assert!(matches!(last, JobOutcome::Finished(_)), "{last:?}");
    let s = status(&fx, &id).await;
    assert_eq!(
        (s["rows"].as_u64(), s["total"].as_u64()),
        (Some(300), Some(300))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_export_has_no_total_until_it_finishes_and_contacts_have_one_at_once() {
    let fx = fixture().await;
    // GIVEN an export of one activity type, planned, with 2 of 3 tasks run
    let mut body = march("none");
    body["filters"]["activityTypes"] = json!(["call"]);
    let id = create(&fx, &body).await;
    let queue = MemoryQueue::default();
    let run = |m: JobMessage| {
        let (worker, queue) = (fx.worker.clone(), &queue);
        async move { run_delivery(&worker, queue, &m, Delivery::UNLIMITED).await }
    };
    run(message(&id)).await.expect("plan");
    let tasks: Vec<JobMessage> = std::iter::from_fn(|| queue.pop()).collect();
    for m in &tasks[..2] {
        run(m.clone()).await.expect("task");
    }
    // THEN its total is unknown while it runs (the type is matched while
    // writing), and the rows once finished: none, every activity is an email
    let s = status(&fx, &id).await;
    assert_eq!(
        (s["status"].as_str(), &s["total"]),
        (Some("inProgress"), &Value::Null)
    );
    run(tasks[2].clone()).await.expect("last task");
    let s = status(&fx, &id).await;
    assert_eq!(
        (s["status"].as_str(), s["total"].as_u64()),
        (Some("finished"), Some(0))
    );
    // GIVEN a contacts export: the embedded store counts while planning
    let contacts = create(
        &fx,
        &json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ","}),
    )
    .await;
    run(message(&contacts)).await.expect("plan contacts");
    let planned = status(&fx, &contacts).await;
    assert_eq!(planned["status"], "inProgress");
    let total = planned["total"]
        .as_u64()
        .expect("a total right after planning");
    // WHEN it runs, THEN the file holds that many rows
    while let Some(m) = queue.pop() {
        run(m).await.expect("contacts task");
    }
    let done = status(&fx, &contacts).await;
    assert_eq!(
        (done["status"].as_str(), done["rows"].as_u64()),
        (Some("finished"), Some(total))
    );
    assert!(total > 0);
}
