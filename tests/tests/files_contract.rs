//! The file store and the job queue, one suite on both backends: the
//! embedded files directory and SQLite queue, and S3 and SQS in moto.

use exports_shared::config::s3_client;
use exports_shared::model::TenantId;
use exports_shared::store::aws::{S3Files, SqsQueue};
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use exports_shared::store::files::MIN_PART_BYTES;
use exports_shared::store::{FileKey, FileMeta, FileStore, JobMessage, JobQueue, StoreError};
use exports_tests::backends::{moto_sdk_config, moto_url};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// A file store and the way a client downloads its links.
enum Files {
    /// The directory lives as long as the store.
    Embedded(EmbeddedFiles, #[allow(dead_code)] tempfile::TempDir),
    S3(S3Files),
}

impl Files {
    fn store(&self) -> &dyn FileStore {
        match self {
            Files::Embedded(f, _) => f,
            Files::S3(f) => f,
        }
    }

    /// GETs a presigned URL: `None` when it does not answer with the file.
    async fn fetch(&self, url: &str) -> Option<Vec<u8>> {
        match self {
            Files::Embedded(f, _) => {
                let (path, _) = f
                    .open_link(url, chrono::Utc::now().timestamp())
                    .await
                    .ok()?;
                std::fs::read(path).ok()
            }
            Files::S3(_) => {
                let resp = reqwest::get(url).await.ok()?;
                if !resp.status().is_success() {
                    return None;
                }
                resp.bytes().await.ok().map(|b| b.to_vec())
            }
        }
    }
}

async fn embedded() -> Files {
    let dir = tempfile::tempdir().unwrap();
    Files::Embedded(
        EmbeddedFiles::open(dir.path(), "http://127.0.0.1:1").unwrap(),
        dir,
    )
}

async fn s3() -> Option<Files> {
    let url = moto_url()?;
    let client = s3_client(&moto_sdk_config(&url).await);
    let bucket = format!("files-{}", uuid_like());
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    Some(Files::S3(S3Files::new(client, bucket)))
}

fn uuid_like() -> String {
    format!("{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

fn meta() -> FileMeta {
    FileMeta {
        content_type: "text/csv;charset=UTF-8".into(),
        content_disposition: "attachment; filename=\"a.csv\"".into(),
    }
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn key(name: &str) -> FileKey {
    FileKey::new(
        &TenantId::new("tenant-a"),
        &format!("test/{}", uuid_like()),
        name,
    )
    .unwrap()
}

async fn put_and_presign_round_trip(files: Files) {
    // GIVEN a whole file put at once
    let body = b"id,name\r\n1,Ana\r\n".to_vec();
    let k = key("a.csv");
    let stored = files.store().put(&k, body.clone(), &meta()).await.unwrap();
    // THEN its size and digest are reported
    assert_eq!(stored.bytes, body.len() as u64);
    assert_eq!(stored.sha256, sha(&body));
    // AND its presigned URL downloads it until it expires
    let url = files
        .store()
        .presign_get(&k, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(url.expires_at > chrono::Utc::now());
    assert_eq!(files.fetch(&url.url).await, Some(body));
}

async fn multipart_is_invisible_until_complete(files: Files) {
    // GIVEN a streamed upload of a 5 MiB part and a small last part
    let k = key("big.csv");
    let first = vec![b'x'; MIN_PART_BYTES];
    let last = b"tail".to_vec();
    let mut up = files.store().start_upload(&k, &meta()).await.unwrap();
    let mut part = first.clone();
    up.put_part(&mut part).await.unwrap();
    // THEN the part is consumed: the caller's buffer is empty, to be refilled
    assert!(part.is_empty());
    let url = files
        .store()
        .presign_get(&k, Duration::from_secs(60))
        .await
        .unwrap();
    // THEN nothing can be downloaded before completion
    assert_eq!(files.fetch(&url.url).await, None);
    up.put_part(&mut last.clone()).await.unwrap();
    let stored = up.complete().await.unwrap();
    // AND afterwards the whole file is there, with its size and digest
    let whole = [first, last].concat();
    assert_eq!(stored.bytes, whole.len() as u64);
    assert_eq!(stored.sha256, sha(&whole));
    assert_eq!(
        files.fetch(&url.url).await.map(|b| b.len()),
        Some(whole.len())
    );
}

async fn aborted_uploads_leave_nothing(files: Files) {
    let k = key("aborted.csv");
    let mut up = files.store().start_upload(&k, &meta()).await.unwrap();
    up.put_part(&mut vec![b'y'; 1024]).await.unwrap();
    up.abort().await.unwrap();
    let url = files
        .store()
        .presign_get(&k, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(files.fetch(&url.url).await, None);
}

async fn empty_uploads_complete_as_empty_files(files: Files) {
    let k = key("empty.csv");
    let up = files.store().start_upload(&k, &meta()).await.unwrap();
    let stored = up.complete().await.unwrap();
    assert_eq!(stored.bytes, 0);
    let url = files
        .store()
        .presign_get(&k, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(files.fetch(&url.url).await, Some(Vec::new()));
}

async fn read_range_reads_the_start_the_middle_and_up_to_the_end(files: Files) {
    // GIVEN a stored file of ten bytes
    let k = key("digits.csv");
    files
        .store()
        .put(&k, b"0123456789".to_vec(), &meta())
        .await
        .unwrap();
    let read = |offset: u64, len: u64| {
        let k = k.clone();
        let store = files.store();
        async move { store.read_range(&k, offset, len).await.unwrap() }
    };
    // THEN a range at the start and one in the middle are those bytes
    assert_eq!(read(0, 4).await, b"0123");
    assert_eq!(read(3, 4).await, b"3456");
    assert_eq!(read(0, 10).await, b"0123456789");
    // AND a range over the end stops at the end, and one past it is empty
    assert_eq!(read(8, 10).await, b"89");
    assert_eq!(read(10, 5).await, b"");
    assert_eq!(read(25, 5).await, b"");
    assert_eq!(read(2, 0).await, b"");
    // AND a file that is not there is an error, not bytes
    assert!(matches!(
        files.store().read_range(&key("none.csv"), 0, 4).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// `n` bytes that differ from offset to offset, so a range read from the
/// wrong place shows.
fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b'a' + ((i / 7 + i % 13 + usize::from(seed)) % 26) as u8)
        .collect()
}

async fn a_copied_part_counts_in_the_file_and_its_digest(files: Files) {
    // GIVEN a stored file (a task's chunk) of 5 MiB + 1 KiB
    let src = key("chunk.part");
    let chunk = pattern(MIN_PART_BYTES + 1024, 3);
    files
        .store()
        .put(&src, chunk.clone(), &meta())
        .await
        .unwrap();
    // WHEN an upload is made of a 5 MiB part put, 5 MiB + 7 bytes of that
    // file from offset 100 copied, and a small last part put
    let k = key("assembled.csv");
    let head = pattern(MIN_PART_BYTES, 1);
    let (offset, len) = (100_usize, MIN_PART_BYTES + 7);
    let tail = b"last,row\r\n".to_vec();
    let mut up = files.store().start_upload(&k, &meta()).await.unwrap();
    up.put_part(&mut head.clone()).await.unwrap();
    up.copy_part(&src, offset as u64, len as u64).await.unwrap();
    up.put_part(&mut tail.clone()).await.unwrap();
    let stored = up.complete().await.unwrap();
    // THEN its size and sha256 are those of the three pieces joined
    let whole = [head.as_slice(), &chunk[offset..offset + len], &tail].concat();
    assert_eq!(stored.bytes, whole.len() as u64);
    assert_eq!(stored.sha256, sha(&whole));
    // AND the file downloads as exactly those bytes
    let url = files
        .store()
        .presign_get(&k, Duration::from_secs(60))
        .await
        .unwrap();
    let got = files.fetch(&url.url).await.expect("the assembled file");
    assert!(got == whole, "the assembled file differs from its pieces");
    // AND a range of it reads across the copied part's edges
    let edge = MIN_PART_BYTES as u64 - 3;
    assert_eq!(
        files.store().read_range(&k, edge, 10).await.unwrap(),
        &whole[edge as usize..edge as usize + 10]
    );
}

async fn copying_a_missing_or_short_range_fails(files: Files) {
    // GIVEN a stored file of 1 KiB
    let src = key("small.part");
    files
        .store()
        .put(&src, pattern(1024, 5), &meta())
        .await
        .unwrap();
    let k = key("broken.csv");
    // WHEN a part is copied from a file that is not there, THEN it fails
    let mut up = files.store().start_upload(&k, &meta()).await.unwrap();
    assert!(up.copy_part(&key("gone.part"), 0, 10).await.is_err());
    up.abort().await.unwrap();
    // AND so does a range that runs past the file's end
    let mut up = files.store().start_upload(&k, &meta()).await.unwrap();
    assert!(up.copy_part(&src, 1000, 100).await.is_err());
    up.abort().await.unwrap();
    // AND nothing was published
    let url = files
        .store()
        .presign_get(&k, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(files.fetch(&url.url).await, None);
}

macro_rules! both {
    ($($case:ident),*) => {
        mod on_embedded {
            $( #[tokio::test] async fn $case() { super::$case(super::embedded().await).await } )*
        }
        mod on_s3 {
            $( #[tokio::test] async fn $case() { if let Some(f) = super::s3().await { super::$case(f).await } } )*
        }
    };
}

both!(
    put_and_presign_round_trip,
    multipart_is_invisible_until_complete,
    aborted_uploads_leave_nothing,
    empty_uploads_complete_as_empty_files,
    read_range_reads_the_start_the_middle_and_up_to_the_end,
    a_copied_part_counts_in_the_file_and_its_digest,
    copying_a_missing_or_short_range_fails
);

fn job(id: &str) -> JobMessage {
    JobMessage {
        tenant: TenantId::new("tenant-a"),
        job_id: id.into(),
        task: None,
    }
}

#[tokio::test]
async fn the_embedded_queue_delivers_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store.send(&job("j1")).await.unwrap();
    let got = store.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, job("j1"));
}

#[tokio::test]
async fn the_sqs_queue_delivers_what_was_sent() {
    let Some(url) = moto_url() else { return };
    let sdk = moto_sdk_config(&url).await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let queue = client
        .create_queue()
        .queue_name(format!("jobs-{}", uuid_like()))
        .send()
        .await
        .unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    SqsQueue::new(client.clone(), &queue_url)
        .send(&job("j1"))
        .await
        .unwrap();
    let got = client
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<JobMessage> = got
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    assert_eq!(bodies, [job("j1")]);
}
