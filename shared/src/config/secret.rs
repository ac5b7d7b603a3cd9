//! The PostgreSQL entity source's address from an AWS Secrets Manager
//! secret, read once at start: the JSON that RDS and RDS Proxy secrets
//! hold (`host`, `port`, `username`, `password`, `dbname`), plus an
//! optional `sslmode` (default `require`).

use super::ConfigError;
use serde::Deserialize;

/// The fields of an RDS-format secret the source uses.
#[derive(Deserialize)]
struct DatabaseSecret {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    username: String,
    password: String,
    #[serde(default)]
    dbname: Option<String>,
    #[serde(default)]
    sslmode: Option<String>,
}

/// Builds the connection settings from the secret's JSON. Values are set
/// field by field, never pasted into a connection string.
///
/// # Errors
/// [`ConfigError::DatabaseSecret`] when the JSON lacks a field or names an
/// unknown `sslmode`; the message never holds the password.
pub fn config_from_secret(arn: &str, json: &str) -> Result<tokio_postgres::Config, ConfigError> {
    let bad = |reason: String| ConfigError::DatabaseSecret {
        arn: arn.to_string(),
        reason,
    };
    let secret: DatabaseSecret = serde_json::from_str(json)
        .map_err(|e| bad(["not the RDS secret format (", &e.to_string(), ")"].concat()))?;
    let mut config = tokio_postgres::Config::new();
    config
        .host(&secret.host)
        .port(secret.port.unwrap_or(5432))
        .user(&secret.username)
        .password(&secret.password)
        .dbname(secret.dbname.as_deref().unwrap_or("postgres"));
    let mode = match secret.sslmode.as_deref().unwrap_or("require") {
        "disable" => tokio_postgres::config::SslMode::Disable,
        "prefer" => tokio_postgres::config::SslMode::Prefer,
        "require" => tokio_postgres::config::SslMode::Require,
        other => {
            return Err(bad([
                "sslmode '",
                other,
                "' is not disable, prefer or require",
            ]
            .concat()))
        }
    };
    config.ssl_mode(mode);
    Ok(config)
}

/// Reads the secret `arn` and builds the connection settings from it.
///
/// # Errors
/// [`ConfigError::DatabaseSecret`] when the secret cannot be read or used.
pub async fn database_config(
    sdk: &aws_config::SdkConfig,
    arn: &str,
) -> Result<tokio_postgres::Config, ConfigError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError::DatabaseSecret {
            arn: arn.to_string(),
            reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
        })?;
    let json = out
        .secret_string()
        .ok_or_else(|| ConfigError::DatabaseSecret {
            arn: arn.to_string(),
            reason: "the secret holds no string".into(),
        })?;
    config_from_secret(arn, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rds_secret_gives_the_connection_settings_and_tls_by_default() {
        // GIVEN a secret as RDS writes it
        let json = r#"{"engine":"postgres","host":"db.example","port":6432,"username":"reader","password":"p@ss'\"word","dbname":"crm"}"#;
        // WHEN it is read
        let config = config_from_secret("arn:x", json).expect("config");
        // THEN every field is taken as it is, and TLS is required
        assert_eq!(config.get_ports(), &[6432]);
        assert_eq!(config.get_user(), Some("reader"));
        assert_eq!(config.get_password(), Some(&b"p@ss'\"word"[..]));
        assert_eq!(config.get_dbname(), Some("crm"));
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
    }

    #[test]
    fn a_bad_secret_is_refused_without_showing_the_password() {
        for json in [
            r#"{"host":"h","username":"u"}"#,
            r#"{"host":"h","username":"u","password":"hunter2","sslmode":"verify"}"#,
            "not json hunter2",
        ] {
            let err = config_from_secret("arn:x", json)
                .expect_err(json)
                .to_string();
            assert!(err.contains("arn:x"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
