//! [`EmbeddedFiles`]: export files in the data directory, with HMAC-signed,
//! expiring download URLs that `exports-local serve` answers at `/files/...`.
//!
//! Layout under the root: `files/{key}` (content), `meta/{key}.json`
//! (headers), `uploads/{uuid}.part` (uploads in progress; renamed into
//! `files/` on completion, so a half-written file is never visible).
//!
//! A part file never outlives its upload: completing renames it, aborting
//! deletes it, and an upload dropped any other way (an error path, a
//! cancelled task) deletes it when dropped. Part files left by a killed
//! process are removed by [`EmbeddedFiles::remove_orphaned_uploads`], which
//! `exports-local serve` runs at start-up.

use crate::store::files::{
    Digest256, FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoredFile,
};
use crate::store::StoreError;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

type HmacSha256 = Hmac<Sha256>;

/// The embedded file store.
#[derive(Clone)]
pub struct EmbeddedFiles {
    root: PathBuf,
    base_url: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for EmbeddedFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedFiles")
            .field("root", &self.root)
            .field("base_url", &self.base_url)
            .finish()
    }
}

fn io(context: &str) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::backend(context, e)
}

/// Why a signed download was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    #[error("the link is not valid")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
    #[error("the file does not exist")]
    NotFound,
}

impl EmbeddedFiles {
    /// Opens the store under `data_dir`. The signing key lives in
    /// `data_dir/files.key`, created on first use, so links survive restarts.
    ///
    /// # Errors
    /// When the directories or the key cannot be created.
    pub fn open(data_dir: &Path, base_url: impl Into<String>) -> Result<Self, StoreError> {
        for sub in ["files", "meta", "uploads"] {
            std::fs::create_dir_all(data_dir.join(sub)).map_err(io("create files directory"))?;
        }
        let key_path = data_dir.join("files.key");
        let secret = match std::fs::read(&key_path) {
            Ok(k) if k.len() >= 32 => k,
            _ => {
                let key: [u8; 32] = rand::random();
                std::fs::write(&key_path, key).map_err(io("write files.key"))?;
                key.to_vec()
            }
        };
        Ok(EmbeddedFiles {
            root: data_dir.to_path_buf(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret,
        })
    }

    fn content_path(&self, key: &FileKey) -> PathBuf {
        self.root.join("files").join(key.as_str())
    }

    fn meta_path(&self, key: &FileKey) -> PathBuf {
        self.root
            .join("meta")
            .join(format!("{}.json", key.as_str()))
    }

    fn mac(&self, key: &str, expires: i64) -> HmacSha256 {
        #[allow(clippy::expect_used)]
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// Checks a signed link and returns the file's path and headers.
    ///
    /// # Errors
    /// [`DownloadError`] when the signature is wrong, the link expired or the
    /// file is gone.
    pub async fn open_signed(
        &self,
        key: &str,
        expires: i64,
        signature: &str,
        now: i64,
    ) -> Result<(PathBuf, FileMeta), DownloadError> {
        let sig = decode_hex(signature).ok_or(DownloadError::BadSignature)?;
        self.mac(key, expires)
            .verify_slice(&sig)
            .map_err(|_| DownloadError::BadSignature)?;
        if now > expires {
            return Err(DownloadError::Expired);
        }
        let key = FileKey::parse(key).map_err(|_| DownloadError::BadSignature)?;
        let meta: FileMeta = tokio::fs::read(self.meta_path(&key))
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(DownloadError::NotFound)?;
        let path = self.content_path(&key);
        if tokio::fs::metadata(&path).await.is_err() {
            return Err(DownloadError::NotFound);
        }
        Ok((path, meta))
    }

    /// Checks a link as [`FileStore::presign_get`] writes it: a full URL or
    /// just its path and query, `.../files/{key}?expires=E&signature=S`.
    ///
    /// # Errors
    /// As [`EmbeddedFiles::open_signed`]; a link that does not parse is a
    /// [`DownloadError::BadSignature`].
    pub async fn open_link(
        &self,
        link: &str,
        now: i64,
    ) -> Result<(PathBuf, FileMeta), DownloadError> {
        let rest = link
            .split_once("/files/")
            .ok_or(DownloadError::BadSignature)?
            .1;
        let (key, query) = rest.split_once('?').unwrap_or((rest, ""));
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v)
        };
        let expires = param("expires")
            .and_then(|e| e.parse::<i64>().ok())
            .ok_or(DownloadError::BadSignature)?;
        let signature = param("signature").ok_or(DownloadError::BadSignature)?;
        self.open_signed(key, expires, signature, now).await
    }

