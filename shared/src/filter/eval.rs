//! Evaluation of compiled conditions against one row's cell values.

use super::{Condition, Operand, Operator};
use crate::model::Value;

impl Condition {
    /// The typed operand.
    pub fn operand(&self) -> &Operand {
        &self.operand
    }

    /// Whether a cell value satisfies the condition.
    pub fn matches(&self, cell: &Value) -> bool {
        use Operator::*;
        if cell.is_empty() {
            return matches!(self.operator, IsEmpty | NotEquals | NotIn | NotContains);
        }
        let text = |f: &dyn Fn(&str, &str) -> bool| -> bool {
            match (cell, &self.operand) {
                (Value::Text(s), Operand::One(Value::Text(needle))) => f(&s.to_lowercase(), needle),
                _ => false,
            }
        };
        match self.operator {
            IsEmpty => false,
            IsNotEmpty => true,
            Equals | In => self.any_equal(cell),
            NotEquals | NotIn => !self.any_equal(cell),
            Contains => text(&|s, n| s.contains(n)),
            NotContains => !text(&|s, n| s.contains(n)),
            StartsWith => text(&|s, n| s.starts_with(n)),
            EndsWith => text(&|s, n| s.ends_with(n)),
            GreaterThan => self.compare(cell).is_some_and(|o| o.is_gt()),
            GreaterThanOrEqual => self.compare(cell).is_some_and(|o| o.is_ge()),
            LessThan => self.compare(cell).is_some_and(|o| o.is_lt()),
            LessThanOrEqual => self.compare(cell).is_some_and(|o| o.is_le()),
            Between => match &self.operand {
                Operand::Range(lo, hi) => {
                    cell.cmp_same_type(lo).is_ge() && cell.cmp_same_type(hi).is_le()
                }
                _ => false,
            },
        }
    }

    fn any_equal(&self, cell: &Value) -> bool {
        let eq = |v: &Value| match (cell, v) {
            (Value::Text(a), Value::Text(b)) => a.to_lowercase() == *b,
            (a, b) => a == b,
        };
        match &self.operand {
            Operand::One(v) => eq(v),
            Operand::Many(vs) => vs.iter().any(eq),
            _ => false,
        }
    }

    fn compare(&self, cell: &Value) -> Option<std::cmp::Ordering> {
        match &self.operand {
            Operand::One(v) => Some(cell.cmp_same_type(v)),
            _ => None,
        }
    }
}
