//! [`S3Files`]: the file store over S3 (`aws-sdk-s3`), with multipart uploads
//! and presigned GETs.
//!
//! Keys are the tenant-scoped [`FileKey`]s, so an object of one tenant never
//! sits under another's prefix. A multipart upload is invisible until
//! `CompleteMultipartUpload`; an abort leaves nothing (and the bucket's
//! lifecycle rule aborts uploads a crashed worker left open).
//!
//! Ranges: [`FileStore::read_range`] is a `GetObject` with `Range:
//! bytes=a-b`; [`MultipartUpload::copy_part`] is an `UploadPartCopy` with
//! `x-amz-copy-source-range`, run at the same time as a ranged `GetObject`
//! of the same bytes streamed through the upload's digest (S3 copies, the
//! worker only hashes, holding one network chunk at a time).

use crate::store::files::{
    Digest256, FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoredFile,
};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use std::time::Duration;

/// The S3 file store of one bucket.
#[derive(Debug, Clone)]
pub struct S3Files {
    client: Client,
    bucket: String,
}

impl S3Files {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Files {
            client,
            bucket: bucket.into(),
        }
    }
}

/// The HTTP `Range` of `len` bytes from `offset`: `bytes=a-b`, both ends
/// included. `None` for an empty range (S3 has no way to ask for one).
fn byte_range(offset: u64, len: u64) -> Option<String> {
    let last = offset.checked_add(len)?.checked_sub(1)?;
    (len > 0).then(|| format!("bytes={offset}-{last}"))
}

/// A ranged `GetObject`'s failure: a missing object is
/// [`StoreError::Corrupt`]; `Ok(None)` when the range starts at or past
/// the object's end (S3's 416 `InvalidRange`), which reads as no bytes.
fn get_range_error(key: &FileKey, e: SdkError<GetObjectError>) -> Result<(), StoreError> {
    let status = e.raw_response().map(|r| r.status().as_u16());
    match e.as_service_error() {
        Some(se) if se.is_no_such_key() => {
            Err(StoreError::Corrupt(format!("no file at {}", key.as_str())))
        }
        Some(se) if se.code() == Some("InvalidRange") => Ok(()),
        _ if status == Some(416) => Ok(()),
        _ if status == Some(404) => {
            Err(StoreError::Corrupt(format!("no file at {}", key.as_str())))
        }
        _ => Err(StoreError::backend("S3 GetObject (range)", e)),
    }
}

/// Streams bytes `offset..offset + len` of `key` into `digest`, one
/// network chunk at a time; returns how many bytes came.
async fn hash_range(
    client: &Client,
    bucket: &str,
    key: &FileKey,
    range: &str,
    digest: &mut Digest256,
) -> Result<u64, StoreError> {
    let out = match client
        .get_object()
        .bucket(bucket)
        .key(key.as_str())
        .range(range)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            get_range_error(key, e)?;
            return Ok(0);
        }
    };
    let mut body = out.body;
    let mut n: u64 = 0;
    while let Some(chunk) = body.try_next().await.map_err(s3_err("S3 GetObject body"))? {
        digest.update(&chunk);
        n += chunk.len() as u64;
    }
    Ok(n)
}

fn s3_err<E>(context: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::backend(context, e)
}

#[async_trait]
impl FileStore for S3Files {
    async fn put(
        &self,
        key: &FileKey,
        body: Vec<u8>,
        meta: &FileMeta,
    ) -> Result<StoredFile, StoreError> {
        let mut digest = Digest256::default();
        digest.update(&body);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(&meta.content_type)
            .content_disposition(&meta.content_disposition)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(s3_err("S3 PutObject"))?;
        let (bytes, sha256) = digest.finish();
        Ok(StoredFile {
            key: key.clone(),
            bytes,
            sha256,
        })
    }