    async fn publish(&self, tmp: &Path, key: &FileKey, meta: &FileMeta) -> Result<(), StoreError> {
        let path = self.content_path(key);
        let meta_path = self.meta_path(key);
        for p in [&path, &meta_path] {
            if let Some(dir) = p.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(io("create file directory"))?;
            }
        }
        let meta_json = serde_json::to_vec(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tokio::fs::write(&meta_path, meta_json)
            .await
            .map_err(io("write file meta"))?;
        tokio::fs::rename(tmp, &path)
            .await
            .map_err(io("publish file"))
    }

    /// Removes every `uploads/*.part` file and returns how many there were.
    /// Only for a process that owns the data directory, before it starts
    /// any upload: every part file then belongs to a process that died
    /// mid-upload (`exports-local serve` holds the data directory's lock).
    ///
    /// # Errors
    /// When the directory cannot be read or a file cannot be removed.
    pub async fn remove_orphaned_uploads(&self) -> Result<usize, StoreError> {
        let mut entries = match tokio::fs::read_dir(self.root.join("uploads")).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::backend("read uploads", e)),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await.map_err(io("read uploads"))? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "part") {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::backend("remove orphaned upload", e)),
                }
            }
        }
        Ok(removed)
    }

    fn temp_path(&self) -> PathBuf {
        self.root
            .join("uploads")
            .join(format!("{}.part", uuid::Uuid::new_v4()))
    }
}

/// Bytes read from a stored file per step of [`EmbeddedUpload::copy_part`].
const COPY_BUFFER_BYTES: usize = 256 * 1024;

/// The stored file of `key` (its content, not an upload in progress),
/// opened and positioned at `offset`, with its length.
///
/// # Errors
/// [`StoreError::Corrupt`] when there is no such file (a missing file is
/// a key the caller believed it had written: stored state that disagrees
/// with itself); [`StoreError::Backend`] when it cannot be read.
async fn open_at(
    store: &EmbeddedFiles,
    key: &FileKey,
    offset: u64,
) -> Result<(tokio::fs::File, u64), StoreError> {
    let mut file = match tokio::fs::File::open(store.content_path(key)).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Corrupt(format!("no file at {}", key.as_str())))
        }
        Err(e) => return Err(StoreError::backend("open file", e)),
    };
    let size = file.metadata().await.map_err(io("read file size"))?.len();
    file.seek(std::io::SeekFrom::Start(offset.min(size)))
        .await
        .map_err(io("seek file"))?;
    Ok((file, size))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl FileStore for EmbeddedFiles {
    async fn put(
        &self,
        key: &FileKey,
        body: Vec<u8>,
        meta: &FileMeta,
    ) -> Result<StoredFile, StoreError> {
        let mut upload = self.start_upload(key, meta).await?;
        let mut body = body;
        upload.put_part(&mut body).await?;
        upload.complete().await
    }

    async fn start_upload(
        &self,
        key: &FileKey,
        meta: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        let tmp = self.temp_path();
        let file = tokio::fs::File::create(&tmp)
            .await
            .map_err(io("create upload"))?;
        Ok(Box::new(EmbeddedUpload {
            store: self.clone(),
            key: key.clone(),
            meta: meta.clone(),
            tmp,
            file: Some(file),
            digest: Digest256::default(),
            settled: false,
        }))
    }

    async fn delete(&self, key: &FileKey) -> Result<(), StoreError> {
        for path in [self.content_path(key), self.meta_path(key)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::backend("remove file", e)),
            }
        }
        Ok(())
    }

    /// A seek and a read of the stored file; a missing file is
    /// [`StoreError::Corrupt`].
    async fn read_range(
        &self,
        key: &FileKey,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let (file, size) = open_at(self, key, offset).await?;
        let available = size.saturating_sub(offset).min(len);
        let mut out = Vec::with_capacity(usize::try_from(available).unwrap_or(0));
        file.take(available)
            .read_to_end(&mut out)
            .await
            .map_err(io("read file"))?;
        Ok(out)
    }

    async fn presign_get(&self, key: &FileKey, ttl: Duration) -> Result<PresignedUrl, StoreError> {
        let expires_at = chrono::Utc::now() + chrono::Duration::seconds(ttl.as_secs() as i64);
        let expires = expires_at.timestamp();
        let signature = encode_hex(&self.mac(key.as_str(), expires).finalize().into_bytes());
        Ok(PresignedUrl {
            url: format!(
                "{}/files/{}?expires={expires}&signature={signature}",
                self.base_url,
                key.as_str()
            ),
            expires_at: chrono::DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
        })
    }
}

