//! The storage-dependent handler tests of `sync_export.rs`, with the same
//! assertions (`exports_tests::sync_export_cases`), on the AWS backend:
//! both tenants seeded into fresh DynamoDB tables in moto. Needs
//! `EXPORTS_MOTO_URL` (`make unit` sets it); fails without it unless
//! `EXPORTS_SKIP_AWS=1`.

use exports_tests::sync_export_cases as cases;
use exports_tests::Fixture;

/// Runs one shared case on a fresh AWS fixture.
macro_rules! on_aws {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(fx) = Fixture::aws().await else {
                    return;
                };
                cases::$case(&fx).await;
            }
        )*
    };
}

on_aws!(
    seed_example_1_exports_active_contacts_to_csv,
    seed_example_2_exports_households_to_xlsx_in_es_cl_and_santiago_time,
    es_cl_csv_shows_day_month_year_and_decimal_commas,
    an_omitted_locale_formats_iso_8601_whatever_the_tenant_default,
    custom_fields_by_uuid_by_form_and_all_of_them,
    sort_by_any_column_either_way_is_stable,
    every_error_row_of_the_seed,
    a_user_of_tenant_a_gets_nothing_of_tenant_b_whatever_headers_they_send,
);
