//! The `config-api` handler cases (`exports_tests::config_api_cases`) on the
//! AWS backend: both tenants and the reference data in fresh DynamoDB tables
//! in moto. Needs `EXPORTS_MOTO_URL` (`make unit` sets it); fails without it
//! unless `EXPORTS_SKIP_AWS=1`.

use exports_tests::config_api_cases::{self as cases, ConfigFixture};

macro_rules! on_aws {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(fx) = ConfigFixture::aws().await else {
                    return;
                };
                cases::$case(&fx).await;
            }
        )*
    };
}

on_aws!(
    option_lists_have_the_seed_shape,
    options_are_per_tenant,
    reference_lookups_have_the_seed_shapes,
    lookup_errors_are_precise,
    v2_filter_pages_through_the_selected_rows,
    the_preview_and_the_export_select_the_same_rows,
    several_sort_keys_order_the_preview,
    disabled_and_unknown_stages_are_refused_by_preview_and_export,
    filter_values_count_distinct_values,
    v2_errors_are_precise,
    auth_and_methods_on_every_route,
    previews_and_values_are_tenant_scoped,
);
