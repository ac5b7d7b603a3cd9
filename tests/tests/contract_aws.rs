//! The storage contract (`exports_tests::contract`) on the AWS backend:
//! `DynamoStore` over fresh tables in moto per case. Needs `EXPORTS_MOTO_URL`
//! (`make unit` sets it); fails without it unless `EXPORTS_SKIP_AWS=1`.

use aws_sdk_dynamodb::types::{BillingMode, KeyType};
use exports_tests::backends::{
    moto_client, moto_url, PROVISIONED_CONFIG_TABLE, PROVISIONED_ENTITIES_TABLE,
    PROVISIONED_EXPORTS_TABLE,
};

exports_tests::contract_suite!(exports_tests::backends::aws);

mod export_logs {
    exports_tests::export_log_contract_suite!(exports_tests::backends::aws_logs);
}

mod reference {
    exports_tests::reference_contract_suite!(exports_tests::backends::aws);
}

/// `infra/moto/create-resources.py` made the tables the SAM template
/// describes: on-demand, `pk` (hash) and `sk` (range) strings.
#[tokio::test]
async fn moto_has_the_provisioned_tables() {
    let Some(url) = moto_url() else {
        return;
    };
    let client = moto_client(&url).await;
    for name in [
        PROVISIONED_ENTITIES_TABLE,
        PROVISIONED_CONFIG_TABLE,
        PROVISIONED_EXPORTS_TABLE,
    ] {
        let table = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} is not in moto: {e:?}"))
            .table
            .unwrap_or_else(|| panic!("{name}: no description"));
        let keys: Vec<(&str, &KeyType)> = table
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        assert_eq!(
            keys,
            [("pk", &KeyType::Hash), ("sk", &KeyType::Range)],
            "{name}"
        );
        assert_eq!(
            table.billing_mode_summary().and_then(|b| b.billing_mode()),
            Some(&BillingMode::PayPerRequest),
            "{name}"
        );
    }
}
