//! The Lambda entry point refuses to start without a JWT key or with a
//! setting out of range, and says which variable to set.

use std::process::Command;

#[test]
fn aws_mode_without_a_jwt_key_refuses_to_start() {
    // GIVEN the AWS backend configured but no JWKS and no secret
    let out = Command::new(env!("CARGO_BIN_EXE_sync-export"))
        .env_clear()
        .env("EXPORTS_BACKEND", "aws")
        .env("EXPORTS_ENTITIES_TABLE", "t1")
        .env("EXPORTS_CONFIG_TABLE", "t2")
        .env("EXPORTS_BUCKET", "b")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("run sync-export");
    // THEN it exits with an error naming what is missing, before serving
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("EXPORTS_JWKS_URL") && err.contains("EXPORTS_JWT_SECRET"),
        "{err}"
    );
}

#[test]
fn aws_mode_without_tables_says_which_variable_is_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_sync-export"))
        .env_clear()
        .env("EXPORTS_BACKEND", "aws")
        .env("EXPORTS_JWT_SECRET", "a-secret-of-enough-length")
        .output()
        .expect("run sync-export");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("EXPORTS_ENTITIES_TABLE"), "{err}");
}

#[test]
fn a_setting_out_of_range_stops_the_start_naming_it_and_its_range() {
    // GIVEN a link lifetime of 5 seconds, below the 60 s minimum
    let out = Command::new(env!("CARGO_BIN_EXE_sync-export"))
        .env_clear()
        .env("EXPORTS_JWT_SECRET", "a-secret-of-enough-length")
        .env("EXPORTS_FILE_URL_TTL_SECONDS", "5")
        .output()
        .expect("run sync-export");
    // THEN it exits before serving, naming the variable and the range
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("EXPORTS_FILE_URL_TTL_SECONDS='5' is out of range: use 60 to 604800"),
        "{err}"
    );
}
