//! Bulk exports (API + worker) on DynamoDB, S3 and SQS in moto.

exports_tests::bulk_suite!(exports_tests::bulk::BulkFixture::aws);

mod contract {
    exports_tests::bulk_contract_suite!(exports_tests::bulk_contract::aws);
}
