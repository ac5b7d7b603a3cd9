//! Bulk exports (API + worker) on the embedded backend.

async fn fixture() -> Option<exports_tests::bulk::BulkFixture> {
    Some(exports_tests::bulk::BulkFixture::embedded().await)
}

exports_tests::bulk_suite!(fixture);

mod contract {
    exports_tests::bulk_contract_suite!(exports_tests::bulk_contract::embedded);
}
