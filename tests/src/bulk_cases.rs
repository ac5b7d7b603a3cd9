//! The bulk exports API and worker, written once and run on both backends
//! by `tests/bulk_exports.rs` and `tests/bulk_exports_aws.rs`.

use crate::bulk::*;
use crate::json_body;
use exports_shared::auth::rate_limit::RateLimit;
use exports_shared::model::bulk::JobStatus;
use exports_shared::model::TenantId;
use exports_shared::service::bulk::lease::{claim, Claim};
use exports_shared::service::bulk::{run_job, JobOutcome, WorkerError, STORAGE_FAILED};
use exports_shared::store::{
    FileKey, FileMeta, FileStore, JobMessage, MultipartUpload, PresignedUrl, StoreError, StoredFile,
};
use serde_json::{json, Value};
use std::sync::Arc;

pub use crate::bulk_cancel_cases::{
    a_gzip_export_decompresses_to_exactly_the_plain_file, cancel_works_at_every_stage,
};
pub use crate::bulk_fanout_cases::{
    a_job_cancelled_between_its_tasks_leaves_no_chunk_and_no_file,
    an_activities_export_runs_as_one_task_per_day,
    one_worker_and_eight_workers_write_the_same_bytes,
};

/// Instantiates every case over a fixture constructor.
#[macro_export]
macro_rules! bulk_suite {
    ($fixture:path) => {
        $crate::bulk_suite!(@cases $fixture;
            contacts_export_is_created_polled_and_downloaded,
            every_error_status_of_the_api,
            the_window_is_31_days_exactly,
            delimiter_date_format_and_version_shape_the_file,
            segments_filter_contacts_and_activities,
            activities_export_reads_each_day_of_the_window,
            the_idempotency_key_returns_the_same_export,
            a_retry_heals_a_post_that_died_after_its_idempotency_record,
            rate_limit_answers_429_with_retry_after,
            redelivery_and_concurrent_workers_do_nothing,
            an_expired_lease_is_claimed_again,
            a_crash_mid_upload_leaves_no_file_and_a_retry_finishes,
            a_batch_reports_only_its_failed_messages,
            a_job_whose_file_writes_fail_ends_in_error_after_its_retries,
            tenants_cannot_see_each_others_keys_jobs_or_files,
            exports_are_listed_newest_first_in_pages,
            cancel_works_at_every_stage,
            a_gzip_export_decompresses_to_exactly_the_plain_file,
            an_activities_export_runs_as_one_task_per_day,
            one_worker_and_eight_workers_write_the_same_bytes,
            a_job_cancelled_between_its_tasks_leaves_no_chunk_and_no_file,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fx) = $fixture().await else { return; };
                $crate::bulk_cases::$case(fx).await;
            }
        )*
    };
}

fn contacts_body() -> Value {
    json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ","})
}

fn activities_body(from: &str, to: &str) -> Value {
    json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",",
        "filters": {"fromDate": from, "toDate": to}})
}

/// POSTs, asserts 201, runs the worker, GETs; returns the final resource.
async fn export(fx: &BulkFixture, key: &str, tenant: &str, body: &Value) -> Value {
    let created = fx.call(post(key, body)).await;
    assert_eq!(created.status(), 201, "{:?}", json_body(&created));
    let id = json_body(&created)["id"].as_str().expect("id").to_string();
    assert!(matches!(
        fx.work(tenant, &id).await,
        JobOutcome::Finished(_)
    ));
    let got = fx.call(get(key, &format!("/exports/{id}"))).await;
    assert_eq!(got.status(), 200);
    json_body(&got)
}

async fn file_of(fx: &BulkFixture, resource: &Value) -> Vec<u8> {
    let url = resource["fileUrl"].as_str().expect("fileUrl");
    fx.download(url).await.expect("the file downloads")
}

