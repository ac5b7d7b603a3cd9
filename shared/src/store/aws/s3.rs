//! [`S3Files`]: the file store over S3 (`aws-sdk-s3`), with multipart uploads
//! and presigned GETs.
//!
//! Keys are the tenant-scoped [`FileKey`]s, so an object of one tenant never
//! sits under another's prefix. A multipart upload is invisible until
//! `CompleteMultipartUpload`; an abort leaves nothing (and the bucket's
//! lifecycle rule aborts uploads a crashed worker left open).

use crate::store::files::{
    Digest256, FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoredFile,
};
use crate::store::StoreError;
use async_trait::async_trait;
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
