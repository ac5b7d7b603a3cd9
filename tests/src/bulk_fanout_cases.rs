//! Fan-out of bulk exports: a job runs as tasks (one per activity day, or
//! per range of contact shards), any number of workers share them, and the
//! last one assembles the file. Cases of [`crate::bulk_suite!`], run on
//! every backend, and [`drain`], the shared-queue worker pool they use.

use crate::bulk::*;
use crate::json_body;
use exports_shared::model::TenantId;
use exports_shared::service::bulk::{run_delivery, Delivery, JobOutcome, WorkerDeps};
use exports_shared::store::{FileKey, JobMessage, JobQueue};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The in-memory queue the workers of [`drain`] share: the service's own.
pub use exports_shared::service::bulk::LocalQueue as MemoryQueue;

/// Runs `first` and every message it leads to on `workers` concurrent
/// workers sharing one queue, each delivery running until `deadline`; a
/// failed run puts its message back (a redelivery). Returns every outcome.
pub async fn drain(
    deps: &WorkerDeps,
    first: JobMessage,
    workers: usize,
    deadline: impl Fn() -> Option<Instant> + Send + Sync + 'static,
) -> Vec<JobOutcome> {
    let queue = Arc::new(MemoryQueue::default());
    queue.send(&first).await.expect("send");
    let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Arc::new(deadline);
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let runs = (0..workers).map(|_| {
        let (deps, queue, busy) = (deps.clone(), queue.clone(), busy.clone());
        let (deadline, outcomes) = (deadline.clone(), outcomes.clone());
        tokio::spawn(async move {
            use std::sync::atomic::Ordering::SeqCst;
            let mut failures = 0;
            loop {
                busy.fetch_add(1, SeqCst);
                let Some(msg) = queue.pop() else {
                    if busy.fetch_sub(1, SeqCst) == 1 && queue.is_empty() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                };
                let delivery = Delivery {
                    deadline: deadline(),
                    ..Delivery::UNLIMITED
                };
                match run_delivery(&deps, queue.as_ref(), &msg, delivery).await {
                    Ok(outcome) => outcomes.lock().expect("outcomes").push(outcome),
                    Err(e) => {
                        failures += 1;
                        assert!(failures < 1000, "a message keeps failing: {e}");
                        queue.send(&msg).await.expect("requeue");
                    }
                }
                busy.fetch_sub(1, SeqCst);
            }
        })
    });
    for r in runs.collect::<Vec<_>>() {
        r.await.expect("worker");
    }
    let out = outcomes.lock().expect("outcomes").clone();
    out
}

fn activities_body(from: &str, to: &str) -> Value {
    json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",",
        "filters": {"fromDate": from, "toDate": to}})
}

/// POSTs `body` for tenant A; returns the new export's id.
pub async fn create(fx: &BulkFixture, body: &Value) -> String {
    let created = fx.call(post(&fx.key_a, body)).await;
    assert_eq!(created.status(), 201, "{:?}", json_body(&created));
    json_body(&created)["id"].as_str().expect("id").to_string()
}

/// GET /exports/{id} for tenant A.
pub async fn status(fx: &BulkFixture, id: &str) -> Value {
    let r = fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await;
    assert_eq!(r.status(), 200);
    json_body(&r)
}

/// Whether chunk `chunk` of task `task` of tenant A's job is stored.
pub async fn chunk_stored(fx: &BulkFixture, id: &str, task: u32, chunk: u32) -> bool {
    let key = FileKey::new(
        &TenantId::new(BULK_A),
        &format!("bulk/{id}/tasks"),
        &format!("{task:05}-{chunk:05}.part"),
    )
    .expect("key");
    fx.files.read_range(&key, 0, 1).await.is_ok()
}

fn job_message(id: &str) -> JobMessage {
    JobMessage::job(TenantId::new(BULK_A), id)
}

