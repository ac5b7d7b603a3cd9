//! Reading and validating the settings.

use super::*;
use std::collections::HashMap;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| vars.get(name).cloned())
}

const AWS: &[(&str, &str)] = &[
    ("EXPORTS_BACKEND", "aws"),
    ("EXPORTS_ENTITIES_TABLE", "exports-dev-entities"),
    ("EXPORTS_CONFIG_TABLE", "exports-dev-tenant-config"),
];

#[test]
fn embedded_is_the_default() {
    let s = settings(&[]).expect("valid");
    assert_eq!(s.backend, BackendKind::Embedded);
    assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    let s = settings(&[("EXPORTS_BACKEND", "  ")]).expect("blank is unset");
    assert_eq!(s.backend, BackendKind::Embedded);
}

#[test]
fn aws_reads_the_table_names_and_the_optional_resources() {
    let s = settings(AWS).expect("valid");
    assert_eq!(
        s.backend,
        BackendKind::Aws(AwsSettings {
            entities_table: "exports-dev-entities".into(),
            config_table: "exports-dev-tenant-config".into(),
            exports_table: None,
            bucket: None,
            queue_url: None,
        })
    );
    let mut all = AWS.to_vec();
    all.extend([
        ("EXPORTS_EXPORTS_TABLE", "exports-dev-exports"),
        ("EXPORTS_BUCKET", "exports-dev-files"),
        (
            "EXPORTS_QUEUE_URL",
            "http://127.0.0.1:5000/123456789012/jobs",
        ),
    ]);
    let BackendKind::Aws(aws) = settings(&all).expect("valid").backend else {
        panic!("not aws");
    };
    assert_eq!(aws.exports_table.as_deref(), Some("exports-dev-exports"));
    assert_eq!(aws.bucket.as_deref(), Some("exports-dev-files"));
    assert_eq!(
        aws.queue_url.as_deref(),
        Some("http://127.0.0.1:5000/123456789012/jobs")
    );
}

#[test]
fn a_missing_table_is_an_error_naming_the_variable() {
    for missing in ["EXPORTS_ENTITIES_TABLE", "EXPORTS_CONFIG_TABLE"] {
        let vars: Vec<(&str, &str)> = AWS
            .iter()
            .map(|&(k, v)| if k == missing { (k, "") } else { (k, v) })
            .collect();
        let err = settings(&vars).expect_err("incomplete");
        assert!(
            matches!(err, ConfigError::MissingVariable { name, .. } if name == missing),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{missing} is not set: EXPORTS_BACKEND=aws needs")),
            "{message}"
        );
    }
}

#[test]
fn an_unknown_backend_is_an_error() {
    let err = settings(&[("EXPORTS_BACKEND", "dynamo")]).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "EXPORTS_BACKEND='dynamo' is not a backend of this build; use 'embedded' or 'aws'"
    );
}

#[test]
fn aws_still_needs_a_jwt_secret() {
    let with_secret = |secret: Option<&'static str>| {
        let mut vars = AWS.to_vec();
        vars.extend(secret.map(|s| ("EXPORTS_JWT_SECRET", s)));
        settings(&vars).expect("valid").jwt_verifier()
    };
    assert!(matches!(
        with_secret(None),
        Err(ConfigError::MissingJwtSecret)
    ));
    assert!(matches!(
        with_secret(Some("short")),
        Err(ConfigError::WeakJwtSecret)
    ));
    assert!(with_secret(Some("a-secret-of-enough-bytes")).is_ok());
}

#[tokio::test]
async fn the_embedded_backend_has_no_aws_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut embedded = settings(&[]).expect("valid");
    embedded.data_dir = dir.path().to_path_buf();
    let backend = Backend::connect(&embedded).await.expect("opens");
    assert!(backend.aws_config().is_none());
}