pub async fn contacts_export_is_created_polled_and_downloaded(fx: BulkFixture) {
    // GIVEN a contacts export request
    let created = fx.call(post(&fx.key_a, &contacts_body())).await;
    // THEN it is created pending, with the request's settings
    assert_eq!(created.status(), 201);
    let r = json_body(&created);
    assert_eq!(r["status"], "pending");
    assert_eq!(
        (
            r["exportType"].as_str(),
            r["version"].as_str(),
            r["delimiter"].as_str()
        ),
        (Some("contacts"), Some("v1"), Some(","))
    );
    assert_eq!(r["progress"], 0);
    assert!(r.get("fileUrl").is_none());
    let id = r["id"].as_str().unwrap().to_string();
    // AND the stored job expires (the table's ttl) when its file does
    let stored = fx
        .jobs
        .get_job(&TenantId::new(BULK_A), &id)
        .await
        .unwrap()
        .expect("the stored job");
    assert_eq!(
        stored.ttl,
        Some(stored.created_at.timestamp() + fx.api.retention.as_secs() as i64)
    );
    // WHEN the worker runs it and the client polls
    assert!(matches!(
        fx.work(BULK_A, &id).await,
        JobOutcome::Finished(_)
    ));
    let done = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await);
    // THEN it is finished with rows, bytes, sha256 and a fresh URL
    assert_eq!(done["status"], "finished");
    assert_eq!(done["rows"], 7);
    assert_eq!(done["total"], 7);
    assert_eq!(done["progress"], 7);
    assert!(done["fileUrlExpiresAt"].is_string() && done["finishedAt"].is_string());
    let file = file_of(&fx, &done).await;
    assert_eq!(sha256(&file), done["sha256"].as_str().unwrap());
    assert_eq!(file.len() as u64, done["bytes"].as_u64().unwrap());
    let rows = parse_csv(&file, b',');
    assert_eq!(rows.len(), 8, "header + 7 contacts");
    assert_eq!(rows[0][..3], ["id", "firstName", "middleName"]);
    assert!(
        !rows[0].contains(&"segmentId".to_string()),
        "v1 has no segment columns"
    );
    let hostile = rows.iter().find(|r| r[0] == "ca-x").expect("ca-x");
    assert_eq!(hostile[1], "'=HYPERLINK(\"x\")");
    // AND a second GET presigns again
    let again = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await);
    assert_eq!(again["sha256"], done["sha256"]);
}

pub async fn every_error_status_of_the_api(fx: BulkFixture) {
    let body = contacts_body();
    // 401: no key, unknown key
    let r = fx.call(bulk_event("bulk-export-create", None)).await;
    assert_eq!(r.status(), 401);
    assert_eq!(json_body(&r)["status"], 401);
    assert_eq!(fx.call(post("exk_unknown", &body)).await.status(), 401);
    // 403: a read-only key creating; a blocked account
    let r = fx.call(post(&fx.key_a_read, &body)).await;
    assert_eq!(r.status(), 403);
    assert!(json_body(&r)["message"]
        .as_str()
        .unwrap()
        .contains("createExports"));
    assert_eq!(fx.call(get(&fx.key_a_read, "/exports")).await.status(), 200);
    // 415: not JSON
    let req = crate::with_header(post(&fx.key_a, &body), "content-type", "text/plain");
    assert_eq!(fx.call(req).await.status(), 415);
    // 400: invalid JSON
    let req = crate::with_body(post(&fx.key_a, &body), "{\"exportType\":");
    let r = fx.call(req).await;
    assert_eq!(r.status(), 400);
    assert_eq!(json_body(&r)["error"], "Bad Request");
    // 422: field errors, wrong types, unknown fields, huge values
    let bad = json!({"exportType": "orders", "dateFormat": 5, "delimiter": "|", "version": "v9", "x": 1,
        "filters": {"segmentId": "s".repeat(500)}});
    let r = fx.call(post(&fx.key_a, &bad)).await;
    assert_eq!(r.status(), 422);
    let fields: Vec<String> = json_body(&r)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "x",
            "exportType",
            "dateFormat",
            "delimiter",
            "version",
            "filters.segmentId"
        ]
    );
    // 413: a huge body
    let huge = crate::with_body(
        post(&fx.key_a, &body),
        format!("{{\"x\":\"{}\"}}", "a".repeat(2 * 1024 * 1024)),
    );
    assert_eq!(fx.call(huge).await.status(), 413);
    // 404: unknown id; 405: DELETE
    assert_eq!(
        fx.call(get(
            &fx.key_a,
            "/exports/0193a0c2-0000-7000-8000-000000000000"
        ))
        .await
        .status(),
        404
    );
    let mut del = get(&fx.key_a, "/exports");
    *del.method_mut() = http::Method::DELETE;
    assert_eq!(fx.call(del).await.status(), 405);
    // 403 for every key of a blocked account
    fx.keys
        .set_account_blocked(&TenantId::new(BULK_A), true)
        .await
        .unwrap();
    let r = fx.call(get(&fx.key_a, "/exports")).await;
    assert_eq!(r.status(), 403);
    assert!(json_body(&r)["message"]
        .as_str()
        .unwrap()
        .contains("blocked"));
    assert_eq!(fx.call(get(&fx.key_b, "/exports")).await.status(), 200);
}