pub async fn an_activities_export_runs_as_one_task_per_day(fx: BulkFixture) {
    // GIVEN an activities export over 7 days (2 activities a day)
    let id = create(
        &fx,
        &activities_body("2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"),
    )
    .await;
    // WHEN its message is run, the job is split into 7 tasks, each queued
    let queue = MemoryQueue::default();
    let planned = run_delivery(&fx.worker, &queue, &job_message(&id), Delivery::UNLIMITED)
        .await
        .expect("plan");
    assert_eq!(planned, JobOutcome::Planned(7));
    let mut tasks = Vec::new();
    while let Some(m) = queue.pop() {
        tasks.push(m);
    }
    assert_eq!(
        tasks.iter().map(|m| m.task).collect::<Vec<_>>(),
        (0..7).map(Some).collect::<Vec<_>>()
    );
    // AND after 3 tasks (run out of order) the status counts them
    for m in [&tasks[4], &tasks[0], &tasks[6]] {
        let outcome = run_delivery(&fx.worker, &queue, m, Delivery::UNLIMITED)
            .await
            .expect("task");
        assert_eq!(outcome, JobOutcome::TaskDone);
    }
    let s = status(&fx, &id).await;
    assert_eq!(s["status"], "inProgress");
    assert_eq!(s["tasks"], json!({"done": 3, "total": 7}));
    assert_eq!(s["progress"], 6, "2 rows in each of 3 days");
    assert_eq!(s["total"], Value::Null, "4 tasks have not started");
    assert!(chunk_stored(&fx, &id, 4, 0).await);
    // WHEN the others run, the last one assembles the file
    let mut last = None;
    for m in tasks
        .iter()
        .filter(|m| ![Some(0), Some(4), Some(6)].contains(&m.task))
    {
        last = Some(
            run_delivery(&fx.worker, &queue, m, Delivery::UNLIMITED)
                .await
                .expect("task"),
        );
    }
    assert!(matches!(last, Some(JobOutcome::Finished(_))), "{last:?}");
    // THEN the file holds the 14 activities in time order, once each
    let s = status(&fx, &id).await;
    assert_eq!(
        (s["status"].as_str(), s["rows"].as_u64()),
        (Some("finished"), Some(14))
    );
    assert_eq!(s["tasks"], json!({"done": 7, "total": 7}));
    assert_eq!(s["total"], 14);
    let file = fx
        .download(s["fileUrl"].as_str().expect("url"))
        .await
        .expect("file");
    assert_eq!(s["sha256"].as_str(), Some(sha256(&file).as_str()));
    let rows = parse_csv(&file, b',');
    assert_eq!(rows[0][0], "id");
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    let expected: Vec<String> = (0..7)
        .flat_map(|d| [format!("act-{d:02}-0"), format!("act-{d:02}-1")])
        .collect();
    assert_eq!(ids, expected);
    // AND no chunk is left behind, and a redelivered task does nothing
    for task in 0..7 {
        assert!(
            !chunk_stored(&fx, &id, task, 0).await,
            "task {task}'s chunk"
        );
    }
    let again = run_delivery(&fx.worker, &queue, &tasks[3], Delivery::UNLIMITED)
        .await
        .expect("redelivery");
    assert_eq!(again, JobOutcome::AlreadyDone);
    assert!(queue.pop().is_none());
}

pub async fn one_worker_and_eight_workers_write_the_same_bytes(fx: BulkFixture) {
    for body in [
        activities_body("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        json!({"exportType": "activities", "dateFormat": "LLL", "delimiter": ";",
            "compression": "gzip",
            "filters": {"fromDate": "2026-01-03T05:00:00Z", "toDate": "2026-02-03T05:00:00Z"}}),
        json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ",", "version": "v2"}),
    ] {
        // GIVEN the same export twice
        let (one, eight) = (create(&fx, &body).await, create(&fx, &body).await);
        // WHEN one is run by 1 worker and the other by 8 sharing its tasks
        let a = drain(&fx.worker, job_message(&one), 1, || None).await;
        let b = drain(&fx.worker, job_message(&eight), 8, || None).await;
        for outcomes in [&a, &b] {
            assert_eq!(
                outcomes
                    .iter()
                    .filter(|o| matches!(o, JobOutcome::Finished(_)))
                    .count(),
                1,
                "{outcomes:?}"
            );
        }
        // THEN both files are byte for byte the same
        let (sa, sb) = (status(&fx, &one).await, status(&fx, &eight).await);
        assert_eq!(sa["status"], "finished", "{sa}");
        assert_eq!(
            (&sa["sha256"], &sa["bytes"], &sa["rows"]),
            (&sb["sha256"], &sb["bytes"], &sb["rows"])
        );
        let fa = fx
            .download(sa["fileUrl"].as_str().expect("url"))
            .await
            .expect("file");
        let fb = fx
            .download(sb["fileUrl"].as_str().expect("url"))
            .await
            .expect("file");
        assert!(fa == fb, "the files differ");
        assert_eq!(sa["sha256"].as_str(), Some(sha256(&fa).as_str()));
    }
}

pub async fn a_job_cancelled_between_its_tasks_leaves_no_chunk_and_no_file(fx: BulkFixture) {
    // GIVEN an activities export whose first two tasks are done
    let id = create(
        &fx,
        &activities_body("2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"),
    )
    .await;
    let queue = MemoryQueue::default();
    run_delivery(&fx.worker, &queue, &job_message(&id), Delivery::UNLIMITED)
        .await
        .expect("plan");
    for _ in 0..2 {
        let m = queue.pop().expect("task");
        run_delivery(&fx.worker, &queue, &m, Delivery::UNLIMITED)
            .await
            .expect("task");
    }
    assert!(chunk_stored(&fx, &id, 0, 0).await && chunk_stored(&fx, &id, 1, 0).await);
    // WHEN it is cancelled
    let r = fx
        .call(crate::bulk_cancel_cases::delete(&fx.key_a, &id))
        .await;
    assert_eq!(r.status(), 200, "{:?}", json_body(&r));
    // THEN the done tasks' chunks are gone at once
    assert!(!chunk_stored(&fx, &id, 0, 0).await && !chunk_stored(&fx, &id, 1, 0).await);
    // AND the remaining tasks stop without writing anything
    while let Some(m) = queue.pop() {
        let outcome = run_delivery(&fx.worker, &queue, &m, Delivery::UNLIMITED)
            .await
            .expect("task");
        assert_eq!(outcome, JobOutcome::Cancelled);
    }
    for task in 0..4 {
        assert!(!chunk_stored(&fx, &id, task, 0).await, "task {task}");
    }
    let s = status(&fx, &id).await;
    assert_eq!(s["status"], "cancelled");
    assert!(s.get("fileUrl").is_none());
}
