//! The export-logs handler on DynamoDB in moto (`exports_tests::export_logs_cases`).
//! Needs `EXPORTS_MOTO_URL` (`make test` sets it); fails without it unless
//! `EXPORTS_SKIP_AWS=1`.

use exports_tests::export_logs_cases as cases;
use exports_tests::LogsFixture;

#[tokio::test]
async fn the_seed_request_creates_a_log_that_can_be_fetched() {
    let Some(fx) = LogsFixture::aws().await else {
        return;
    };
    cases::the_seed_request_creates_a_log_that_can_be_fetched(&fx).await;
}

#[tokio::test]
async fn downloads_hold_exactly_the_selected_contacts() {
    let Some(fx) = LogsFixture::aws().await else {
        return;
    };
    cases::downloads_hold_exactly_the_selected_contacts(&fx).await;
}

#[tokio::test]
async fn tenancy_and_ownership_are_enforced() {
    let Some(fx) = LogsFixture::aws().await else {
        return;
    };
    cases::tenancy_and_ownership_are_enforced(&fx).await;
}

#[tokio::test]
async fn object_filters_select_exactly_their_contacts() {
    let Some(fx) = LogsFixture::aws().await else {
        return;
    };
    cases::object_filters_select_exactly_their_contacts(&fx).await;
}