    async fn delete(&self, key: &FileKey) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(s3_err("S3 DeleteObject"))?;
        Ok(())
    }

    async fn start_upload(
        &self,
        key: &FileKey,
        meta: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(&meta.content_type)
            .content_disposition(&meta.content_disposition)
            .send()
            .await
            .map_err(s3_err("S3 CreateMultipartUpload"))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StoreError::Corrupt("S3 returned no upload id".into()))?
            .to_string();
        Ok(Box::new(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.clone(),
            upload_id,
            parts: Vec::new(),
            digest: Digest256::default(),
        }))
    }

    /// A `GetObject` with `Range: bytes=offset-(offset+len-1)`; a range
    /// past the end is no bytes, a missing object [`StoreError::Corrupt`].
    async fn read_range(
        &self,
        key: &FileKey,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let Some(range) = byte_range(offset, len) else {
            return Ok(Vec::new());
        };
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .range(range)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                get_range_error(key, e)?;
                return Ok(Vec::new());
            }
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(s3_err("S3 GetObject body"))?;
        Ok(body.to_vec())
    }

    async fn presign_get(&self, key: &FileKey, ttl: Duration) -> Result<PresignedUrl, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(s3_err("presigning config"))?;
        let expires_at = chrono::Utc::now() + chrono::Duration::seconds(ttl.as_secs() as i64);
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(config)
            .await
            .map_err(s3_err("S3 presign GetObject"))?;
        Ok(PresignedUrl {
            url: request.uri().to_string(),
            expires_at,
        })
    }
}

/// A multipart upload in progress.
struct S3Upload {
    client: Client,
    bucket: String,
    key: FileKey,
    upload_id: String,
    parts: Vec<CompletedPart>,
    digest: Digest256,
}

#[async_trait]
impl MultipartUpload for S3Upload {
    async fn put_part(&mut self, part: &mut Vec<u8>) -> Result<(), StoreError> {
        // The SDK sends an owned body: take the bytes (the caller's buffer
        // is left empty, without capacity).
        let bytes = std::mem::take(part);
        let number = i32::try_from(self.parts.len() + 1)
            .map_err(|_| StoreError::Corrupt("too many parts".into()))?;
        self.digest.update(&bytes);
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_err("S3 UploadPart"))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    /// `UploadPartCopy` of `bytes=offset-(offset+len-1)` of `src` (same
    /// bucket), joined with a ranged `GetObject` of the same bytes streamed
    /// through a copy of the digest; the digest and the part list change
    /// only when both succeed and the whole range was read. An empty range
    /// appends nothing.
    async fn copy_part(&mut self, src: &FileKey, offset: u64, len: u64) -> Result<(), StoreError> {
        let Some(range) = byte_range(offset, len) else {
            return Ok(());
        };
        let number = i32::try_from(self.parts.len() + 1)
            .map_err(|_| StoreError::Corrupt("too many parts".into()))?;
        // Keys are ASCII letters, digits, `.`, `_`, `-` and `/` (see
        // `FileKey::new`) and bucket names DNS labels: nothing to escape.
        let source = format!("{}/{}", self.bucket, src.as_str());
        let mut digest = self.digest.clone();
        let copy = async {
            self.client
                .upload_part_copy()
                .bucket(&self.bucket)
                .key(self.key.as_str())
                .upload_id(&self.upload_id)
                .part_number(number)
                .copy_source(&source)
                .copy_source_range(&range)
                .send()
                .await
                .map_err(|e| match e.as_service_error().and_then(|se| se.code()) {
                    Some("NoSuchKey") => {
                        StoreError::Corrupt(format!("no file at {}", src.as_str()))
                    }
                    _ => StoreError::backend("S3 UploadPartCopy", e),
                })
        };
        let hash = hash_range(&self.client, &self.bucket, src, &range, &mut digest);
        let (out, hashed) = tokio::try_join!(copy, hash)?;
        if hashed != len {
            return Err(StoreError::Corrupt(format!(
                "{} holds {hashed} bytes from {offset}, not {len}",
                src.as_str()
            )));
        }
        self.digest = digest;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(
                    out.copy_part_result()
                        .and_then(|r| r.e_tag())
                        .map(str::to_string),
                )
                .build(),
        );
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<StoredFile, StoreError> {
        if self.parts.is_empty() {
            // S3 needs at least one part; an empty file is one empty part.
            self.put_part(&mut Vec::new()).await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(s3_err("S3 CompleteMultipartUpload"))?;
        let S3Upload { key, digest, .. } = *self;
        let (bytes, sha256) = digest.finish();
        Ok(StoredFile { key, bytes, sha256 })
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .send()
            .await
            .map_err(s3_err("S3 AbortMultipartUpload"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_name_their_first_and_last_byte() {
        assert_eq!(byte_range(0, 4).as_deref(), Some("bytes=0-3"));
        assert_eq!(byte_range(100, 1).as_deref(), Some("bytes=100-100"));
        assert_eq!(
            byte_range(5_242_880, 5_242_880).as_deref(),
            Some("bytes=5242880-10485759")
        );
        // an empty range cannot be asked for, nor one past u64
        assert_eq!(byte_range(7, 0), None);
        assert_eq!(byte_range(u64::MAX, 2), None);
    }
}