pub async fn the_window_is_31_days_exactly(fx: BulkFixture) {
    // GIVEN exactly 31 days: accepted
    let ok = fx
        .call(post(
            &fx.key_a,
            &activities_body("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ))
        .await;
    assert_eq!(ok.status(), 201);
    // 31 days and one second: rejected, saying why
    let r = fx
        .call(post(
            &fx.key_a,
            &activities_body("2026-01-01T00:00:00Z", "2026-02-01T00:00:01Z"),
        ))
        .await;
    assert_eq!(r.status(), 422);
    let e = &json_body(&r)["errors"][0];
    assert_eq!(e["field"], "filters.toDate");
    assert!(e["message"].as_str().unwrap().contains("31 days"), "{e}");
    // from >= to, a missing toDate, activity filters on contacts
    assert_eq!(
        fx.call(post(
            &fx.key_a,
            &activities_body("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")
        ))
        .await
        .status(),
        422
    );
    let missing = json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",", "filters": {"fromDate": "2026-01-01T00:00:00Z"}});
    assert_eq!(
        json_body(&fx.call(post(&fx.key_a, &missing)).await)["errors"][0]["field"],
        "filters.toDate"
    );
    let on_contacts = json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ",", "filters": {"activityTypes": ["call"]}});
    assert_eq!(fx.call(post(&fx.key_a, &on_contacts)).await.status(), 422);
}

pub async fn delimiter_date_format_and_version_shape_the_file(fx: BulkFixture) {
    // GIVEN v2 with ';' and LL, in the tenant's locale and zone
    let mut settings = fx.config.settings(&TenantId::new(BULK_A)).await.unwrap();
    settings.locale = Some("en-US".into());
    settings.timezone = Some("America/New_York".into());
    fx.config
        .put_settings(&TenantId::new(BULK_A), &settings)
        .await
        .unwrap();
    let body =
        json!({"exportType": "contacts", "dateFormat": "LLL", "delimiter": ";", "version": "v2"});
    let done = export(&fx, &fx.key_a, BULK_A, &body).await;
    let rows = parse_csv(&file_of(&fx, &done).await, b';');
    let header = &rows[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    // THEN v2 adds segment membership and custom fields
    let cf = format!("custom:cf_{}", exports_local::generate::CF_RISK_ONBOARDING);
    for name in ["segmentId", "segmentName", cf.as_str()] {
        col(name);
    }
    let a0 = rows.iter().find(|r| r[0] == "ca-0").unwrap();
    assert_eq!(a0[col("segmentId")], "retail");
    assert_eq!(a0[col("segmentName")], "Retail");
    assert_eq!(a0[col(&cf)], "low");
    // AND dates are moment's LLL (date-times shifted) and LL (dates)
    assert_eq!(a0[col("createdAt")], "September 4, 1986 8:30 PM");
    assert_eq!(a0[col("birthDate")], "September 4, 1986");
    assert_eq!(a0[col("netWorth")], "10.5");
    // AND L gives the padded numeric date
    let body = json!({"exportType": "contacts", "dateFormat": "L", "delimiter": ","});
    let rows = parse_csv(
        &file_of(&fx, &export(&fx, &fx.key_a, BULK_A, &body).await).await,
        b',',
    );
    let a0 = rows.iter().find(|r| r[0] == "ca-0").unwrap();
    assert_eq!(
        a0[rows[0].iter().position(|h| h == "birthDate").unwrap()],
        "09/04/1986"
    );
}

pub async fn segments_filter_contacts_and_activities(fx: BulkFixture) {
    // GIVEN the retail segment
    let body = json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ",", "filters": {"segmentId": "retail"}});
    let done = export(&fx, &fx.key_a, BULK_A, &body).await;
    let rows = parse_csv(&file_of(&fx, &done).await, b',');
    let mut ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    ids.sort_unstable();
    // THEN only its contacts
    assert_eq!(ids, ["ca-0", "ca-3", "ca-x"]);
    assert_eq!(done["rows"], 3);
    // AND activities of that segment only
    let mut body = activities_body("2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z");
    body["filters"]["segmentId"] = json!("institutional");
    let rows = parse_csv(
        &file_of(&fx, &export(&fx, &fx.key_a, BULK_A, &body).await).await,
        b',',
    );
    assert_eq!(rows.len() - 1, 10);
    assert!(rows[1..].iter().all(|r| r[3] == "purchase"));
    // AND an unknown segment is a 422
    let mut bad = contacts_body();
    bad["filters"] = json!({"segmentId": "no-such-segment"});
    let r = fx.call(post(&fx.key_a, &bad)).await;
    assert_eq!(r.status(), 422);
    assert_eq!(json_body(&r)["errors"][0]["field"], "filters.segmentId");
}