/// An upload into `uploads/{uuid}.part`.
struct EmbeddedUpload {
    store: EmbeddedFiles,
    key: FileKey,
    meta: FileMeta,
    tmp: PathBuf,
    /// `None` once closed.
    file: Option<tokio::fs::File>,
    digest: Digest256,
    /// Completed (the part file is now the published file) or aborted (it
    /// is deleted): nothing left for [`Drop`] to clean up.
    settled: bool,
}

impl EmbeddedUpload {
    fn file(&mut self) -> Result<&mut tokio::fs::File, StoreError> {
        self.file
            .as_mut()
            .ok_or_else(|| StoreError::Corrupt("upload already closed".into()))
    }
}

#[async_trait]
impl MultipartUpload for EmbeddedUpload {
    async fn put_part(&mut self, part: &mut Vec<u8>) -> Result<(), StoreError> {
        self.digest.update(part);
        self.file()?
            .write_all(part)
            .await
            .map_err(io("write part"))?;
        part.clear();
        Ok(())
    }

    /// Appends the range of the stored file to the part file, through the
    /// digest, [`COPY_BUFFER_BYTES`] at a time. `src` must hold the whole
    /// range (checked before anything is written); an empty range appends
    /// nothing.
    async fn copy_part(&mut self, src: &FileKey, offset: u64, len: u64) -> Result<(), StoreError> {
        if len == 0 {
            return Ok(());
        }
        let (source, size) = open_at(&self.store, src, offset).await?;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(StoreError::Corrupt(format!(
                "{} holds {size} bytes, not {offset}..{offset}+{len}",
                src.as_str()
            )));
        }
        let mut source = source.take(len);
        let mut buf = vec![0; COPY_BUFFER_BYTES.min(usize::try_from(len).unwrap_or(usize::MAX))];
        let mut copied: u64 = 0;
        loop {
            let n = source
                .read(&mut buf)
                .await
                .map_err(io("read copied part"))?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            self.digest.update(chunk);
            self.file()?
                .write_all(chunk)
                .await
                .map_err(io("write copied part"))?;
            copied += n as u64;
        }
        if copied != len {
            return Err(StoreError::Corrupt(format!(
                "{} ended after {copied} of {len} bytes copied",
                src.as_str()
            )));
        }
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<StoredFile, StoreError> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Corrupt("upload already closed".into()))?;
        file.flush().await.map_err(io("flush upload"))?;
        file.sync_all().await.map_err(io("sync upload"))?;
        drop(file);
        // On any error above or here, dropping `self` deletes the part file.
        self.store.publish(&self.tmp, &self.key, &self.meta).await?;
        self.settled = true;
        let (bytes, sha256) = std::mem::take(&mut self.digest).finish();
        Ok(StoredFile {
            key: self.key.clone(),
            bytes,
            sha256,
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        drop(self.file.take());
        self.settled = true;
        match tokio::fs::remove_file(&self.tmp).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::backend("abort upload", e)),
        }
    }
}

