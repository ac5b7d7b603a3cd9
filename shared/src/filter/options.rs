//! The option check of new filters: values given to option-list fields
//! (stage, contactSource, segment) must name enabled, undeleted options.

use super::{truncate, FilterCondition, FilterError, Operator};
use crate::model::{resolve, ConfigOption, EntityKind};
use serde_json::Value as Json;

/// Checks that the values a new filter gives an option-list field (stage,
/// contactSource, segment) with `equals`, `notEquals`, `in` or `notIn` name
/// options the tenant has enabled and not deleted, by code or display name.
///
/// A tenant with no options configured for a list leaves its values free.
/// Text operators (`contains`, ...) take free text and are not checked.
/// Conditions that do not resolve are left to [`compile`] to report.
pub fn check_option_values(
    conditions: &[FilterCondition],
    entity: EntityKind,
    options: &[(String, Vec<ConfigOption>)],
) -> Vec<FilterError> {
    use Operator::*;
    let mut errors = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        let Ok(field) = resolve(entity, &c.field, None, &[]) else {
            continue;
        };
        let Some(kind) = field.option_list else {
            continue;
        };
        let Some((_, list)) = options.iter().find(|(k, _)| *k == field.key) else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        let (part, values): (&str, Vec<&Json>) = match Operator::parse(&c.operator) {
            Some(Equals | NotEquals) => ("value", c.value.iter().collect()),
            Some(In | NotIn) => match (&c.values, &c.value) {
                (Some(v), _) => ("values", v.iter().collect()),
                (None, Some(Json::Array(v))) => ("values", v.iter().collect()),
                _ => continue,
            },
            _ => continue,
        };
        let what = match kind {
            crate::model::OptionKind::Stages => "stage",
            crate::model::OptionKind::Sources => "source",
            crate::model::OptionKind::Segments => "segment",
        };
        for v in values {
            let Json::String(text) = v else { continue };
            let found = list.iter().find(|o| {
                o.code.eq_ignore_ascii_case(text.trim())
                    || o.display_name.eq_ignore_ascii_case(text.trim())
            });
            let problem = match found {
                Some(o) if o.deleted => Some(format!(
                    "{what} '{}' has been deleted; only enabled {what}s can be used in a new filter",
                    o.code
                )),
                Some(o) if !o.enabled => Some(format!(
                    "{what} '{}' is disabled; only enabled {what}s can be used in a new filter",
                    o.code
                )),
                Some(_) => None,
                None => Some(format!(
                    "unknown {what} '{}'; expected one of {}",
                    truncate(text),
                    list.iter()
                        .filter(|o| o.enabled && !o.deleted)
                        .map(|o| o.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            if let Some(message) = problem {
                errors.push(FilterError {
                    path: format!("filters[{i}].{part}"),
                    message,
                });
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn option(code: &str, name: &str, enabled: bool, deleted: bool) -> ConfigOption {
        ConfigOption {
            code: code.into(),
            display_name: name.into(),
            enabled,
            deleted,
            sort_order: 1,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn check(c: serde_json::Value, options: &[(String, Vec<ConfigOption>)]) -> Vec<String> {
        let c: FilterCondition = serde_json::from_value(c).unwrap();
        check_option_values(&[c], EntityKind::Contacts, options)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn only_enabled_undeleted_options_pass() {
        // GIVEN stages: one enabled, one disabled, one deleted
        let stages = vec![(
            "stage".to_string(),
            vec![
                option("client", "Client", true, false),
                option("inactive", "Inactive", false, false),
                option("old", "Old", false, true),
            ],
        )];
        // THEN codes and display names of the enabled one pass, in any case
        assert!(check(
            json!({"field": "stageName", "operator": "in", "values": ["CLIENT", "client"]}),
            &stages
        )
        .is_empty());
        // AND the others are named
        assert_eq!(
            check(json!({"field": "stage", "operator": "notEquals", "value": "Inactive"}), &stages),
            ["filters[0].value: stage 'inactive' is disabled; only enabled stages can be used in a new filter"]
        );
        assert!(check(
            json!({"field": "stage", "operator": "in", "values": ["old"]}),
            &stages
        )[0]
        .contains("'old' has been deleted"));
        assert!(check(
            json!({"field": "stage", "operator": "equals", "value": "x"}),
            &stages
        )[0]
        .ends_with("unknown stage 'x'; expected one of client"));
        // AND text operators and unconfigured lists are free
        assert!(check(
            json!({"field": "stage", "operator": "contains", "value": "x"}),
            &stages
        )
        .is_empty());
        assert!(check(
            json!({"field": "segment", "operator": "equals", "value": "x"}),
            &stages
        )
        .is_empty());
    }
}
