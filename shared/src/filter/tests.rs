//! Operator-by-operator and type-by-type tests of the filter engine.

use super::*;
use chrono::{TimeZone, Utc};
use serde_json::json;

fn ctx() -> FilterContext<'static> {
    FilterContext {
        entity: EntityKind::Contacts,
        custom_fields: &[],
        options: &[],
        timezone: chrono_tz::UTC,
    }
}

fn cond(v: serde_json::Value) -> FilterCondition {
    serde_json::from_value(v).unwrap()
}

fn compiled(v: serde_json::Value) -> Condition {
    compile(&[cond(v)], &ctx()).unwrap().remove(0)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

#[test]
fn string_operators() {
    // GIVEN string conditions, WHEN evaluated, THEN they compare case-insensitively.
    let c = compiled(json!({"field": "contactType", "operator": "equals", "value": "ACTIVE"}));
    assert!(c.matches(&text("active")));
    assert!(!c.matches(&text("INACTIVE")));
    assert!(!c.matches(&Value::Null));

    let c = compiled(json!({"field": "contactType", "operator": "notEquals", "value": "ACTIVE"}));
    assert!(!c.matches(&text("Active")));
    assert!(c.matches(&text("LEAD")));
    assert!(c.matches(&Value::Null), "notEquals keeps empty values");

    let c = compiled(json!({"field": "stage", "operator": "in", "values": ["Prospect", "Client"]}));
    assert!(c.matches(&text("prospect")));
    assert!(c.matches(&text("CLIENT")));
    assert!(!c.matches(&text("lead")));

    let c = compiled(json!({"field": "stageName", "operator": "notIn", "values": ["lead"]}));
    assert!(c.matches(&text("client")));
    assert!(!c.matches(&text("Lead")));

    let c =
        compiled(json!({"field": "preferredEmail", "operator": "contains", "value": "@EXAMPLE"}));
    assert!(c.matches(&text("ana@example.com")));
    assert!(!c.matches(&text("ana@other.org")));

    let c =
        compiled(json!({"field": "preferredEmail", "operator": "notContains", "value": "example"}));
    assert!(c.matches(&text("ana@other.org")));
    assert!(!c.matches(&text("ana@example.com")));
    assert!(c.matches(&Value::Null));

    let c = compiled(json!({"field": "firstName", "operator": "startsWith", "value": "an"}));
    assert!(c.matches(&text("Ana")));
    assert!(!c.matches(&text("Juana")));

    let c = compiled(json!({"field": "firstName", "operator": "endsWith", "value": "NA"}));
    assert!(c.matches(&text("Juana")));
    assert!(!c.matches(&text("Ana María")));

    let c = compiled(json!({"field": "middleName", "operator": "isEmpty"}));
    assert!(c.matches(&Value::Null));
    assert!(c.matches(&text("  ")));
    assert!(!c.matches(&text("José")));

    let c = compiled(json!({"field": "middleName", "operator": "isNotEmpty"}));
    assert!(!c.matches(&Value::Null));
    assert!(c.matches(&text("José")));
}

#[test]
fn number_operators() {
    let n = Value::Number;
    let c = compiled(json!({"field": "netWorth", "operator": "equals", "value": "1500.5"}));
    assert!(c.matches(&n(1500.5)));
    assert!(!c.matches(&n(1500.0)));

    let c = compiled(json!({"field": "netWorth", "operator": "greaterThan", "value": 100}));
    assert!(c.matches(&n(100.01)));
    assert!(!c.matches(&n(100.0)));
    assert!(!c.matches(&Value::Null), "ranges never match empty values");

    let c = compiled(json!({"field": "netWorth", "operator": "greaterThanOrEqual", "value": 100}));
    assert!(c.matches(&n(100.0)));
    assert!(!c.matches(&n(99.99)));

    let c = compiled(json!({"field": "netWorth", "operator": "lessThan", "value": 0}));
    assert!(c.matches(&n(-1.0)));
    assert!(!c.matches(&n(0.0)));

    let c = compiled(json!({"field": "netWorth", "operator": "lessThanOrEqual", "value": 0}));
    assert!(c.matches(&n(0.0)));
    assert!(!c.matches(&n(0.5)));

    let c = compiled(json!({"field": "netWorth", "operator": "between", "values": [10, 20]}));
    assert!(c.matches(&n(10.0)) && c.matches(&n(20.0)) && c.matches(&n(15.0)));
    assert!(!c.matches(&n(20.5)) && !c.matches(&n(9.0)));

    let c = compiled(json!({"field": "netWorth", "operator": "in", "values": [1, "2"]}));
    assert!(c.matches(&n(2.0)));
    assert!(!c.matches(&n(3.0)));
}

#[test]
fn boolean_operators_accept_the_conventions_string_form() {
    let c = compiled(json!({"field": "isActive", "operator": "equals", "value": "true"}));
    assert!(c.matches(&Value::Bool(true)));
    assert!(!c.matches(&Value::Bool(false)));
    let c = compiled(json!({"field": "isActive", "operator": "notEquals", "value": true}));
    assert!(c.matches(&Value::Bool(false)));
}

#[test]
fn date_operators() {
    let c = compiled(
        json!({"field": "birthDate", "operator": "between", "values": ["1980-01-01", "1989-12-31"]}),
    );
    assert!(c.matches(&date(1986, 9, 4)));
    assert!(!c.matches(&date(1990, 1, 1)));
    let c = compiled(json!({"field": "birthDate", "operator": "lessThan", "value": "1980-01-01"}));
    assert!(c.matches(&date(1979, 12, 31)));
    let c = compiled(json!({"field": "birthDate", "operator": "equals", "value": "1986-09-04"}));
    assert!(c.matches(&date(1986, 9, 4)));
}

#[test]
fn date_time_operands_without_offset_use_the_request_timezone() {
    // GIVEN a filter in America/Santiago (UTC-3 in January)
    let tz = chrono_tz::America::Santiago;
    let ctx = FilterContext {
        timezone: tz,
        ..ctx()
    };
    let c = compile(
        &[cond(
            json!({"field": "createdAt", "operator": "greaterThanOrEqual", "value": "2024-01-15"}),
        )],
        &ctx,
    )
    .unwrap()
    .remove(0);
    // WHEN compared with instants either side of local midnight
    let before = Value::DateTime(Utc.with_ymd_and_hms(2024, 1, 15, 2, 59, 59).unwrap());
    let after = Value::DateTime(Utc.with_ymd_and_hms(2024, 1, 15, 3, 0, 0).unwrap());
    // THEN local midnight (03:00 UTC) is the bound
    assert!(!c.matches(&before));
    assert!(c.matches(&after));

    // An explicit offset wins over the request timezone.
    let c = compiled(
        json!({"field": "updatedAt", "operator": "lessThan", "value": "2024-01-15T00:00:00Z"}),
    );
    assert!(c.matches(&Value::DateTime(
        Utc.with_ymd_and_hms(2024, 1, 14, 23, 59, 59).unwrap()
    )));
    assert!(!c.matches(&before));
}

#[test]
fn display_names_of_options_match_their_codes() {
    // GIVEN a stage whose display name differs from its code
    let opts = vec![(
        "stage".to_string(),
        vec![ConfigOption {
            code: "qualified_lead".into(),
            display_name: "Qualified Lead".into(),
            enabled: true,
            deleted: false,
            sort_order: 1,
            created_at: String::new(),
            updated_at: String::new(),
        }],
    )];
    let ctx = FilterContext {
        options: &opts,
        ..ctx()
    };
    let c = compile(
        &[cond(
            json!({"field": "stage", "operator": "equals", "value": "Qualified Lead"}),
        )],
        &ctx,
    )
    .unwrap()
    .remove(0);
    // THEN the code matches too
    assert!(c.matches(&text("qualified_lead")));
}

#[test]
fn custom_fields_are_filterable_by_their_type() {
    let defs = [CustomFieldDef {
        uuid: "f1".into(),
        entity: EntityKind::Contacts,
        key: "score".into(),
        label: "Score".into(),
        field_type: FieldType::Number,
        form_uuid: None,
    }];
    let ctx = FilterContext {
        custom_fields: &defs,
        ..ctx()
    };
    let c = compile(
        &[cond(
            json!({"field": "custom:cf_f1", "operator": "greaterThan", "value": 5}),
        )],
        &ctx,
    )
    .unwrap()
    .remove(0);
    assert_eq!(c.field.key, "custom:cf_f1");
    assert!(c.matches(&Value::Number(6.0)));
}

fn errors(v: serde_json::Value) -> Vec<String> {
    compile(&[cond(v)], &ctx())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn bad_conditions_say_exactly_what_is_wrong() {
    assert_eq!(
        errors(json!({"field": "shoeSize", "operator": "equals", "value": "9"})),
        ["filters[0].field: unknown column 'shoeSize' for contacts"]
    );
    assert!(
        errors(json!({"field": "firstName", "operator": "like", "value": "a"}))[0]
            .starts_with("filters[0].operator: unknown operator 'like'")
    );
    assert_eq!(
        errors(json!({"field": "netWorth", "operator": "contains", "value": "1"})),
        ["filters[0].operator: operator 'contains' does not apply to NUMBER field 'netWorth'"]
    );
    assert_eq!(
        errors(json!({"field": "firstName", "operator": "greaterThan", "value": "a"})),
        ["filters[0].operator: operator 'greaterThan' does not apply to STRING field 'firstName'"]
    );
    assert_eq!(
        errors(json!({"field": "netWorth", "operator": "equals", "value": "lots"})),
        ["filters[0].value: expected a number, got \"lots\""]
    );
    assert_eq!(
        errors(json!({"field": "isActive", "operator": "equals", "value": "yes"})),
        ["filters[0].value: expected true or false, got \"yes\""]
    );
    assert!(
        errors(json!({"field": "birthDate", "operator": "equals", "value": "04/09/1986"}))[0]
            .starts_with("filters[0].value: expected a date")
    );
    assert!(
        errors(json!({"field": "createdAt", "operator": "lessThan", "value": "yesterday"}))[0]
            .starts_with("filters[0].value: expected a date-time")
    );
    assert_eq!(
        errors(json!({"field": "firstName", "operator": "equals"})),
        ["filters[0].value: 'equals' needs a 'value'"]
    );
    assert_eq!(
        errors(json!({"field": "firstName", "operator": "in", "values": []})),
        ["filters[0].values: 'in' needs 1 to 1000 values"]
    );
    assert_eq!(
        errors(json!({"field": "netWorth", "operator": "between", "values": [1]})),
        ["filters[0].values: 'between' needs exactly two values [from, to]"]
    );
    assert_eq!(
        errors(json!({"field": "netWorth", "operator": "between", "values": [5, 1]})),
        ["filters[0].values: 'between' needs from <= to"]
    );
    assert_eq!(
        errors(json!({"field": "firstName", "operator": "in", "values": ["a", null]})),
        ["filters[0].values: must not be null; use isEmpty or isNotEmpty"]
    );
    assert_eq!(
        errors(json!({"field": "firstName", "operator": "isEmpty", "value": "x"})),
        ["filters[0].value: 'isEmpty' takes no value"]
    );
    assert_eq!(
        errors(json!({"field": "firstName", "operator": "equals", "value": null})),
        ["filters[0].value: 'equals' needs a 'value'"]
    );
}

#[test]
fn every_bad_condition_is_reported_and_the_count_is_bounded() {
    let two = [
        cond(json!({"field": "nope", "operator": "equals", "value": "a"})),
        cond(json!({"field": "firstName", "operator": "nope", "value": "a"})),
    ];
    let errs = compile(&two, &ctx()).unwrap_err();
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[1].path, "filters[1].operator");

    let many: Vec<_> = (0..=MAX_CONDITIONS)
        .map(|_| cond(json!({"field": "firstName", "operator": "isEmpty"})))
        .collect();
    assert_eq!(compile(&many, &ctx()).unwrap_err()[0].path, "filters");
}

#[test]
fn a_text_field_takes_only_string_operands() {
    // GIVEN text-field conditions whose operands are booleans or numbers
    let bad = [
        json!({"field": "contactType", "operator": "equals", "value": true}),
        json!({"field": "city", "operator": "in", "values": ["Lima", true, 1e308]}),
        json!({"field": "firstName", "operator": "startsWith", "value": 12}),
        json!({"field": "firstName", "operator": "notIn", "values": [{"a": 1}]}),
    ];
    for c in bad {
        // WHEN compiled
        let errors = compile(&[cond(c.clone())], &ctx()).unwrap_err();
        // THEN each is refused, naming the part and the expected type
        assert!(
            errors[0].path.starts_with("filters[0].value")
                && errors[0].message.contains("a string"),
            "{c}: {errors:?}"
        );
    }
    // AND a number or boolean field still reads its operand from a string
    compiled(json!({"field": "isActive", "operator": "equals", "value": "true"}));
}
