//! The bulk storage contract (jobs and their transitions, idempotency
//! records, fan-out tasks and the set of finished ones, API keys, the
//! blocked flag, rate buckets, day-bucketed activities), written once and
//! run on SQLite and on DynamoDB in moto.

use crate::backends;
use crate::bulk::rec;
use exports_shared::auth::rate_limit::{take_token, RateDecision, RateLimit};
use exports_shared::model::bulk::{
    ApiKey, BulkJob, BulkTask, DateFormat, ExportFilters, ExportSpec, ExportType, ExportVersion,
    JobOutput, JobStatus, Permission, TaskChunk, TaskPartition, TaskStatus,
};
use exports_shared::model::{Record, TenantId};
use exports_shared::service::bulk::lease::{claim, fail, finish, report_progress, Claim};
use exports_shared::store::aws::DynamoBulkJobs;
use exports_shared::store::bulk::IdempotencyRecord;
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::{ActivityStore, ApiKeyStore, BulkJobStore, StoreError};
use serde_json::json;
use std::sync::Arc;

/// The stores under test.
pub struct BulkStores {
    pub jobs: Arc<dyn BulkJobStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub activities: Arc<dyn ActivityStore>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn embedded() -> Option<BulkStores> {
    let dir = tempfile::tempdir().expect("dir");
    let s = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    Some(BulkStores {
        jobs: s.clone(),
        keys: s.clone(),
        activities: s,
        _dir: Some(dir),
    })
}

pub async fn aws() -> Option<BulkStores> {
    let t = backends::aws().await?;
    let table = format!("test-{}-exports", uuid::Uuid::new_v4().simple());
    backends::create_table(t.store.client(), &table).await;
    Some(BulkStores {
        jobs: Arc::new(DynamoBulkJobs::new(t.store.client().clone(), table)),
        keys: t.store.clone(),
        activities: t.store.clone(),
        _dir: None,
    })
}

#[macro_export]
macro_rules! bulk_contract_suite {
    ($backend:path) => {
        $crate::bulk_contract_suite!(@cases $backend;
            jobs_are_created_once_and_replaced_conditionally,
            transitions_follow_the_state_machine_with_a_lease,
            of_two_concurrent_claims_one_wins,
            jobs_list_newest_first_per_tenant,
            idempotency_records_are_put_if_absent,
            api_keys_are_found_by_hash_and_revoked,
            rate_buckets_update_conditionally,
            a_contended_bucket_never_fails_a_request,
            activities_are_read_per_day_in_time_order,
            activities_of_a_day_are_counted_inside_a_window,
            tasks_are_put_if_absent_and_replaced_conditionally,
            tasks_list_in_index_order_per_job_and_tenant,
            a_finished_task_is_counted_once,
            concurrent_marks_each_see_a_distinct_count,
        );
    };
    (@cases $backend:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(s) = $backend().await else { return; };
                $crate::bulk_contract::$case(&s).await;
            }
        )*
    };
}

fn tenant() -> TenantId {
    TenantId::new(format!("bulk-{}", uuid::Uuid::new_v4()))
}

fn job() -> BulkJob {
    let spec = ExportSpec {
        compression: Default::default(),
        export_type: ExportType::Contacts,
        date_format: DateFormat::Iso,
        delimiter: ',',
        version: ExportVersion::V1,
        filters: ExportFilters::default(),
    };
    let now = chrono::Utc::now();
    let mut job = BulkJob::new(BulkJob::new_id(), spec, now);
    job.ttl = Some(now.timestamp() + 86_400);
    job
}