pub async fn activities_export_reads_each_day_of_the_window(fx: BulkFixture) {
    // GIVEN a 31-day window (Jan 1 .. Feb 1) over 33 days of activities
    let done = export(
        &fx,
        &fx.key_a,
        BULK_A,
        &activities_body("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
    )
    .await;
    let rows = parse_csv(&file_of(&fx, &done).await, b',');
    // THEN exactly the 62 activities inside it, in time order
    assert_eq!(done["rows"], 62);
    assert_eq!(
        rows[0],
        [
            "id",
            "contactId",
            "contactEmail",
            "activityType",
            "occurredAt",
            "channel",
            "amount",
            "currency",
            "metadata"
        ]
    );
    let times: Vec<&str> = rows[1..].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(times.first(), Some(&"2026-01-01T10:00:00+00:00"));
    assert_eq!(times.last(), Some(&"2026-01-31T23:30:00+00:00"));
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(rows[1][8], "{\"k\":1}");
    // AND a type filter with a window inside a day
    let mut body = activities_body("2026-01-05T00:00:00Z", "2026-01-07T12:00:00Z");
    body["filters"]["activityTypes"] = json!(["purchase"]);
    let rows = parse_csv(
        &file_of(&fx, &export(&fx, &fx.key_a, BULK_A, &body).await).await,
        b',',
    );
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["act-04-1", "act-05-1"]);
}

pub async fn the_idempotency_key_returns_the_same_export(fx: BulkFixture) {
    let with_key =
        |body: &Value, key: &str| crate::with_header(post(&fx.key_a, body), "idempotency-key", key);
    // GIVEN a POST with an Idempotency-Key, retried with the same body
    let first = json_body(&fx.call(with_key(&contacts_body(), "k-1")).await);
    let again = fx.call(with_key(&contacts_body(), "k-1")).await;
    // THEN the retry returns the same export, and only one exists
    assert_eq!(again.status(), 201);
    assert_eq!(json_body(&again)["id"], first["id"]);
    let list = json_body(&fx.call(get(&fx.key_a, "/exports")).await);
    assert_eq!(list["totalElements"], 1);
    // AND the same key with another body is a 422
    let other = json!({"exportType": "contacts", "dateFormat": "L", "delimiter": ","});
    let r = fx.call(with_key(&other, "k-1")).await;
    assert_eq!(r.status(), 422);
    assert_eq!(json_body(&r)["errors"][0]["field"], "Idempotency-Key");
    // AND another tenant's same key is its own
    let b = fx
        .call(crate::with_header(
            post(&fx.key_b, &contacts_body()),
            "idempotency-key",
            "k-1",
        ))
        .await;
    assert_eq!(b.status(), 201);
    assert_ne!(json_body(&b)["id"], first["id"]);
}

pub async fn a_retry_heals_a_post_that_died_after_its_idempotency_record(fx: BulkFixture) {
    // GIVEN a first POST that stored its idempotency record, then died
    // before writing its job
    let body = contacts_body();
    let spec = exports_shared::api::bulk::parse_creation(body.to_string().as_bytes())
        .expect("a valid body");
    let orphan = exports_shared::model::bulk::BulkJob::new_id();
    let record = exports_shared::store::bulk::IdempotencyRecord {
        key_sha256: exports_shared::service::bulk::create::sha256_hex(b"k-crash"),
        request_sha256: exports_shared::service::bulk::create::spec_hash(&spec).expect("hash"),
        job_id: orphan.clone(),
        created_at: chrono::Utc::now(),
    };
    let stored = fx
        .jobs
        .put_idempotency(&TenantId::new(BULK_A), &record)
        .await
        .expect("record stored");
    assert!(stored.is_none());
    // WHEN the client retries with the same key and body
    let r = fx
        .call(crate::with_header(
            post(&fx.key_a, &body),
            "idempotency-key",
            "k-crash",
        ))
        .await;
    // THEN it gets the recorded export, which now exists and runs to the end
    assert_eq!(r.status(), 201, "{:?}", json_body(&r));
    assert_eq!(json_body(&r)["id"], orphan.as_str());
    assert!(matches!(
        fx.work(BULK_A, &orphan).await,
        JobOutcome::Finished(_)
    ));
    let got = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{orphan}"))).await);
    assert_eq!(got["status"], "finished");
    assert_eq!(got["rows"], 7);
    // AND exactly one export exists
    let list = json_body(&fx.call(get(&fx.key_a, "/exports")).await);
    assert_eq!(list["totalElements"], 1);
}

