//! Files (export outputs): the traits, their keys, and the digest every
//! upload computes.

use super::StoreError;
use crate::model::TenantId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// S3's smallest multipart part (all parts but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// A file's key, always under its tenant: `{tenant}/{area}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey(String);

impl FileKey {
    /// Builds a key. `area` and `name` may hold ASCII letters, digits, `.`,
    /// `_`, `-` and (in `area`) `/`; nothing that could climb out of the
    /// tenant's prefix.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a part has other characters or is empty.
    pub fn new(tenant: &TenantId, area: &str, name: &str) -> Result<FileKey, StoreError> {
        let ok = |s: &str, slash: bool| {
            !s.is_empty()
                && !s
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || (slash && c == '/'))
        };
        if !ok(tenant.as_str(), false) || !ok(area, true) || !ok(name, false) {
            return Err(StoreError::Corrupt(format!(
                "invalid file key parts: {area}/{name}"
            )));
        }
        Ok(FileKey(format!("{}/{area}/{name}", tenant.as_str())))
    }

    /// Reads a key back from storage or a signed URL.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when it is not a well-formed key.
    pub fn parse(key: &str) -> Result<FileKey, StoreError> {
        let (tenant, rest) = key
            .split_once('/')
            .ok_or_else(|| StoreError::Corrupt("file key without tenant".into()))?;
        let (area, name) = rest
            .rsplit_once('/')
            .ok_or_else(|| StoreError::Corrupt("file key without area".into()))?;
        FileKey::new(&TenantId::new(tenant), area, name).and_then(|k| {
            if k.0 == key {
                Ok(k)
            } else {
                Err(StoreError::Corrupt("file key is not canonical".into()))
            }
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }
}

/// Headers stored with a file and sent when it is downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMeta {
    pub content_type: String,
    pub content_disposition: String,
}

/// A completed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub key: FileKey,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// A time-limited download URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Stores export files.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Stores a whole file at once.
    async fn put(
        &self,
        key: &FileKey,
        body: Vec<u8>,
        meta: &FileMeta,
    ) -> Result<StoredFile, StoreError>;

    /// Starts a streamed upload. Nothing is visible at `key` until
    /// [`MultipartUpload::complete`].
    async fn start_upload(
        &self,
        key: &FileKey,
        meta: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError>;

    /// A URL that downloads the file until it expires.
    async fn presign_get(&self, key: &FileKey, ttl: Duration) -> Result<PresignedUrl, StoreError>;

    /// Removes the file (a cancelled job's, completed before the cancel
    /// was seen). Removing a file that is not there is not an error.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn delete(&self, key: &FileKey) -> Result<(), StoreError>;

    /// Up to `len` bytes of the stored file from `offset` (fewer at its
    /// end).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when there is no such file, or
    /// [`StoreError::Backend`] when the store fails.
    async fn read_range(&self, key: &FileKey, offset: u64, len: u64)
        -> Result<Vec<u8>, StoreError>;
}

/// A streamed upload in progress.
#[async_trait]
pub trait MultipartUpload: Send {
    /// Appends the part held in `part`. Every part but the last must be at
    /// least [`MIN_PART_BYTES`]. The part is consumed: `part` is left empty.
    /// A store that only reads the bytes clears it and keeps its capacity,
    /// so the caller can fill the same buffer with the next part instead of
    /// allocating a fresh one (a store that must own the bytes takes them).
    ///
    /// # Errors
    /// [`StoreError`] when the part cannot be stored.
    async fn put_part(&mut self, part: &mut Vec<u8>) -> Result<(), StoreError>;
    /// Appends bytes `offset..offset + len` of the stored file `src` as
    /// the next part, copied inside the store (S3 `UploadPartCopy`), so
    /// they are not uploaded again. They count in the size and the digest
    /// [`complete`](Self::complete) reports (the store reads them for the
    /// digest). The size rule of [`put_part`](Self::put_part) applies.
    ///
    /// # Errors
    /// [`StoreError`] when `src` is missing or shorter, or the store fails.
    async fn copy_part(&mut self, src: &FileKey, offset: u64, len: u64) -> Result<(), StoreError>;
    /// Makes the file visible and returns its size and digest.
    async fn complete(self: Box<Self>) -> Result<StoredFile, StoreError>;
    /// Discards every part; nothing becomes visible.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// Size and SHA-256 of a stream of parts.
#[derive(Debug, Clone, Default)]
pub struct Digest256 {
    hasher: Sha256,
    bytes: u64,
}

impl Digest256 {
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// `(bytes, lower-case hex sha256)`.
    pub fn finish(self) -> (u64, String) {
        let hash = self.hasher.finalize();
        (
            self.bytes,
            hash.iter().map(|b| format!("{b:02x}")).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_their_tenant() {
        let t = TenantId::new("t-1");
        let k = FileKey::new(&t, "sync/abc", "contacts_1.csv").unwrap();
        assert_eq!(k.as_str(), "t-1/sync/abc/contacts_1.csv");
        assert_eq!(k.file_name(), "contacts_1.csv");
        assert_eq!(FileKey::parse(k.as_str()).unwrap(), k);
        for (area, name) in [
            ("..", "x"),
            ("a/../b", "x"),
            ("a", "../x"),
            ("a", "x y"),
            ("", "x"),
            ("a", ""),
        ] {
            assert!(FileKey::new(&t, area, name).is_err(), "{area} {name}");
        }
        assert!(FileKey::parse("t-1/../t-2/x").is_err());
        assert!(FileKey::parse("nokey").is_err());
    }

    #[test]
    fn digest_is_sha256_of_all_parts() {
        let mut d = Digest256::default();
        d.update(b"ab");
        d.update(b"c");
        assert_eq!(
            d.finish(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
            )
        );
    }
}