pub async fn jobs_are_created_once_and_replaced_conditionally(s: &BulkStores) {
    let (t, j) = (tenant(), job());
    s.jobs.create_job(&t, &j).await.unwrap();
    assert!(matches!(
        s.jobs.create_job(&t, &j).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(s.jobs.get_job(&t, &j.id).await.unwrap(), Some(j.clone()));
    assert_eq!(s.jobs.get_job(&tenant(), &j.id).await.unwrap(), None);
    let mut next = j.clone();
    next.progress = 5;
    next.version = 1;
    assert!(
        !s.jobs.replace_job(&t, &next, 7).await.unwrap(),
        "stale version"
    );
    assert!(s.jobs.replace_job(&t, &next, 0).await.unwrap());
    assert!(
        !s.jobs.replace_job(&t, &next, 0).await.unwrap(),
        "already replaced"
    );
    assert_eq!(
        s.jobs.get_job(&t, &j.id).await.unwrap().unwrap().progress,
        5
    );
}

pub async fn transitions_follow_the_state_machine_with_a_lease(s: &BulkStores) {
    let (t, j) = (tenant(), job());
    s.jobs.create_job(&t, &j).await.unwrap();
    let now = chrono::Utc::now();
    let lease = chrono::Duration::seconds(30);
    let Claim::Claimed(mut mine) = claim(s.jobs.as_ref(), &t, &j.id, "w1", now, lease)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(mine.status, JobStatus::InProgress);
    assert_eq!(mine.lease.as_ref().unwrap().owner, "w1");
    assert!(matches!(
        claim(s.jobs.as_ref(), &t, &j.id, "w2", now, lease)
            .await
            .unwrap(),
        Claim::Busy(_)
    ));
    assert!(
        report_progress(s.jobs.as_ref(), &t, &mut mine, "w1", 10, now, lease)
            .await
            .unwrap()
    );
    // a worker that lost its lease cannot write
    let later = now + chrono::Duration::seconds(31);
    let Claim::Claimed(mut theirs) = claim(s.jobs.as_ref(), &t, &j.id, "w2", later, lease)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(
        !report_progress(s.jobs.as_ref(), &t, &mut mine, "w1", 20, later, lease)
            .await
            .unwrap()
    );
    let output = JobOutput {
        file_key: "k".into(),
        rows: 3,
        bytes: 9,
        sha256: "ab".into(),
        finished_at: later,
    };
    assert!(
        !finish(s.jobs.as_ref(), &t, &mut mine, "w1", output.clone())
            .await
            .unwrap()
    );
    assert!(finish(s.jobs.as_ref(), &t, &mut theirs, "w2", output)
        .await
        .unwrap());
    let stored = s.jobs.get_job(&t, &j.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.total, stored.attempts),
        (JobStatus::Finished, Some(3), 2)
    );
    assert!(matches!(
        claim(s.jobs.as_ref(), &t, &j.id, "w3", later, lease)
            .await
            .unwrap(),
        Claim::Done(_)
    ));
    assert!(!fail(s.jobs.as_ref(), &t, &mut theirs, "w2", "late", later)
        .await
        .unwrap());
    // error is final too
    let j2 = job();
    s.jobs.create_job(&t, &j2).await.unwrap();
    let Claim::Claimed(mut c) = claim(s.jobs.as_ref(), &t, &j2.id, "w1", now, lease)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(fail(s.jobs.as_ref(), &t, &mut c, "w1", "bad settings", now)
        .await
        .unwrap());
    let failed = s.jobs.get_job(&t, &j2.id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (JobStatus::Error, Some("bad settings"))
    );
    assert!(matches!(
        claim(s.jobs.as_ref(), &t, &j2.id, "w2", later, lease)
            .await
            .unwrap(),
        Claim::Done(_)
    ));
}

pub async fn of_two_concurrent_claims_one_wins(s: &BulkStores) {
    let (t, j) = (tenant(), job());
    s.jobs.create_job(&t, &j).await.unwrap();
    let now = chrono::Utc::now();
    let lease = chrono::Duration::seconds(30);
    let (a, b) = tokio::join!(
        claim(s.jobs.as_ref(), &t, &j.id, "a", now, lease),
        claim(s.jobs.as_ref(), &t, &j.id, "b", now, lease)
    );
    let won = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|c| matches!(c, Claim::Claimed(_)))
        .count();
    assert_eq!(won, 1);
}

