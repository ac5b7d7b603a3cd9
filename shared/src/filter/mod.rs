//! The v2 FilterCondition engine, shared by every API.
//!
//! A request's conditions are compiled once against the column registry
//! ([`compile`]): fields are resolved, operators checked against the field's
//! type and operands typed. Compiled conditions are then evaluated per row
//! ([`Condition::matches`]). Conditions combine with AND.
//!
//! Text comparisons are case-insensitive. `notEquals`, `notIn` and
//! `notContains` match empty values. Range operators never match empty values.

use crate::model::{ConfigOption, CustomFieldDef, EntityKind, FieldType, ResolvedField, Value};
use serde::Deserialize;
use serde_json::Value as Json;

mod compile;
mod eval;
mod options;

pub use compile::compile;
use compile::truncate;
pub use options::check_option_values;

/// The most conditions one request may hold.
pub const MAX_CONDITIONS: usize = 100;
/// The most values an `in` or `notIn` may list.
pub const MAX_VALUES: usize = 1_000;

/// One condition as clients send it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterCondition {
    pub field: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Json>>,
}

/// The operators of the v2 filtering conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    Between,
    IsEmpty,
    IsNotEmpty,
}

impl Operator {
    pub const ALL: [(&'static str, Operator); 15] = [
        ("equals", Operator::Equals),
        ("notEquals", Operator::NotEquals),
        ("in", Operator::In),
        ("notIn", Operator::NotIn),
        ("contains", Operator::Contains),
        ("notContains", Operator::NotContains),
        ("startsWith", Operator::StartsWith),
        ("endsWith", Operator::EndsWith),
        ("greaterThan", Operator::GreaterThan),
        ("greaterThanOrEqual", Operator::GreaterThanOrEqual),
        ("lessThan", Operator::LessThan),
        ("lessThanOrEqual", Operator::LessThanOrEqual),
        ("between", Operator::Between),
        ("isEmpty", Operator::IsEmpty),
        ("isNotEmpty", Operator::IsNotEmpty),
    ];

    pub fn parse(s: &str) -> Option<Operator> {
        Operator::ALL.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }

    pub fn name(self) -> &'static str {
        Operator::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("?", |(n, _)| n)
    }

    fn applies_to(self, ty: FieldType) -> bool {
        use Operator::*;
        match self {
            Contains | NotContains | StartsWith | EndsWith => ty == FieldType::String,
            GreaterThan | GreaterThanOrEqual | LessThan | LessThanOrEqual | Between => matches!(
                ty,
                FieldType::Number | FieldType::Date | FieldType::DateTime
            ),
            _ => true,
        }
    }
}

/// Everything compilation needs to know about the tenant and the request.
#[derive(Debug, Clone)]
pub struct FilterContext<'a> {
    pub entity: EntityKind,
    pub custom_fields: &'a [CustomFieldDef],
    /// Option lists by field key, to accept display names as well as codes.
    pub options: &'a [(String, Vec<ConfigOption>)],
    /// The zone for DATE_TIME operands written without an offset.
    pub timezone: chrono_tz::Tz,
}

/// A condition's typed operand (text already lower-cased).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    None,
    One(Value),
    Many(Vec<Value>),
    Range(Value, Value),
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: ResolvedField,
    pub operator: Operator,
    operand: Operand,
}

/// One precise problem with one condition; `path` is like `filters[2].value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FilterError {
    pub path: String,
    pub message: String,
}

#[cfg(test)]
mod tests;