#[test]
fn numeric_settings_default_when_unset_and_are_read_trimmed() {
    // GIVEN no numeric setting
    let defaults = settings(&[]).expect("valid");
    // THEN each has its documented default
    assert_eq!(defaults.max_sync_rows, None);
    assert_eq!(defaults.delivery, Delivery::default());
    assert_eq!(defaults.file_expiry, Duration::from_secs(7 * 86_400));
    assert_eq!(defaults.api_key_rate, DEFAULT_API_KEY_RATE);
    assert_eq!(defaults.max_receives, 5);
    // AND set ones are read, blanks around them ignored
    let set = settings(&[
        ("EXPORTS_MAX_SYNC_ROWS", " 5000 "),
        ("EXPORTS_INLINE_LIMIT_BYTES", "2048"),
        ("EXPORTS_FILE_URL_TTL_SECONDS", "120"),
        ("EXPORTS_FILE_EXPIRY_DAYS", "30"),
        ("EXPORTS_API_KEY_RATE_PER_SECOND", "0.5"),
        ("EXPORTS_API_KEY_BURST", "3"),
        ("EXPORTS_MAX_RECEIVE_COUNT", "9"),
    ])
    .expect("valid");
    assert_eq!(set.max_sync_rows, Some(5000));
    assert_eq!(set.delivery.inline_limit, 2048);
    assert_eq!(set.delivery.url_ttl, Duration::from_secs(120));
    assert_eq!(set.file_expiry, Duration::from_secs(30 * 86_400));
    assert_eq!(set.api_key_rate.per_second, 0.5);
    assert_eq!(set.api_key_rate.burst, 3.0);
    assert_eq!(set.max_receives, 9);
}

#[test]
fn a_value_out_of_range_stops_the_start_naming_the_variable_and_the_range() {
    // GIVEN a link lifetime of 5 seconds (it used to become 900 silently)
    let err = settings(&[("EXPORTS_FILE_URL_TTL_SECONDS", "5")]).expect_err("refused");
    // THEN the message names the variable, the value and the range
    assert_eq!(
        err.to_string(),
        "EXPORTS_FILE_URL_TTL_SECONDS='5' is out of range: use 60 to 604800"
    );
    // AND every numeric setting is checked the same way
    for (name, bad) in [
        ("EXPORTS_MAX_SYNC_ROWS", "0"),
        ("EXPORTS_INLINE_LIMIT_BYTES", "6000000"),
        ("EXPORTS_FILE_EXPIRY_DAYS", "0"),
        ("EXPORTS_API_KEY_RATE_PER_SECOND", "0"),
        ("EXPORTS_API_KEY_BURST", "0.5"),
        ("EXPORTS_MAX_RECEIVE_COUNT", "1001"),
    ] {
        let err = settings(&[(name, bad)]).expect_err(name);
        assert!(
            matches!(err, ConfigError::OutOfRange { name: n, .. } if n == name),
            "{name}: {err}"
        );
    }
    // AND a value that is no number says so
    let err = settings(&[("EXPORTS_API_KEY_BURST", "lots")]).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "EXPORTS_API_KEY_BURST='lots' is not a number"
    );
}

#[test]
fn the_old_ttl_name_is_read_when_the_new_one_is_unset() {
    // GIVEN only the deprecated name
    let old = settings(&[("EXPORTS_FILE_URL_TTL_SECS", "300")]).expect("valid");
    // THEN it is read
    assert_eq!(old.delivery.url_ttl, Duration::from_secs(300));
    // AND the new name wins when both are set
    let both = settings(&[
        ("EXPORTS_FILE_URL_TTL_SECS", "300"),
        ("EXPORTS_FILE_URL_TTL_SECONDS", "600"),
    ])
    .expect("valid");
    assert_eq!(both.delivery.url_ttl, Duration::from_secs(600));
    // AND the old name is range-checked under the new one's name
    let err = settings(&[("EXPORTS_FILE_URL_TTL_SECS", "5")]).expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("EXPORTS_FILE_URL_TTL_SECONDS='5'"),
        "{err}"
    );
}

#[test]
fn the_documented_defaults_and_ranges_are_the_ones_enforced() {
    use variables::*;
    // GIVEN the table's text of each numeric setting
    let doc = |name: &str| {
        let v = VARIABLES.iter().find(|v| v.name == name).expect(name);
        (v.default, v.range)
    };
    // THEN its range is the one `number` checks
    assert_eq!(doc(MAX_SYNC_ROWS).1, range_text(&MAX_SYNC_ROWS_RANGE));
    assert_eq!(doc(INLINE_LIMIT).1, range_text(&INLINE_LIMIT_RANGE));
    assert_eq!(doc(FILE_URL_TTL).1, range_text(&FILE_URL_TTL_RANGE));
    assert_eq!(doc(FILE_EXPIRY_DAYS).1, range_text(&FILE_EXPIRY_DAYS_RANGE));
    assert_eq!(doc(RATE_PER_SECOND).1, range_text(&RATE_PER_SECOND_RANGE));
    assert_eq!(doc(BURST).1, range_text(&BURST_RANGE));
    assert_eq!(doc(MAX_RECEIVES).1, range_text(&MAX_RECEIVES_RANGE));
    // AND its default is what an unset variable gives
    let unset = settings(&[]).expect("valid");
    assert_eq!(doc(INLINE_LIMIT).0, unset.delivery.inline_limit.to_string());
    assert_eq!(
        doc(FILE_URL_TTL).0,
        unset.delivery.url_ttl.as_secs().to_string()
    );
    assert_eq!(
        doc(FILE_EXPIRY_DAYS).0,
        (unset.file_expiry.as_secs() / 86_400).to_string()
    );
    assert_eq!(
        doc(RATE_PER_SECOND).0,
        unset.api_key_rate.per_second.to_string()
    );
    assert_eq!(doc(BURST).0, unset.api_key_rate.burst.to_string());
    assert_eq!(doc(MAX_RECEIVES).0, unset.max_receives.to_string());
}