pub async fn jobs_list_newest_first_per_tenant(s: &BulkStores) {
    let (t, other) = (tenant(), tenant());
    let mut ids = Vec::new();
    for _ in 0..5 {
        let j = job();
        s.jobs.create_job(&t, &j).await.unwrap();
        ids.push(j.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    s.jobs.create_job(&other, &job()).await.unwrap();
    let page = s.jobs.list_jobs(&t, 1, 3).await.unwrap();
    assert_eq!(page.total, 5);
    let got: Vec<&str> = page.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(got, [ids[3].as_str(), ids[2].as_str(), ids[1].as_str()]);
    assert!(s.jobs.list_jobs(&t, 5, 3).await.unwrap().jobs.is_empty());
}

pub async fn idempotency_records_are_put_if_absent(s: &BulkStores) {
    let t = tenant();
    let r = IdempotencyRecord {
        key_sha256: "k1".into(),
        request_sha256: "r1".into(),
        job_id: "j1".into(),
        created_at: chrono::Utc::now(),
    };
    assert_eq!(s.jobs.put_idempotency(&t, &r).await.unwrap(), None);
    let second = IdempotencyRecord {
        job_id: "j2".into(),
        ..r.clone()
    };
    assert_eq!(s.jobs.put_idempotency(&t, &second).await.unwrap(), Some(r));
    assert_eq!(
        s.jobs.put_idempotency(&tenant(), &second).await.unwrap(),
        None
    );
}

pub async fn api_keys_are_found_by_hash_and_revoked(s: &BulkStores) {
    let (t, other) = (tenant(), tenant());
    let (key, record) = ApiKey::generate(
        t.clone(),
        "k",
        vec![Permission::ReadExports],
        chrono::Utc::now(),
    );
    s.keys.put_api_key(&record).await.unwrap();
    let found = s
        .keys
        .api_key_by_hash(&exports_shared::model::bulk::hash_key(&key))
        .await
        .unwrap();
    assert_eq!(found, Some(record.clone()));
    assert_eq!(s.keys.api_key_by_hash("00").await.unwrap(), None);
    assert_eq!(
        s.keys.list_api_keys(&t).await.unwrap(),
        vec![record.clone()]
    );
    assert!(s.keys.list_api_keys(&other).await.unwrap().is_empty());
    assert!(!s.keys.revoke_api_key(&other, &record.id).await.unwrap());
    assert!(s.keys.revoke_api_key(&t, &record.id).await.unwrap());
    assert_eq!(s.keys.api_key_by_hash(&record.sha256).await.unwrap(), None);
    assert!(!s.keys.account_blocked(&t).await.unwrap());
    s.keys.set_account_blocked(&t, true).await.unwrap();
    assert!(s.keys.account_blocked(&t).await.unwrap());
    assert!(!s.keys.account_blocked(&other).await.unwrap());
    s.keys.set_account_blocked(&t, false).await.unwrap();
    assert!(!s.keys.account_blocked(&t).await.unwrap());
}

/// 32 tasks × 20 takes on one bucket at once, with a limit that is never
/// due: every take is allowed or limited, none is an error.
pub async fn a_contended_bucket_never_fails_a_request(s: &BulkStores) {
    // GIVEN one key's bucket and a limit far above the traffic
    let t = tenant();
    let limit = RateLimit {
        per_second: 1_000_000.0,
        burst: 1_000_000.0,
    };
    // WHEN 32 concurrent tasks take 20 tokens each
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let keys = s.keys.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..20 {
                out.push(take_token(keys.as_ref(), &t, "busy", limit, chrono::Utc::now()).await);
            }
            out
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        for result in task.await.expect("the task") {
            // THEN no take fails and none is limited: the bucket always had
            // tokens, so losing races is never a reason to refuse
            match result {
                Ok(RateDecision::Allowed) => allowed += 1,
                Ok(limited) => panic!("a contended bucket with tokens answered {limited:?}"),
                Err(e) => panic!("a contended bucket failed a request: {e}"),
            }
        }
    }
    assert_eq!(allowed, 640);
}

pub async fn rate_buckets_update_conditionally(s: &BulkStores) {
    let t = tenant();
    let limit = RateLimit {
        per_second: 0.001,
        burst: 3.0,
    };
    let now = chrono::Utc::now();
    let (a, b, c, d) = tokio::join!(
        take_token(s.keys.as_ref(), &t, "k", limit, now),
        take_token(s.keys.as_ref(), &t, "k", limit, now),
        take_token(s.keys.as_ref(), &t, "k", limit, now),
        take_token(s.keys.as_ref(), &t, "k", limit, now)
    );
    let allowed = [a, b, c, d]
        .into_iter()
        .filter(|r| matches!(r, Ok(RateDecision::Allowed)))
        .count();
    assert_eq!(allowed, 3, "the burst, however concurrent");
    assert!(matches!(
        take_token(s.keys.as_ref(), &t, "k", limit, now)
            .await
            .unwrap(),
        RateDecision::Limited { .. }
    ));
    assert_eq!(
        take_token(s.keys.as_ref(), &t, "other", limit, now)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
    let stale = s.keys.get_bucket(&t, "k").await.unwrap().unwrap();
    let mut next = stale;
    next.version += 1;
    assert!(!s
        .keys
        .put_bucket(&t, "k", &next, Some(stale.version + 5))
        .await
        .unwrap());
    assert!(!s.keys.put_bucket(&t, "k", &next, None).await.unwrap());
}

/// A call at `at`.
fn act(id: &str, at: &str) -> Record {
    rec(id, json!({"occurredAt": at, "activityType": "call"}))
}

/// A tenant with calls at `times` (`(id, at)`), and another tenant with
/// one call on 2026-03-01; returns the first.
async fn tenant_with_calls(s: &BulkStores, times: &[(&str, &str)]) -> TenantId {
    let (t, other) = (tenant(), tenant());
    let calls = times.iter().map(|(id, at)| act(id, at)).collect();
    s.activities.put_activities(&t, calls).await.unwrap();
    s.activities
        .put_activities(&other, vec![act("z", "2026-03-01T05:00:00Z")])
        .await
        .unwrap();
    t
}

pub async fn activities_are_read_per_day_in_time_order(s: &BulkStores) {
    let t = tenant_with_calls(
        s,
        &[
            ("x3", "2026-03-01T20:00:00Z"),
            ("x1", "2026-03-01T01:00:00Z"),
            ("x2", "2026-03-01T09:00:00-03:00"),
            ("y1", "2026-03-02T00:00:00Z"),
        ],
    )
    .await;
    assert!(s
        .activities
        .put_activities(&t, vec![rec("bad", json!({}))])
        .await
        .is_err());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let (first, next) = s
        .activities
        .activities_of_day(&t, day, None, 2)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["x1", "x2"]
    );
    let (rest, end) = s
        .activities
        .activities_of_day(&t, day, next, 2)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["x3"]
    );
    assert_eq!(end, None);
    assert_eq!(rest[0].get("activityType"), "call");
    let (next_day, _) = s
        .activities
        .activities_of_day(&t, day.succ_opt().unwrap(), None, 10)
        .await
        .unwrap();
    assert_eq!(next_day.len(), 1);
}

