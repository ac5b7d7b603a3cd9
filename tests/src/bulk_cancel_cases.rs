//! Cancelling bulk exports (`DELETE /exports/{id}`) at every stage, and
//! gzip-compressed files: cases of [`crate::bulk_suite!`], run on every
//! backend.

use crate::bulk::*;
use crate::json_body;
use exports_shared::model::bulk::JobStatus;
use exports_shared::model::TenantId;
use exports_shared::service::bulk::JobOutcome;
use exports_shared::store::{
    FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoreError, StoredFile,
};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;
use tokio::sync::Notify;

fn contacts_body() -> Value {
    json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ","})
}

/// `DELETE /exports/{id}`.
pub fn delete(key: &str, id: &str) -> lambda_http::Request {
    let mut req = bulk_event("bulk-export-cancel", Some(key));
    *req.uri_mut() = format!("https://api.example.com/exports/{id}")
        .parse()
        .expect("uri");
    req
}

/// POSTs `body` for tenant A; returns the new export's id.
async fn create(fx: &BulkFixture, body: &Value) -> String {
    let created = fx.call(post(&fx.key_a, body)).await;
    assert_eq!(created.status(), 201, "{:?}", json_body(&created));
    json_body(&created)["id"].as_str().expect("id").to_string()
}

/// The file a job of tenant A would have written, if it is there.
async fn file_left(fx: &BulkFixture, id: &str, name: &str) -> Option<Vec<u8>> {
    let key = FileKey::new(&TenantId::new(BULK_A), &format!("bulk/{id}"), name).expect("key");
    let url = fx
        .files
        .presign_get(&key, std::time::Duration::from_secs(60))
        .await
        .expect("presign");
    fx.download(&url.url).await
}

/// The file name of a job: `contacts_{createdAt}.csv`.
async fn file_name(fx: &BulkFixture, id: &str) -> String {
    let job = fx
        .jobs
        .get_job(&TenantId::new(BULK_A), id)
        .await
        .expect("get")
        .expect("job");
    format!("contacts_{}.csv", job.created_at.format("%Y%m%d-%H%M%S"))
}

