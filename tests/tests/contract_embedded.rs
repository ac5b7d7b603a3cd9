//! The storage contract (`exports_tests::contract`) on the embedded backend:
//! a fresh SQLite store in a temporary directory per case.

exports_tests::contract_suite!(exports_tests::backends::embedded);
mod export_logs {
    exports_tests::export_log_contract_suite!(exports_tests::backends::embedded_logs);
}
mod reference {
    exports_tests::reference_contract_suite!(exports_tests::backends::embedded);
}