pub async fn activities_of_a_day_are_counted_inside_a_window(s: &BulkStores) {
    // GIVEN a day with activities at 01:00, 09:00:30.5, 12:00 and 20:00 UTC
    // (one written with an offset), and another tenant's on the same day
    let t = tenant_with_calls(
        s,
        &[
            ("c1", "2026-03-01T01:00:00Z"),
            ("c2", "2026-03-01T06:00:30.5-03:00"),
            ("c3", "2026-03-01T12:00:00Z"),
            ("c4", "2026-03-01T20:00:00Z"),
            ("d1", "2026-03-02T00:00:00Z"),
        ],
    )
    .await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let count = |from: &str, to: &str| {
        let (from, to) = (at(from), at(to));
        let (acts, t) = (s.activities.clone(), t.clone());
        async move {
            acts.count_activities_of_day(&t, day, from, to)
                .await
                .unwrap()
        }
    };
    // WHEN the whole day is counted, THEN the tenant's four
    assert_eq!(
        count("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z").await,
        4
    );
    // AND a window counts from its start (included) to its end (excluded),
    // a fraction of a second after a bound inside it
    assert_eq!(
        count("2026-03-01T09:00:30Z", "2026-03-01T20:00:00Z").await,
        2
    );
    assert_eq!(
        count("2026-03-01T09:00:31Z", "2026-03-01T20:00:01Z").await,
        2
    );
    assert_eq!(
        count("2026-03-01T01:00:00Z", "2026-03-01T01:00:01Z").await,
        1
    );
    assert_eq!(
        count("2026-03-01T21:00:00Z", "2026-03-02T00:00:00Z").await,
        0
    );
    // AND a tenant without activities that day counts none
    assert_eq!(
        s.activities
            .count_activities_of_day(
                &tenant(),
                day,
                at("2026-03-01T00:00:00Z"),
                at("2026-03-02T00:00:00Z")
            )
            .await
            .unwrap(),
        0
    );
}

