//! The PostgreSQL entity source (`EXPORTS_ENTITY_SOURCE=postgres`): the
//! storage contract, the handler cases of the sync export, the v2 lists
//! (the preview agreeing with the export), the export logs and the bulk
//! exports, tenant isolation through every endpoint, and the same files
//! byte for byte as from SQLite for the same records.
//!
//! Each case gets a fresh schema on the server `make test` starts
//! (`EXPORTS_TEST_DATABASE_URL`); fails without it unless `EXPORTS_SKIP_PG=1`.

use exports_tests::config_api_cases::{self as config_cases, ConfigFixture};
use exports_tests::{export_logs_cases as log_cases, sync_export_cases as sync_cases};
use exports_tests::{Fixture, LogsFixture};

mod contract {
    exports_tests::contract_suite!(exports_tests::postgres::postgres);
}

/// Runs shared cases on a fresh fixture of `$fixture`'s kind.
macro_rules! on_postgres {
    ($fixture:ident, $cases:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(fx) = $fixture::postgres().await else {
                    return;
                };
                $cases::$case(&fx).await;
            }
        )*
    };
}

mod sync_export {
    use super::*;
    on_postgres!(Fixture, sync_cases:
        seed_example_1_exports_active_contacts_to_csv,
        seed_example_2_exports_households_to_xlsx_in_es_cl_and_santiago_time,
        es_cl_csv_shows_day_month_year_and_decimal_commas,
        an_omitted_locale_formats_iso_8601_whatever_the_tenant_default,
        custom_fields_by_uuid_by_form_and_all_of_them,
        sort_by_any_column_either_way_is_stable,
        every_error_row_of_the_seed,
        a_user_of_tenant_a_gets_nothing_of_tenant_b_whatever_headers_they_send,
    );
}

mod config_api {
    use super::*;
    on_postgres!(ConfigFixture, config_cases:
        v2_filter_pages_through_the_selected_rows,
        the_preview_and_the_export_select_the_same_rows,
        several_sort_keys_order_the_preview,
        disabled_and_unknown_stages_are_refused_by_preview_and_export,
        filter_values_count_distinct_values,
        v2_errors_are_precise,
        previews_and_values_are_tenant_scoped,
    );
}

mod export_logs {
    use super::*;
    on_postgres!(LogsFixture, log_cases:
        the_seed_request_creates_a_log_that_can_be_fetched,
        downloads_hold_exactly_the_selected_contacts,
        tenancy_and_ownership_are_enforced,
        object_filters_select_exactly_their_contacts,
    );
}

mod bulk {
    //! Bulk exports whose contacts come from PostgreSQL (read as one
    //! partition, in id order); jobs, keys, activities and files embedded.

    async fn fixture() -> Option<exports_tests::bulk::BulkFixture> {
        exports_tests::bulk::BulkFixture::postgres().await
    }

    exports_tests::bulk_suite!(fixture);
}

mod same_files {
    //! The same records, imported into SQLite and into PostgreSQL, give the
    //! same files byte for byte.

    use super::*;
    use exports_local::generate::{self, Counts};
    use exports_shared::model::TenantId;
    use exports_tests::{body_json, bytes, event, with_json, xlsx_rows, CF_SCORE, TENANT_A};
    use serde_json::json;

    /// Both fixtures, each with the same generated records added to tenant A.
    async fn both() -> Option<(Fixture, Fixture)> {
        let pg = Fixture::postgres().await?;
        let sqlite = Fixture::new().await;
        let counts = Counts {
            contacts: 1_500,
            organisations: 60,
            households: 120,
        };
        for fx in [&sqlite, &pg] {
            generate::write_all(fx.store.as_ref(), &TenantId::new(TENANT_A), counts, 7, None)
                .await
                .expect("generate records");
        }
        Some((sqlite, pg))
    }

    /// Requests covering every column type, custom fields, each sort and
    /// the text filters.
    fn requests() -> Vec<(&'static str, serde_json::Value)> {
        let columns = json!([
            {"id": "id"}, {"id": "firstName"}, {"id": "paternalLastName"},
            {"id": "preferredEmail"}, {"id": "stage"}, {"id": "contactType"},
            {"id": "city"}, {"id": "country"}, {"id": "birthDate"},
            {"id": "netWorth"}, {"id": "isActive"}, {"id": "createdAt"},
            {"id": format!("custom:cf_{CF_SCORE}"), "custom": true, "type": "NUMBER"}
        ]);
        let score = format!("custom:cf_{CF_SCORE}");
        let mut out = Vec::new();
        for (sort, direction) in [
            ("createdAt", "DESC"),
            ("firstName", "ASC"),
            ("paternalLastName", "DESC"),
            ("netWorth", "ASC"),
            ("birthDate", "DESC"),
            ("isActive", "ASC"),
            ("stage", "ASC"),
            (score.as_str(), "DESC"),
        ] {
            for filters in [
                json!([]),
                json!([{"field": "firstName", "operator": "contains", "value": "an"}]),
                json!([{"field": "stage", "operator": "in", "values": ["lead", "client"]},
                       {"field": "netWorth", "operator": "greaterThan", "value": 100000}]),
                json!([{"field": "city", "operator": "isEmpty"}]),
                json!([{"field": format!("custom:cf_{CF_SCORE}"), "operator": "greaterThanOrEqual", "value": 50}]),
            ] {
                let mut body = body_json(&event("sync-export-contacts-csv"));
                body["viewState"]["columns"] = columns.clone();
                body["viewState"]["sort"] = json!({"field": sort, "direction": direction});
                body["filters"] = filters;
                out.push(("sync-export-contacts-csv", body));
            }
        }
        let mut households = body_json(&event("sync-export-households-xlsx"));
        households["filters"] = json!([]);
        out.push(("sync-export-households-xlsx", households));
        out.push((
            "sync-export-organisations-csv",
            body_json(&event("sync-export-organisations-csv")),
        ));
        out
    }

    #[tokio::test]
    async fn sqlite_and_postgresql_give_the_same_files() {
        // GIVEN the same records in SQLite and in PostgreSQL
        let Some((sqlite, pg)) = both().await else {
            return;
        };
        let mut compared = 0;
        for (name, body) in requests() {
            // WHEN the same export is asked of both
            let a = sqlite.call(with_json(event(name), &body)).await;
            let b = pg.call(with_json(event(name), &body)).await;
            // THEN both succeed with the same file
            assert_eq!(a.status(), 200, "{name} {body}");
            assert_eq!(b.status(), 200, "{name} {body}");
            if name.ends_with("xlsx") {
                // The workbook's metadata holds its creation time: compare cells.
                assert_eq!(xlsx_rows(&a), xlsx_rows(&b), "{name} {body}");
            } else {
                let (a, b) = (bytes(&a), bytes(&b));
                assert!(a.len() > 100, "{name}: {} bytes", a.len());
                assert!(a == b, "{name} {body}: the files differ");
            }
            compared += 1;
        }
        assert_eq!(compared, 42);
    }
}
