//! Small HTTP helpers shared by the API modules.

use http::HeaderMap;

/// The largest request body any JSON endpoint accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Whether the request declares a JSON body (`application/json` or `+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let media = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The client's address as API Gateway (HTTP API, payload 2.0) reports it
/// in the request context (`requestContext.http.sourceIp`); `exports-local
/// serve` puts the peer address there too.
pub fn source_ip(req: &lambda_http::Request) -> Option<std::net::IpAddr> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref()?.parse().ok(),
        _ => None,
    }
}

/// The request path without a trailing slash (but `/` stays `/`).
pub fn normalised_path(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some("") | None => path,
        Some(p) => p,
    }
}

pub use crate::render::attachment;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            "content-type",
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert("content-type", "application/vnd.api+json".parse().unwrap());
        assert!(is_json(&h));
        h.insert("content-type", "text/plain".parse().unwrap());
        assert!(!is_json(&h));
    }

    #[test]
    fn attachment_names_are_ascii_and_quoted_safely() {
        assert_eq!(
            attachment("contacts_1.csv"),
            "attachment; filename=\"contacts_1.csv\""
        );
        assert_eq!(
            attachment("a\"b\r\nç.csv"),
            "attachment; filename=\"a_b___.csv\""
        );
    }
}