/// Task `index` of `job`: one UTC day of March 2026 per index.
fn task(job: &BulkJob, index: u32) -> BulkTask {
    let day =
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(index.into());
    BulkTask::new(job, index, TaskPartition::Day { day }, chrono::Utc::now())
}

fn indexes(tasks: &[BulkTask]) -> Vec<u32> {
    tasks.iter().map(|t| t.index).collect()
}

pub async fn tasks_are_put_if_absent_and_replaced_conditionally(s: &BulkStores) {
    // GIVEN a job's two tasks, put
    let (t, j) = (tenant(), job());
    let first = [task(&j, 0), task(&j, 1)];
    s.jobs.put_tasks(&t, &first).await.unwrap();
    assert_eq!(
        s.jobs.get_task(&t, &j.id, 1).await.unwrap(),
        Some(first[1].clone())
    );
    // WHEN the job is planned again, with other data for the same tasks
    let mut again = first.clone();
    for task in &mut again {
        task.attempts = 9;
        task.status = TaskStatus::Running;
    }
    s.jobs.put_tasks(&t, &again).await.unwrap();
    // THEN the stored tasks are the first ones
    assert_eq!(s.jobs.list_tasks(&t, &j.id).await.unwrap(), first.to_vec());
    // WHEN a task is replaced on a stale version, THEN nothing changes
    let mut next = first[0].clone();
    next.chunks.push(TaskChunk {
        rows: 10,
        bytes: 5_242_880,
        sha256: "ab".repeat(32),
    });
    next.version = 1;
    assert!(!s.jobs.replace_task(&t, &next, 4).await.unwrap(), "stale");
    // AND on the stored version it is replaced, once
    assert!(s.jobs.replace_task(&t, &next, 0).await.unwrap());
    assert!(
        !s.jobs.replace_task(&t, &next, 0).await.unwrap(),
        "already replaced"
    );
    assert_eq!(
        s.jobs.get_task(&t, &j.id, 0).await.unwrap(),
        Some(next.clone())
    );
    // AND a task that was never put is not created by a replace
    let mut missing = task(&j, 7);
    missing.version = 1;
    assert!(!s.jobs.replace_task(&t, &missing, 0).await.unwrap());
    assert_eq!(s.jobs.get_task(&t, &j.id, 7).await.unwrap(), None);
    // AND another tenant replaces nothing of this tenant's
    let other = tenant();
    let mut theirs = next.clone();
    theirs.version = 2;
    assert!(!s.jobs.replace_task(&other, &theirs, 1).await.unwrap());
    assert_eq!(s.jobs.get_task(&t, &j.id, 0).await.unwrap(), Some(next));
}

