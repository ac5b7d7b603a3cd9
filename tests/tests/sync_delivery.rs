//! Delivery of sync exports past Lambda's response limits: gzip inline when
//! accepted, and `303 See Other` to a presigned URL above the inline limit.

use exports_shared::model::TenantId;
use exports_shared::store::{
    FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoreError, StoredFile,
};
use exports_tests::*;
use serde_json::json;
use std::io::Read;
use std::time::Duration;
use sync_export::Delivery;

async fn follow(fx: &Fixture, url: &str) -> (Vec<u8>, String) {
    fx.download(url).await
}

fn all_contacts_body() -> serde_json::Value {
    let mut body = body_json(&event("sync-export-contacts-csv"));
    body["filters"] = json!([]);
    body
}

/// Runs a case on the embedded backend and on DynamoDB + S3 in moto.
macro_rules! both {
    ($($case:ident),*) => {
        mod on_embedded {
            $( #[tokio::test] async fn $case() { super::$case(super::Fixture::new().await).await } )*
        }
        mod on_aws {
            $( #[tokio::test] async fn $case() { if let Some(fx) = super::Fixture::aws().await { super::$case(fx).await } } )*
        }
    };
}

both!(
    gzip_is_used_inline_when_the_client_accepts_it,
    files_over_the_inline_limit_answer_303_to_a_presigned_url,
    xlsx_counts_base64_inflation_against_the_limit,
    a_full_disk_answers_503_with_retry_after_in_the_be_body
);

/// A file store on a full volume: every write fails with `ENOSPC`.
struct FullDisk(std::sync::Arc<dyn FileStore>);

fn enospc() -> StoreError {
    StoreError::backend("write file", std::io::Error::from_raw_os_error(28))
}

#[async_trait::async_trait]
impl FileStore for FullDisk {
    async fn put(&self, _: &FileKey, _: Vec<u8>, _: &FileMeta) -> Result<StoredFile, StoreError> {
        Err(enospc())
    }
    async fn start_upload(
        &self,
        _: &FileKey,
        _: &FileMeta,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        Err(enospc())
    }
    async fn delete(&self, key: &FileKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn presign_get(&self, key: &FileKey, ttl: Duration) -> Result<PresignedUrl, StoreError> {
        self.0.presign_get(key, ttl).await
    }
    async fn read_range(
        &self,
        key: &FileKey,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, StoreError> {
        self.0.read_range(key, offset, len).await
    }
}

async fn gzip_is_used_inline_when_the_client_accepts_it(fx: Fixture) {
    let plain = fx
        .call(with_json(
            event("sync-export-contacts-csv"),
            &all_contacts_body(),
        ))
        .await;
    let req = with_header(
        with_json(event("sync-export-contacts-csv"), &all_contacts_body()),
        "accept-encoding",
        "gzip, br",
    );
    let resp = fx.call(req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["vary"], "Accept-Encoding");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(bytes(&resp).as_slice())
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, bytes(&plain));
    assert!(plain.headers().get("content-encoding").is_none());
}

async fn files_over_the_inline_limit_answer_303_to_a_presigned_url(mut fx: Fixture) {
    // GIVEN the inline answer, then an inline limit smaller than the file
    let inline = bytes(
        &fx.call(with_json(
            event("sync-export-contacts-csv"),
            &all_contacts_body(),
        ))
        .await,
    );
    fx.deps.delivery = Delivery {
        inline_limit: 200,
        ..Delivery::default()
    };
    // WHEN the export runs
    let resp = fx
        .call(with_json(
            event("sync-export-contacts-csv"),
            &all_contacts_body(),
        ))
        .await;
    // THEN it is a 303 whose Location and JSON body name the same URL
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let body = json_body(&resp);
    assert_eq!(body["url"], location);
    assert_eq!(body["rows"], 5);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert!(body["filename"].as_str().unwrap().starts_with("contacts_"));
    // AND following it downloads exactly the file the inline path returns,
    // with the same headers, size and digest
    let (file, content_type) = follow(&fx, &location).await;
    assert_eq!(file, inline);
    assert_eq!(content_type, "text/csv;charset=UTF-8");
    assert_eq!(body["bytes"], file.len());
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    // AND the stored file lives under the caller's tenant
    assert!(
        location.contains(&format!("/{TENANT_A}/sync/")),
        "{location}"
    );
}

async fn xlsx_counts_base64_inflation_against_the_limit(mut fx: Fixture) {
    let xlsx = fx.call(event("sync-export-households-xlsx")).await;
    let n = bytes(&xlsx).len();
    // A limit between the raw size and its base64 size must redirect.
    fx.deps.delivery = Delivery {
        inline_limit: n + n / 6,
        ..Delivery::default()
    };
    let resp = fx.call(event("sync-export-households-xlsx")).await;
    assert_eq!(resp.status(), 303);
    let (file, content_type) = follow(&fx, resp.headers()["location"].to_str().unwrap()).await;
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let rows = xlsx_rows(&http::Response::new(lambda_http::Body::Binary(file)));
    assert_eq!(rows.len(), 4);
}

#[tokio::test]
async fn an_export_at_the_default_row_limit_downloads_through_303() {
    // GIVEN a tenant with exactly the default sync row limit of contacts
    let fx = Fixture::new().await;
    let tenant = "c0c0c0c0-0000-4000-8000-00000000000c";
    exports_local::demo::configure_tenant(fx.store.as_ref(), &TenantId::new(tenant))
        .await
        .unwrap();
    let counts = exports_local::generate::Counts {
        contacts: 100_000,
        organisations: 0,
        households: 0,
    };
    exports_local::generate::write_all(fx.store.as_ref(), &TenantId::new(tenant), counts, 11, None)
        .await
        .unwrap();
    let claims = exports_shared::auth::Claims {
        tenant_uuids: vec![tenant.into()],
        ..claims_a()
    };
    // WHEN all of them are exported with default delivery settings
    let req = as_user(
        with_json(event("sync-export-contacts-csv"), &all_contacts_body()),
        &claims,
        tenant,
    );
    let resp = fx.call(req).await;
    // THEN the answer is a 303 and the file holds every row
    assert_eq!(
        resp.status(),
        303,
        "{}",
        String::from_utf8_lossy(&bytes(&resp))
    );
    let (file, _) = follow(&fx, resp.headers()["location"].to_str().unwrap()).await;
    let rows = csv::Reader::from_reader(file.as_slice()).records().count();
    assert_eq!(rows, 100_000);
    assert!(file.len() > Delivery::default().inline_limit);
}

async fn a_full_disk_answers_503_with_retry_after_in_the_be_body(mut fx: Fixture) {
    // GIVEN a file that must be stored (over the inline limit) on a full disk
    fx.deps.delivery = Delivery {
        inline_limit: 200,
        ..Delivery::default()
    };
    fx.deps.files = std::sync::Arc::new(FullDisk(fx.deps.files.clone()));
    // WHEN the export runs
    let resp = fx
        .call(with_json(
            event("sync-export-contacts-csv"),
            &all_contacts_body(),
        ))
        .await;
    // THEN it is a 503 the client may retry, in the BE error body
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "30");
    let body = json_body(&resp);
    assert_eq!(body["errorCode"], "BE0503");
    assert_eq!(body["status"], 503);
    assert_eq!(body["details"], json!(["storage: full; retry later"]));
    // AND nothing of the internal error leaks
    assert!(!body.to_string().contains("os error"), "{body}");
}