#[test]
fn the_backend_is_the_default_entity_source() {
    let s = settings(&[]).expect("valid");
    assert!(matches!(s.entity_source, EntitySourceKind::Backend));
}

#[test]
fn postgres_reads_the_url_the_pool_and_the_timeout() {
    // GIVEN the PostgreSQL source with a URL and both limits
    let s = settings(&[
        ("EXPORTS_ENTITY_SOURCE", "postgres"),
        (
            "EXPORTS_DATABASE_URL",
            "postgres://reader:secret@db.internal:6432/crm?sslmode=require",
        ),
        ("EXPORTS_DATABASE_POOL_SIZE", "8"),
        ("EXPORTS_DATABASE_STATEMENT_TIMEOUT_MS", "1500"),
    ])
    .expect("valid");
    // THEN each is read as given, and the debug form hides the password
    let EntitySourceKind::Postgres(pg) = s.entity_source else {
        panic!("not postgres");
    };
    assert_eq!(
        (pg.pool_size, pg.statement_timeout),
        (8, Duration::from_millis(1500))
    );
    let DatabaseLocation::Url(config) = &pg.location else {
        panic!("not a URL");
    };
    assert_eq!(config.get_dbname(), Some("crm"));
    assert_eq!(
        config.get_ssl_mode(),
        tokio_postgres::config::SslMode::Require
    );
    assert!(!format!("{:?}", pg.location).contains("secret"));
    // AND a secret ARN wins over a URL
    let s = settings(&[
        ("EXPORTS_ENTITY_SOURCE", "postgres"),
        ("EXPORTS_DATABASE_URL", "postgres://x@h/db"),
        (
            "EXPORTS_DATABASE_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:1:secret:crm",
        ),
    ])
    .expect("valid");
    let EntitySourceKind::Postgres(pg) = s.entity_source else {
        panic!("not postgres");
    };
    assert!(matches!(pg.location, DatabaseLocation::Secret(ref a) if a.ends_with(":crm")));
    assert_eq!(pg.pool_size, DEFAULT_DATABASE_POOL_SIZE as usize);
}

#[test]
fn a_bad_entity_source_setting_stops_the_start_with_its_name() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("EXPORTS_ENTITY_SOURCE", "mysql")],
            "EXPORTS_ENTITY_SOURCE='mysql'",
        ),
        (
            &[("EXPORTS_ENTITY_SOURCE", "postgres")],
            "EXPORTS_DATABASE_URL or EXPORTS_DATABASE_SECRET_ARN",
        ),
        (
            &[
                ("EXPORTS_ENTITY_SOURCE", "postgres"),
                ("EXPORTS_DATABASE_URL", "postgres://h/db?sslmode=sometimes"),
            ],
            "EXPORTS_DATABASE_URL is not a PostgreSQL URL",
        ),
        (
            &[
                ("EXPORTS_ENTITY_SOURCE", "postgres"),
                ("EXPORTS_DATABASE_URL", "postgres://h/db"),
                ("EXPORTS_DATABASE_POOL_SIZE", "0"),
            ],
            "EXPORTS_DATABASE_POOL_SIZE='0' is out of range: use 1 to 64",
        ),
        (
            &[
                ("EXPORTS_ENTITY_SOURCE", "postgres"),
                ("EXPORTS_DATABASE_URL", "postgres://h/db"),
                ("EXPORTS_DATABASE_STATEMENT_TIMEOUT_MS", "soon"),
            ],
            "EXPORTS_DATABASE_STATEMENT_TIMEOUT_MS='soon' is not a number",
        ),
    ];
    for (vars, message) in cases {
        let err = settings(vars).expect_err(message).to_string();
        assert!(err.contains(message), "{err}");
    }
}
