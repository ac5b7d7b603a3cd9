//! `config-api` driven by the sample events of `events/` on the embedded
//! backend: lookups, v2 previews and filter values, errors, tenant isolation,
//! and the preview agreeing with the export.

use exports_tests::config_api_cases::{self as cases, ConfigFixture};

macro_rules! embedded {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                cases::$case(&ConfigFixture::new().await).await;
            }
        )*
    };
}

embedded!(
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
