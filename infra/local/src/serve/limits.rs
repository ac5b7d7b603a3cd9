//! The connection limits of `exports-local serve`: how long a client may take
//! to send a request's head and its body, how long an idle keep-alive
//! connection is kept, and how many connections are served at once.
//!
//! The values are parsed and checked here, once, when the command line is
//! read (`--header-timeout`, `--idle-timeout`, `--body-timeout`,
//! `--max-connections` or their `EXPORTS_SERVE_*` variables); a bad value
//! stops the start with a message naming the flag.

use std::time::Duration;

/// Default time to receive a request's line and headers once its first byte
/// has arrived. A head is a few KiB sent in one write; 10 s covers any real
/// client and a slow link, and frees a stalled connection quickly.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time an idle keep-alive connection (or a new one that sends
/// nothing) is kept open: 60 s, the idle timeout of an AWS load balancer,
/// long enough for clients to reuse connections between polls.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default time to receive a whole request body once its head is read: 30 s.
/// The largest body the server accepts (10 MB) needs only ~350 KB/s to
/// arrive in time, and a stalled upload is freed within half a minute.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Default cap on connections served at once. A download holds two file
/// descriptors (the socket and the file), so 256 connections use at most
/// 512, half of the usual 1,024 soft limit, leaving the rest for SQLite,
/// the worker and the listener. Connections past the cap wait in the
/// listen backlog until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// The shortest and longest timeout accepted.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The largest connection cap accepted.
pub const MAX_MAX_CONNECTIONS: usize = 65_536;

/// The limits the local server applies to every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From a request's first byte to the end of its headers.
    pub header_timeout: Duration,
    /// From the end of a response (or the accept) to the next request's
    /// first byte.
    pub idle_timeout: Duration,
    /// From the end of the headers to the end of the body.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Why a limit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("expected a duration such as 10s, 500ms or 2m (a bare number is seconds)")]
    BadDuration,
    #[error("a timeout must be between 1ms and 1h")]
    TimeoutOutOfRange,
    #[error("expected a whole number of connections from 1 to {MAX_MAX_CONNECTIONS}")]
    BadConnections,
}

/// Reads a timeout: `500ms`, `10s`, `2m`, or a bare number of seconds.
///
/// # Errors
/// [`LimitError::BadDuration`] when it does not parse,
/// [`LimitError::TimeoutOutOfRange`] outside 1 ms ..= 1 h.
pub fn parse_timeout(text: &str) -> Result<Duration, LimitError> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| LimitError::BadDuration)?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => return Err(LimitError::BadDuration),
    };
    if (MIN_TIMEOUT..=MAX_TIMEOUT).contains(&duration) {
        Ok(duration)
    } else {
        Err(LimitError::TimeoutOutOfRange)
    }
}

/// Reads a connection cap: 1 ..= [`MAX_MAX_CONNECTIONS`].
///
/// # Errors
/// [`LimitError::BadConnections`] otherwise.
pub fn parse_max_connections(text: &str) -> Result<usize, LimitError> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_MAX_CONNECTIONS).contains(n))
        .ok_or(LimitError::BadConnections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_their_unit_and_refuse_zero_huge_and_junk() {
        // GIVEN timeouts as a user writes them
        // WHEN they are parsed, THEN the unit is honoured
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_timeout(" 30 "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        // AND zero, more than an hour and junk are refused
        assert_eq!(parse_timeout("0s"), Err(LimitError::TimeoutOutOfRange));
        assert_eq!(parse_timeout("61m"), Err(LimitError::TimeoutOutOfRange));
        assert_eq!(
            parse_timeout("99999999999999999999m"),
            Err(LimitError::BadDuration)
        );
        for junk in ["", "s", "-1s", "1.5s", "10h", "ten"] {
            assert_eq!(parse_timeout(junk), Err(LimitError::BadDuration), "{junk}");
        }
    }

    #[test]
    fn the_connection_cap_is_a_positive_bounded_number() {
        // GIVEN caps as a user writes them, WHEN parsed, THEN 1..=65536 pass
        assert_eq!(parse_max_connections("1"), Ok(1));
        assert_eq!(parse_max_connections("512"), Ok(512));
        for bad in ["0", "-1", "65537", "many", ""] {
            assert_eq!(
                parse_max_connections(bad),
                Err(LimitError::BadConnections),
                "{bad}"
            );
        }
    }
}