impl Drop for EmbeddedUpload {
    /// Deletes the part file of an upload that was neither completed nor
    /// aborted. Inside a tokio runtime the unlink runs on the blocking pool
    /// (never blocking a worker thread); outside one, here.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        drop(self.file.take());
        let tmp = std::mem::take(&mut self.tmp);
        let remove = move || match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, path = %tmp.display(), "removing an abandoned upload failed")
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(remove);
            }
            Err(_) => remove(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantId;

    fn meta() -> FileMeta {
        FileMeta {
            content_type: "text/csv".into(),
            content_disposition: "attachment".into(),
        }
    }

    #[tokio::test]
    async fn uploads_are_invisible_until_complete_and_links_are_signed() {
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://127.0.0.1:9").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "sync/x", "a.csv").unwrap();
        // GIVEN an upload with one part written
        let mut up = files.start_upload(&key, &meta()).await.unwrap();
        up.put_part(&mut b"hello ".to_vec()).await.unwrap();
        let url = files
            .presign_get(&key, Duration::from_secs(60))
            .await
            .unwrap();
        let (k, q) = url
            .url
            .trim_start_matches("http://127.0.0.1:9/files/")
            .split_once('?')
            .unwrap();
        let expires: i64 = q
            .split('&')
            .next()
            .unwrap()
            .trim_start_matches("expires=")
            .parse()
            .unwrap();
        let sig = q.split("signature=").nth(1).unwrap();
        let now = chrono::Utc::now().timestamp();
        // THEN nothing is there yet
        assert_eq!(
            files.open_signed(k, expires, sig, now).await.unwrap_err(),
            DownloadError::NotFound
        );
        // WHEN it completes, THEN the file, its size and its digest are there
        up.put_part(&mut b"world".to_vec()).await.unwrap();
        let stored = up.complete().await.unwrap();
        assert_eq!(stored.bytes, 11);
        let (path, m) = files.open_signed(k, expires, sig, now).await.unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"hello world");
        assert_eq!(m, meta());
        // AND a tampered, expired or re-targeted link is refused
        assert_eq!(
            files
                .open_signed(k, expires + 1, sig, now)
                .await
                .unwrap_err(),
            DownloadError::BadSignature
        );
        assert_eq!(
            files
                .open_signed("t2/sync/x/a.csv", expires, sig, now)
                .await
                .unwrap_err(),
            DownloadError::BadSignature
        );
        assert_eq!(
            files
                .open_signed(k, expires, sig, expires + 1)
                .await
                .unwrap_err(),
            DownloadError::Expired
        );
        assert_eq!(
            files.open_signed(k, expires, "zz", now).await.unwrap_err(),
            DownloadError::BadSignature
        );
    }

    #[tokio::test]
    async fn a_part_buffer_comes_back_empty_with_its_capacity() {
        // GIVEN an upload and a 1 KiB part
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "bulk", "r.csv").unwrap();
        let mut up = files.start_upload(&key, &meta()).await.unwrap();
        let mut part = vec![b'x'; 1024];
        let at = part.as_ptr();
        // WHEN the part is put, then the same buffer refilled and put again
        up.put_part(&mut part).await.unwrap();
        // THEN it is empty, and the same allocation, ready for the next part
        assert!(part.is_empty());
        assert!(part.capacity() >= 1024);
        assert_eq!(part.as_ptr(), at);
        part.extend_from_slice(b"yz");
        up.put_part(&mut part).await.unwrap();
        let stored = up.complete().await.unwrap();
        assert_eq!(stored.bytes, 1026);
        let on_disk = std::fs::read(dir.path().join("files").join(key.as_str())).unwrap();
        assert_eq!(&on_disk[1024..], b"yz");
    }

    #[tokio::test]
    async fn aborted_uploads_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "bulk", "b.csv").unwrap();
        let mut up = files.start_upload(&key, &meta()).await.unwrap();
        up.put_part(&mut vec![b'x'; 1024]).await.unwrap();
        up.abort().await.unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("uploads"))
                .unwrap()
                .count(),
            0
        );
        assert!(!dir.path().join("files/t1/bulk/b.csv").exists());
    }

    /// The `uploads/*.part` files under `dir`, once the background
    /// removals of dropped uploads have had up to 5 s to run.
    async fn parts_settled(dir: &Path, expected: usize) -> usize {
        let count = || {
            std::fs::read_dir(dir.join("uploads"))
                .map(|d| d.count())
                .unwrap_or(0)
        };
        for _ in 0..100 {
            if count() == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        count()
    }

    #[tokio::test]
    async fn an_upload_dropped_without_abort_removes_its_part_file() {
        // GIVEN an upload with a part written (its part file is there)
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "bulk", "d.csv").unwrap();
        let mut up = files.start_upload(&key, &meta()).await.unwrap();
        up.put_part(&mut vec![b'x'; 1024]).await.unwrap();
        assert_eq!(parts_settled(dir.path(), 1).await, 1);
        // WHEN it is dropped, as on an error path or a cancelled task
        drop(up);
        // THEN the part file is removed and no file is published
        assert_eq!(parts_settled(dir.path(), 0).await, 0);
        assert!(!dir.path().join("files/t1/bulk/d.csv").exists());
    }

    #[tokio::test]
    async fn an_upload_whose_completion_fails_removes_its_part_file() {
        // GIVEN an upload whose destination directory cannot be created
        // (a regular file stands where the tenant's directory would be)
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        std::fs::write(dir.path().join("files/t1"), b"not a directory").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "bulk", "e.csv").unwrap();
        let mut up = files.start_upload(&key, &meta()).await.unwrap();
        up.put_part(&mut vec![b'x'; 1024]).await.unwrap();
        // WHEN it is completed
        let result = up.complete().await;
        // THEN completing fails and the part file is gone
        assert!(result.is_err());
        assert_eq!(parts_settled(dir.path(), 0).await, 0);
    }

    #[tokio::test]
    async fn a_failed_put_removes_its_part_file() {
        // GIVEN a store whose destination directory cannot be created
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        std::fs::write(dir.path().join("files/t1"), b"not a directory").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "sync", "f.csv").unwrap();
        // WHEN a whole file is put
        let result = files.put(&key, b"a,b\r\n".to_vec(), &meta()).await;
        // THEN it fails and leaves no part file
        assert!(result.is_err());
        assert_eq!(parts_settled(dir.path(), 0).await, 0);
    }

    #[tokio::test]
    async fn orphaned_part_files_are_removed_and_other_files_kept() {
        // GIVEN part files left by a killed process, and a finished file
        let dir = tempfile::tempdir().unwrap();
        let files = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "bulk", "g.csv").unwrap();
        files.put(&key, b"done".to_vec(), &meta()).await.unwrap();
        for n in 0..3 {
            std::fs::write(dir.path().join(format!("uploads/{n}.part")), b"half").unwrap();
        }
        std::fs::write(dir.path().join("uploads/notes.txt"), b"keep").unwrap();
        // WHEN the orphans are removed
        let removed = files.remove_orphaned_uploads().await.unwrap();
        // THEN the three part files are gone; everything else stays
        assert_eq!(removed, 3);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("uploads"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["notes.txt"]);
        assert_eq!(
            std::fs::read(dir.path().join("files").join(key.as_str())).unwrap(),
            b"done"
        );
    }

    #[tokio::test]
    async fn the_signing_key_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let key = FileKey::new(&TenantId::new("t1"), "a", "b.csv").unwrap();
        let one = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        one.put(&key, b"1".to_vec(), &meta()).await.unwrap();
        let url = one
            .presign_get(&key, Duration::from_secs(60))
            .await
            .unwrap();
        let two = EmbeddedFiles::open(dir.path(), "http://x").unwrap();
        assert!(two
            .open_link(&url.url, chrono::Utc::now().timestamp())
            .await
            .is_ok());
    }
}