pub async fn tasks_list_in_index_order_per_job_and_tenant(s: &BulkStores) {
    // GIVEN a job's tasks put out of order (indexes past 9 and 99 too),
    // another job's tasks, and another tenant's tasks of the same job id
    let (t, other) = (tenant(), tenant());
    let (j, k) = (job(), job());
    let order = [3, 0, 12, 2, 100, 1, 10];
    let tasks: Vec<BulkTask> = order.iter().map(|&i| task(&j, i)).collect();
    s.jobs.put_tasks(&t, &tasks[..4]).await.unwrap();
    s.jobs.put_tasks(&t, &tasks[4..]).await.unwrap();
    s.jobs
        .put_tasks(&t, &[task(&k, 0), task(&k, 4)])
        .await
        .unwrap();
    let mut foreign = task(&j, 5);
    foreign.attempts = 3;
    s.jobs
        .put_tasks(&other, std::slice::from_ref(&foreign))
        .await
        .unwrap();
    // WHEN the tenant lists the job's tasks
    let listed = s.jobs.list_tasks(&t, &j.id).await.unwrap();
    // THEN they come in index order, only that job's, only that tenant's
    assert_eq!(indexes(&listed), [0, 1, 2, 3, 10, 12, 100]);
    assert!(listed.iter().all(|x| x.job_id == j.id));
    assert_eq!(listed[4], task_like(&tasks, 10));
    assert_eq!(
        indexes(&s.jobs.list_tasks(&t, &k.id).await.unwrap()),
        [0, 4]
    );
    assert_eq!(
        s.jobs.list_tasks(&other, &j.id).await.unwrap(),
        vec![foreign.clone()]
    );
    assert!(s.jobs.list_tasks(&other, &k.id).await.unwrap().is_empty());
    assert!(s
        .jobs
        .list_tasks(&t, &BulkJob::new_id())
        .await
        .unwrap()
        .is_empty());
    // AND a task is read only under its own tenant
    assert_eq!(s.jobs.get_task(&other, &j.id, 0).await.unwrap(), None);
    assert_eq!(s.jobs.get_task(&t, &j.id, 5).await.unwrap(), None);
    assert_eq!(
        s.jobs.get_task(&other, &j.id, 5).await.unwrap(),
        Some(foreign)
    );
}

fn task_like(tasks: &[BulkTask], index: u32) -> BulkTask {
    tasks.iter().find(|t| t.index == index).cloned().unwrap()
}

pub async fn a_finished_task_is_counted_once(s: &BulkStores) {
    // GIVEN a planned job of four tasks
    let (t, j) = (tenant(), job());
    let tasks: Vec<BulkTask> = (0..4).map(|i| task(&j, i)).collect();
    s.jobs.put_tasks(&t, &tasks).await.unwrap();
    // WHEN task 2 is marked done twice (a redelivered message), THEN it counts once
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 2).await.unwrap(), 1);
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 2).await.unwrap(), 1);
    // AND each other task adds one
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 0).await.unwrap(), 2);
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 3).await.unwrap(), 3);
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 0).await.unwrap(), 3);
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 1).await.unwrap(), 4);
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 3).await.unwrap(), 4);
    // AND another job's set and another tenant's set of the same job are their own
    assert_eq!(s.jobs.mark_task_done(&t, &job().id, 2).await.unwrap(), 1);
    assert_eq!(s.jobs.mark_task_done(&tenant(), &j.id, 2).await.unwrap(), 1);
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 2).await.unwrap(), 4);
    // AND the tasks themselves are untouched
    assert_eq!(s.jobs.list_tasks(&t, &j.id).await.unwrap(), tasks);
}

pub async fn concurrent_marks_each_see_a_distinct_count(s: &BulkStores) {
    // GIVEN a job of 16 tasks (never planned: the first mark creates the set)
    let (t, j) = (tenant(), job());
    // WHEN its 16 tasks are marked done at once, from 16 tokio tasks
    let mut marks = Vec::new();
    for index in 0..16 {
        let (jobs, t, id) = (s.jobs.clone(), t.clone(), j.id.clone());
        marks.push(tokio::spawn(async move {
            jobs.mark_task_done(&t, &id, index).await
        }));
    }
    let mut counts = Vec::new();
    for mark in marks {
        counts.push(mark.await.expect("the mark's task").expect("the mark"));
    }
    // THEN each saw a different count, 1 to 16: exactly one saw the last
    counts.sort_unstable();
    assert_eq!(counts, (1..=16).collect::<Vec<u32>>());
    // AND the set holds 16, whoever marks again
    assert_eq!(s.jobs.mark_task_done(&t, &j.id, 15).await.unwrap(), 16);
}