pub async fn rate_limit_answers_429_with_retry_after(mut fx: BulkFixture) {
    // GIVEN a bucket of 2 refilled every 2 seconds
    fx.api.rate = RateLimit {
        per_second: 0.5,
        burst: 2.0,
    };
    for _ in 0..2 {
        assert_eq!(fx.call(get(&fx.key_a, "/exports")).await.status(), 200);
    }
    // THEN the third request is limited, with Retry-After
    let r = fx.call(get(&fx.key_a, "/exports")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(json_body(&r)["status"], 429);
    // AND another key has its own bucket
    assert_eq!(fx.call(get(&fx.key_b, "/exports")).await.status(), 200);
}

pub async fn redelivery_and_concurrent_workers_do_nothing(fx: BulkFixture) {
    let id = json_body(&fx.call(post(&fx.key_a, &contacts_body())).await)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let msg = JobMessage {
        tenant: TenantId::new(BULK_A),
        job_id: id.clone(),
        task: None,
    };
    // GIVEN another worker holding the lease
    let now = chrono::Utc::now();
    let held = claim(
        fx.jobs.as_ref(),
        &msg.tenant,
        &id,
        "other-worker",
        now,
        chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(matches!(held, Claim::Claimed(_)));
    // THEN this worker cannot process it
    assert!(matches!(
        run_job(&fx.worker, &msg).await,
        Err(WorkerError::Busy)
    ));
    // GIVEN a finished job (the lease taken over after it expired)
    let expired = claim(
        fx.jobs.as_ref(),
        &msg.tenant,
        &id,
        "x",
        now + chrono::Duration::minutes(6),
        chrono::Duration::seconds(-361),
    )
    .await
    .unwrap();
    assert!(matches!(expired, Claim::Claimed(_)));
    assert!(matches!(
        fx.work(BULK_A, &id).await,
        JobOutcome::Finished(_)
    ));
    let before = fx.jobs.get_job(&msg.tenant, &id).await.unwrap().unwrap();
    // WHEN the message is delivered again
    assert_eq!(
        run_job(&fx.worker, &msg).await.unwrap(),
        JobOutcome::AlreadyDone
    );
    // THEN nothing changed
    assert_eq!(
        fx.jobs.get_job(&msg.tenant, &id).await.unwrap().unwrap(),
        before
    );
    // AND a message for no job is acknowledged
    let ghost = JobMessage {
        tenant: msg.tenant.clone(),
        job_id: "0193a0c2-0000-7000-8000-000000000000".into(),
        task: None,
    };
    assert_eq!(
        run_job(&fx.worker, &ghost).await.unwrap(),
        JobOutcome::Missing
    );
}

pub async fn an_expired_lease_is_claimed_again(fx: BulkFixture) {
    let id = json_body(&fx.call(post(&fx.key_a, &contacts_body())).await)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // GIVEN a worker that claimed the job and died (its lease has expired)
    let past = chrono::Utc::now() - chrono::Duration::minutes(10);
    let dead = claim(
        fx.jobs.as_ref(),
        &TenantId::new(BULK_A),
        &id,
        "dead-worker",
        past,
        chrono::Duration::minutes(2),
    )
    .await
    .unwrap();
    assert!(matches!(dead, Claim::Claimed(_)));
    // WHEN a redelivered message arrives
    let JobOutcome::Finished(job) = fx.work(BULK_A, &id).await else {
        panic!("not finished")
    };
    // THEN it is processed, as the second attempt
    assert_eq!(job.status, JobStatus::Finished);
    assert_eq!(job.attempts, 2);
}

/// A file store whose uploads stop forever before part `stop_at` (1-based).
struct Stalling {
    inner: Arc<dyn FileStore>,
    stop_at: usize,
    reached: Arc<tokio::sync::Notify>,
}

struct StallingUpload {
    inner: Box<dyn MultipartUpload>,
    parts: usize,
    stop_at: usize,
    reached: Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl FileStore for Stalling {
    async fn put(
        &self,
        key: &FileKey,
        body: Vec<u8>,
        meta: &FileMeta,
    ) -> Result<StoredFile, StoreError> {
        self.inner.put(key, body, meta).await
    }
    async fn start_upload(
        &self,
        key: &FileKey,
        meta: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        Ok(Box::new(StallingUpload {
            inner: self.inner.start_upload(key, meta).await?,
            parts: 0,
            stop_at: self.stop_at,
            reached: self.reached.clone(),
        }))
    }
    async fn delete(&self, key: &FileKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn presign_get(
        &self,
        key: &FileKey,
        ttl: std::time::Duration,
    ) -> Result<PresignedUrl, StoreError> {
        self.inner.presign_get(key, ttl).await
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

#[async_trait::async_trait]
impl MultipartUpload for StallingUpload {
    async fn put_part(&mut self, bytes: &mut Vec<u8>) -> Result<(), StoreError> {
        self.parts += 1;
        if self.parts == self.stop_at {
            self.reached.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.put_part(bytes).await
    }
    /// A copied part is a part: it stalls at `stop_at` too.
    async fn copy_part(&mut self, src: &FileKey, offset: u64, len: u64) -> Result<(), StoreError> {
        self.parts += 1;
        if self.parts == self.stop_at {
            self.reached.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.copy_part(src, offset, len).await
    }
    async fn complete(self: Box<Self>) -> Result<StoredFile, StoreError> {
        self.inner.complete().await
    }
    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.abort().await
    }
}

pub async fn a_crash_mid_upload_leaves_no_file_and_a_retry_finishes(fx: BulkFixture) {
    // GIVEN a third tenant's contacts: 30,000 on the embedded backend (a
    // 6.6 MB file from 4 tasks, whose chunks the assembly merges into one
    // part), 300 in moto (too slow for 30,000); the worker dies in the
    // assembly, at the file's first part, after every task was done
    let local = fx.local_files.is_some();
    let (contacts, stop_at) = if local { (30_000, 1) } else { (300, 1) };
    let tenant = TenantId::new("c3c3c3c3-0000-4000-8000-0000000000c3");
    exports_local::demo::configure_tenant(fx.config.as_ref(), &tenant)
        .await
        .unwrap();
    let counts = exports_local::generate::Counts {
        contacts,
        organisations: 0,
        households: 0,
    };
    exports_local::generate::write_all(fx.writer.as_ref(), &tenant, counts, 7, None)
        .await
        .unwrap();
    let (_, key) = exports_shared::model::bulk::ApiKey::generate(
        tenant.clone(),
        "t",
        vec![
            exports_shared::model::bulk::Permission::CreateExports,
            exports_shared::model::bulk::Permission::ReadExports,
        ],
        chrono::Utc::now(),
    );
    fx.keys.put_api_key(&key).await.unwrap();
    let (plain, record) = exports_shared::model::bulk::ApiKey::generate(
        tenant.clone(),
        "t2",
        key.permissions.clone(),
        chrono::Utc::now(),
    );
    fx.keys.put_api_key(&record).await.unwrap();
    let created = json_body(&fx.call(post(&plain, &contacts_body())).await);
    let id = created["id"].as_str().unwrap().to_string();
    let msg = JobMessage {
        tenant: tenant.clone(),
        job_id: id.clone(),
        task: None,
    };
    // WHEN the worker is killed while it assembles the file
    let reached = Arc::new(tokio::sync::Notify::new());
    let mut crashing = fx.worker.clone();
    crashing.page_size = 500;
    crashing.part_bytes = exports_shared::store::files::MIN_PART_BYTES;
    // Long enough that the busy check below runs inside it on a loaded
    // machine (3 s was not, with several builds sharing two cores).
    crashing.lease = chrono::Duration::seconds(10);
    crashing.files = Arc::new(Stalling {
        inner: fx.files.clone(),
        stop_at,
        reached: reached.clone(),
    });
    let mut task = tokio::spawn(async move { run_job(&crashing, &msg).await });
    tokio::select! {
        () = reached.notified() => {}
        ended = &mut task => panic!("the worker ended before the part: {ended:?}"),
        () = tokio::time::sleep(std::time::Duration::from_secs(120)) => {
            panic!("the worker did not reach the part")
        }
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // THEN the job is in progress and no file is visible
    let job = fx.jobs.get_job(&tenant, &id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::InProgress);
    assert!(job.output.is_none());
    let key = FileKey::new(
        &tenant,
        &format!("bulk/{id}"),
        &format!("contacts_{}.csv", job.created_at.format("%Y%m%d-%H%M%S")),
    )
    .unwrap();
    let url = fx
        .files
        .presign_get(&key, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(fx.download(&url.url).await, None, "no half file");
    // WHEN the message is redelivered while the lease holds: busy; after it expires: done
    let mut retry = fx.worker.clone();
    retry.page_size = 500;
    let msg = JobMessage {
        tenant: tenant.clone(),
        job_id: id.clone(),
        task: None,
    };
    assert!(matches!(
        run_job(&retry, &msg).await,
        Err(WorkerError::Busy)
    ));
    tokio::time::sleep(std::time::Duration::from_millis(10_100)).await;
    let JobOutcome::Finished(job) = run_job(&retry, &msg).await.unwrap() else {
        panic!("not finished")
    };
    // THEN exactly one complete file with every contact
    let out = job.output.unwrap();
    assert_eq!(out.rows, contacts);
    assert_eq!(out.file_key, key.as_str());
    let url = fx
        .files
        .presign_get(&key, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let file = fx.download(&url.url).await.expect("file");
    assert_eq!(file.len() > 5 * 1024 * 1024, local);
    assert_eq!(sha256(&file), out.sha256);
    assert_eq!(parse_csv(&file, b',').len() as u64, contacts + 1);
}

pub async fn a_batch_reports_only_its_failed_messages(fx: BulkFixture) {
    // GIVEN a batch: a good job, a garbage body, a job another worker holds
    let good = json_body(&fx.call(post(&fx.key_a, &contacts_body())).await)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let held = json_body(&fx.call(post(&fx.key_a, &contacts_body())).await)["id"]
        .as_str()
        .unwrap()
        .to_string();
    claim(
        fx.jobs.as_ref(),
        &TenantId::new(BULK_A),
        &held,
        "other",
        chrono::Utc::now(),
        chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::events_dir().join("bulk-export-worker-sqs.json")).unwrap(),
    )
    .unwrap();
    let message = |id: &str, body: String| {
        let mut m = template["Records"][0].clone();
        m["messageId"] = json!(id);
        m["body"] = json!(body);
        m
    };
    let job = |id: &str| json!({"tenant": BULK_A, "jobId": id}).to_string();
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({"Records": [
        message("m-good", job(&good)), message("m-garbage", "not json".into()), message("m-held", job(&held)),
    ]})).unwrap();
    // WHEN the worker handles it (and then the task messages it queued)
    let tasks = Arc::new(crate::bulk_fanout_cases::MemoryQueue::default());
    let worker = bulk_export_worker::Worker {
        deps: fx.worker.clone(),
        queue: tasks.clone(),
        max_receives: 5,
    };
    let response = bulk_export_worker::handle(&worker, event, None).await;
    // THEN only the failed messages are reported
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m-garbage", "m-held"]);
    let queued = tasks.take();
    assert!(!queued.is_empty() && queued.iter().all(|m| m.job_id == good && m.task.is_some()));
    for m in queued {
        exports_shared::service::bulk::run_job(&fx.worker, &m)
            .await
            .expect("task");
    }
    let done = fx
        .jobs
        .get_job(&TenantId::new(BULK_A), &good)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, JobStatus::Finished);
}

/// A file store whose writes fail, as on a read-only or full disk (a
/// read-only directory would not do: tests may run as root, which writes
/// through permissions).
struct Unwritable {
    inner: Arc<dyn FileStore>,
}

struct UnwritableUpload {
    inner: Box<dyn MultipartUpload>,
}

fn write_failure() -> StoreError {
    StoreError::backend(
        "write part",
        std::io::Error::new(
            std::io::ErrorKind::ReadOnlyFilesystem,
            "Read-only file system (os error 30) at /secret/internal/path",
        ),
    )
}

#[async_trait::async_trait]
impl FileStore for Unwritable {
    async fn put(&self, _: &FileKey, _: Vec<u8>, _: &FileMeta) -> Result<StoredFile, StoreError> {
        Err(write_failure())
    }
    async fn start_upload(
        &self,
        key: &FileKey,
        meta: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        Ok(Box::new(UnwritableUpload {
            inner: self.inner.start_upload(key, meta).await?,
        }))
    }
    async fn delete(&self, key: &FileKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn presign_get(
        &self,
        key: &FileKey,
        ttl: std::time::Duration,
    ) -> Result<PresignedUrl, StoreError> {
        self.inner.presign_get(key, ttl).await
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

#[async_trait::async_trait]
impl MultipartUpload for UnwritableUpload {
    async fn put_part(&mut self, _: &mut Vec<u8>) -> Result<(), StoreError> {
        Err(write_failure())
    }
    async fn copy_part(&mut self, _: &FileKey, _: u64, _: u64) -> Result<(), StoreError> {
        Err(write_failure())
    }
    async fn complete(self: Box<Self>) -> Result<StoredFile, StoreError> {
        Err(write_failure())
    }
    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.abort().await
    }
}

/// `GET /exports/{id}` with tenant A's key, asserting 200.
async fn export_status(fx: &BulkFixture, id: &str) -> Value {
    let r = fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await;
    assert_eq!(r.status(), 200);
    json_body(&r)
}

pub async fn a_job_whose_file_writes_fail_ends_in_error_after_its_retries(mut fx: BulkFixture) {
    // GIVEN a new contacts export, and a worker whose file writes fail
    let id = json_body(&fx.call(post(&fx.key_a, &contacts_body())).await)["id"]
        .as_str()
        .unwrap()
        .to_string();
    fx.worker.files = Arc::new(Unwritable {
        inner: fx.files.clone(),
    });
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::events_dir().join("bulk-export-worker-sqs.json")).unwrap(),
    )
    .unwrap();
    // (its message splits it into tasks, which writes no file)
    let tasks = Arc::new(crate::bulk_fanout_cases::MemoryQueue::default());
    let worker = bulk_export_worker::Worker {
        deps: fx.worker.clone(),
        queue: tasks.clone(),
        max_receives: 5,
    };
    let plan = |body: String| {
        let mut m = template["Records"][0].clone();
        m["messageId"] = json!("m-plan");
        m["body"] = json!(body);
        serde_json::from_value::<aws_lambda_events::event::sqs::SqsEvent>(json!({"Records": [m]}))
            .unwrap()
    };
    let planned = bulk_export_worker::handle(
        &worker,
        plan(json!({"tenant": BULK_A, "jobId": id}).to_string()),
        None,
    )
    .await;
    assert!(planned.batch_item_failures.is_empty());
    assert!(!tasks.take().is_empty());
    let delivery = |n: u32| {
        let mut m = template["Records"][0].clone();
        m["messageId"] = json!(format!("m-{n}"));
        m["body"] = json!(json!({"tenant": BULK_A, "jobId": id, "task": 0}).to_string());
        m["attributes"]["ApproximateReceiveCount"] = json!(n.to_string());
        serde_json::from_value::<aws_lambda_events::event::sqs::SqsEvent>(json!({"Records": [m]}))
            .unwrap()
    };
    // WHEN SQS delivers its first task's message four times (the queue
    // allows five)
    for n in 1..=4 {
        let response = bulk_export_worker::handle(&worker, delivery(n), None).await;
        // THEN each failed run is reported for redelivery, and the job
        // stays in progress, without an error, its lease given back
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, [format!("m-{n}")], "delivery {n}");
        let export = export_status(&fx, &id).await;
        assert_eq!(export["status"], "inProgress", "delivery {n}: {export}");
        assert!(export.get("error").is_none_or(Value::is_null), "{export}");
    }
    // WHEN the fifth and last delivery fails too
    let response = bulk_export_worker::handle(&worker, delivery(5), None).await;
    // THEN the message is acknowledged (not left for the dead-letter queue)
    assert!(response.batch_item_failures.is_empty());
    // AND the API reports the job as failed, with a safe message
    let export = export_status(&fx, &id).await;
    assert_eq!(export["status"], "error", "{export}");
    assert_eq!(export["error"], STORAGE_FAILED);
    assert!(!export.to_string().contains("/secret/internal/path"));
    assert!(export.get("fileUrl").is_none_or(Value::is_null), "{export}");
    // AND a later delivery leaves it so
    let response = bulk_export_worker::handle(&worker, delivery(6), None).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(export_status(&fx, &id).await["status"], "error");
}

pub async fn tenants_cannot_see_each_others_keys_jobs_or_files(fx: BulkFixture) {
    // GIVEN a finished export of tenant A
    let a = export(&fx, &fx.key_a, BULK_A, &contacts_body()).await;
    let id = a["id"].as_str().unwrap();
    // THEN tenant B's key cannot read it, nor list it
    assert_eq!(
        fx.call(get(&fx.key_b, &format!("/exports/{id}")))
            .await
            .status(),
        404
    );
    assert_eq!(
        json_body(&fx.call(get(&fx.key_b, "/exports")).await)["totalElements"],
        0
    );
    // AND B's export holds only B's contacts, under B's prefix
    let b = export(&fx, &fx.key_b, BULK_B, &contacts_body()).await;
    let rows = parse_csv(&file_of(&fx, &b).await, b',');
    assert_eq!(
        rows[1..].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["cb-1"]
    );
    let job = fx
        .jobs
        .get_job(&TenantId::new(BULK_B), b["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(job
        .output
        .unwrap()
        .file_key
        .starts_with(&format!("{BULK_B}/")));
    assert!(fx
        .jobs
        .get_job(&TenantId::new(BULK_B), id)
        .await
        .unwrap()
        .is_none());
    // AND keys: B lists only its own, cannot revoke A's
    let a_keys = fx.keys.list_api_keys(&TenantId::new(BULK_A)).await.unwrap();
    let b_keys = fx.keys.list_api_keys(&TenantId::new(BULK_B)).await.unwrap();
    assert_eq!((a_keys.len(), b_keys.len()), (2, 1));
    assert!(!fx
        .keys
        .revoke_api_key(&TenantId::new(BULK_B), &a_keys[0].id)
        .await
        .unwrap());
    // AND a revoked key no longer authenticates
    let a_key = exports_shared::model::bulk::hash_key(&fx.key_a);
    let id_a = a_keys
        .iter()
        .find(|k| k.sha256 == a_key)
        .unwrap()
        .id
        .clone();
    assert!(fx
        .keys
        .revoke_api_key(&TenantId::new(BULK_A), &id_a)
        .await
        .unwrap());
    assert_eq!(fx.call(get(&fx.key_a, "/exports")).await.status(), 401);
}

pub async fn exports_are_listed_newest_first_in_pages(fx: BulkFixture) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            json_body(&fx.call(post(&fx.key_a, &contacts_body())).await)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let page0 = json_body(&fx.call(get(&fx.key_a, "/exports?page=0&size=2")).await);
    let page1 = json_body(&fx.call(get(&fx.key_a, "/exports?page=1&size=2")).await);
    let got: Vec<&str> = page0["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page1["items"].as_array().unwrap())
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    assert_eq!(
        (
            page0["totalElements"].as_u64(),
            page0["totalPages"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(
        fx.call(get(&fx.key_a, "/exports?size=0")).await.status(),
        400
    );
    assert_eq!(
        fx.call(get(&fx.key_a, "/exports?page=x")).await.status(),
        400
    );
}
