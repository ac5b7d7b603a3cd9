//! API Gateway HTTP API routes: the `routeKey`s a function is mounted on,
//! and how API Gateway matches a request to one.
//!
//! Each function crate lists its routes (`ROUTES`), the same ones
//! `template.yaml` gives it (a test keeps the two in step). `exports-local
//! serve` matches requests with [`RouteKey::matches`] as API Gateway does:
//! the method exactly, the path segment by segment, a `{name}` segment
//! taking any one non-empty segment as a path parameter. A request that
//! matches no route never reaches a function; API Gateway answers it with
//! [`NOT_FOUND_BODY`].

use std::collections::HashMap;

/// One route: `METHOD /path/{param}`, as `template.yaml` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteKey {
    pub method: &'static str,
    pub path: &'static str,
}

/// What API Gateway answers (404) to a request no route matches.
pub const NOT_FOUND_BODY: &str = r#"{"message":"Not Found"}"#;

impl RouteKey {
    /// The route `method path`.
    pub const fn new(method: &'static str, path: &'static str) -> Self {
        RouteKey { method, path }
    }

    /// The `routeKey` of the events API Gateway sends: `POST /exports`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters when `method` and `raw_path` match this route,
    /// as API Gateway binds them (percent-decoded); `None` otherwise.
    pub fn matches(&self, method: &str, raw_path: &str) -> Option<HashMap<String, String>> {
        if method != self.method {
            return None;
        }
        let mut template = self.path.split('/');
        let mut given = raw_path.split('/');
        let mut params = HashMap::new();
        loop {
            match (template.next(), given.next()) {
                (None, None) => return Some(params),
                (Some(t), Some(g)) => {
                    if let Some(name) = t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                        if g.is_empty() {
                            return None;
                        }
                        let value = percent_encoding::percent_decode_str(g)
                            .decode_utf8()
                            .ok()?
                            .into_owned();
                        params.insert(name.to_string(), value);
                    } else if t != g {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }
}

/// The first of `routes` that `method` and `raw_path` match, with its path
/// parameters.
pub fn find<'r>(
    routes: &'r [RouteKey],
    method: &str,
    raw_path: &str,
) -> Option<(&'r RouteKey, HashMap<String, String>)> {
    routes
        .iter()
        .find_map(|r| r.matches(method, raw_path).map(|p| (r, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[RouteKey] = &[
        RouteKey::new("POST", "/exports"),
        RouteKey::new("POST", "/exports/"),
        RouteKey::new("GET", "/exports/{id}"),
        RouteKey::new("POST", "/api/{entity}/filter"),
    ];

    #[test]
    fn a_literal_route_matches_only_its_own_path_and_method() {
        assert_eq!(
            find(ROUTES, "POST", "/exports").map(|r| r.0.path),
            Some("/exports")
        );
        assert_eq!(
            find(ROUTES, "POST", "/exports/").map(|r| r.0.path),
            Some("/exports/")
        );
        assert!(find(ROUTES, "GET", "/exports").is_none());
        assert!(find(ROUTES, "POST", "/exportsx").is_none());
    }

    #[test]
    fn a_parameter_takes_one_non_empty_segment_percent_decoded() {
        // GIVEN a route with a parameter
        // WHEN a path fills it
        let (route, params) = find(ROUTES, "GET", "/exports/a%20b").expect("matches");
        // THEN the parameter is bound, decoded
        assert_eq!(route.key(), "GET /exports/{id}");
        assert_eq!(params.get("id").map(String::as_str), Some("a b"));
        // AND an empty or a two-segment value does not match
        assert!(find(ROUTES, "GET", "/exports/").is_none());
        assert!(find(ROUTES, "GET", "/exports/a/b").is_none());
        let (_, params) = find(ROUTES, "POST", "/api/contacts/filter").expect("matches");
        assert_eq!(params.get("entity").map(String::as_str), Some("contacts"));
    }
}