/// A file store whose uploads wait at their first part until released,
/// telling the test when they got there.
struct Gate {
    inner: Arc<dyn FileStore>,
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

struct GateUpload {
    inner: Box<dyn MultipartUpload>,
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

#[async_trait::async_trait]
impl FileStore for Gate {
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
        Ok(Box::new(GateUpload {
            inner: self.inner.start_upload(key, meta).await?,
            reached: self.reached.clone(),
            release: self.release.clone(),
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
impl MultipartUpload for GateUpload {
    async fn put_part(&mut self, part: &mut Vec<u8>) -> Result<(), StoreError> {
        self.reached.notify_one();
        self.release.notified().await;
        self.inner.put_part(part).await
    }
    async fn copy_part(&mut self, src: &FileKey, offset: u64, len: u64) -> Result<(), StoreError> {
        self.reached.notify_one();
        self.release.notified().await;
        self.inner.copy_part(src, offset, len).await
    }
    async fn complete(self: Box<Self>) -> Result<StoredFile, StoreError> {
        self.inner.complete().await
    }
    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.abort().await
    }
}

pub async fn cancel_works_at_every_stage(fx: BulkFixture) {
    // GIVEN a pending export
    let id = create(&fx, &contacts_body()).await;
    // WHEN a key that may only read cancels it, THEN 403
    assert_eq!(fx.call(delete(&fx.key_a_read, &id)).await.status(), 403);
    // AND another tenant's key does not find it
    assert_eq!(fx.call(delete(&fx.key_b, &id)).await.status(), 404);
    assert_eq!(
        fx.call(delete(&fx.key_a, "no-such-export")).await.status(),
        404
    );
    // WHEN its owner cancels it
    let resp = fx.call(delete(&fx.key_a, &id)).await;
    // THEN it is cancelled, and stays so when cancelled again
    assert_eq!(resp.status(), 200);
    assert_eq!(json_body(&resp)["status"], "cancelled");
    let again = fx.call(delete(&fx.key_a, &id)).await;
    assert_eq!(
        (again.status().as_u16(), json_body(&again)["status"].clone()),
        (200, json!("cancelled"))
    );
    // AND its message, delivered later, does nothing
    assert_eq!(fx.work(BULK_A, &id).await, JobOutcome::AlreadyDone);
    let got = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await);
    assert_eq!(got["status"], "cancelled");
    assert!(got.get("fileUrl").is_none());
    assert!(file_left(&fx, &id, &file_name(&fx, &id).await)
        .await
        .is_none());

    // GIVEN an export whose worker is writing its file
    let id = create(&fx, &contacts_body()).await;
    let (reached, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let mut worker = fx.worker.clone();
    worker.files = Arc::new(Gate {
        inner: fx.files.clone(),
        reached: reached.clone(),
        release: release.clone(),
    });
    let run = {
        let id = id.clone();
        tokio::spawn(async move {
            exports_shared::service::bulk::run_job(
                &worker,
                &exports_shared::store::JobMessage {
                    tenant: TenantId::new(BULK_A),
                    job_id: id,
                    task: None,
                },
            )
            .await
        })
    };
    reached.notified().await;
    let running = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await);
    assert_eq!(running["status"], "inProgress");
    // WHEN it is cancelled while the worker is at a part
    let resp = fx.call(delete(&fx.key_a, &id)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_body(&resp)["status"], "cancelled");
    release.notify_one();
    // THEN the worker stops, aborts its upload and leaves no file
    let outcome = run.await.expect("worker task").expect("worker run");
    assert_eq!(outcome, JobOutcome::Cancelled);
    let job = fx
        .jobs
        .get_job(&TenantId::new(BULK_A), &id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        (job.status, job.output.clone()),
        (JobStatus::Cancelled, None)
    );
    assert!(file_left(&fx, &id, &file_name(&fx, &id).await)
        .await
        .is_none());

    // GIVEN a finished export, WHEN it is cancelled, THEN 409 and it stays finished
    let id = create(&fx, &contacts_body()).await;
    assert!(matches!(
        fx.work(BULK_A, &id).await,
        JobOutcome::Finished(_)
    ));
    let resp = fx.call(delete(&fx.key_a, &id)).await;
    assert_eq!(resp.status(), 409);
    let body = json_body(&resp);
    assert_eq!(body["status"], 409);
    assert_eq!(body["error"], "Conflict");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("finished"),
        "{body}"
    );
    let got = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{id}"))).await);
    assert_eq!(got["status"], "finished");
    assert!(file_left(&fx, &id, &file_name(&fx, &id).await)
        .await
        .is_some());
}

pub async fn a_gzip_export_decompresses_to_exactly_the_plain_file(fx: BulkFixture) {
    // GIVEN the same contacts export, plain and gzip-compressed
    let plain_id = create(&fx, &contacts_body()).await;
    let mut gz_body = contacts_body();
    gz_body["compression"] = json!("gzip");
    let gz_id = create(&fx, &gz_body).await;
    // WHEN both run
    for id in [&plain_id, &gz_id] {
        assert!(matches!(fx.work(BULK_A, id).await, JobOutcome::Finished(_)));
    }
    let plain = json_body(
        &fx.call(get(&fx.key_a, &format!("/exports/{plain_id}")))
            .await,
    );
    let gz = json_body(&fx.call(get(&fx.key_a, &format!("/exports/{gz_id}"))).await);
    // THEN the gzip file is a .csv.gz with its own size and digest
    assert_eq!(gz["compression"], "gzip");
    assert_eq!(plain["compression"], "none");
    let url = gz["fileUrl"].as_str().expect("fileUrl");
    assert!(url.contains(".csv.gz"), "{url}");
    let gz_file = fx.download(url).await.expect("the gzip file");
    let plain_file = fx
        .download(plain["fileUrl"].as_str().expect("fileUrl"))
        .await
        .expect("the plain file");
    assert_eq!(gz_file.len() as u64, gz["bytes"].as_u64().expect("bytes"));
    assert_eq!(sha256(&gz_file), gz["sha256"].as_str().expect("sha256"));
    assert_eq!(&gz_file[..2], &[0x1f, 0x8b], "a gzip member");
    // AND it decompresses to exactly the plain file (a gzip member per
    // chunk of the job's tasks: any gzip reader reads every member)
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz_file[..])
        .read_to_end(&mut out)
        .expect("gunzip");
    assert_eq!(out, plain_file);
    assert_eq!(gz["rows"], plain["rows"]);
    // AND an unknown compression is a 422 naming the field
    let mut bad = contacts_body();
    bad["compression"] = json!("zip");
    let resp = fx.call(post(&fx.key_a, &bad)).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(json_body(&resp)["errors"][0]["field"], "compression");
}
