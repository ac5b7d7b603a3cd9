//! [`EmbeddedFiles`]: export files in the data directory, with HMAC-signed,
//! expiring download URLs that `exports-local serve` answers at `/files/...`.
//!
//! Layout under the root: `files/{key}` (content), `meta/{key}.json`
//! (headers), `uploads/{uuid}.part` (uploads in progress; renamed into
//! `files/` on completion, so a half-written file is never visible).

use crate::store::files::{
    Digest256, FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoredFile,
};
use crate::store::StoreError;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

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

    fn temp_path(&self) -> PathBuf {
        self.root
            .join("uploads")
            .join(format!("{}.part", uuid::Uuid::new_v4()))
    }
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
            file,
            digest: Digest256::default(),
        }))
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

struct EmbeddedUpload {
    store: EmbeddedFiles,
    key: FileKey,
    meta: FileMeta,
    tmp: PathBuf,
    file: tokio::fs::File,
    digest: Digest256,
}

#[async_trait]
impl MultipartUpload for EmbeddedUpload {
    async fn put_part(&mut self, part: &mut Vec<u8>) -> Result<(), StoreError> {
        self.digest.update(part);
        self.file.write_all(part).await.map_err(io("write part"))?;
        part.clear();
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<StoredFile, StoreError> {
        self.file.flush().await.map_err(io("flush upload"))?;
        self.file.sync_all().await.map_err(io("sync upload"))?;
        self.store.publish(&self.tmp, &self.key, &self.meta).await?;
        let (bytes, sha256) = self.digest.finish();
        Ok(StoredFile {
            key: self.key,
            bytes,
            sha256,
        })
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        drop(self.file);
        match tokio::fs::remove_file(&self.tmp).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::backend("abort upload", e)),
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
