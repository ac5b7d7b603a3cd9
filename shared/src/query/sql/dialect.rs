//! What differs between the SQL of the two stores that push queries down:
//! the embedded SQLite tables and a PostgreSQL entity source.
//!
//! The reference semantics are the same for both ([`EntityQuery::keep`]
//! and [`EntityQuery::compare`](crate::query::EntityQuery::compare)); only
//! their spelling differs:
//!
//! | meaning | SQLite | PostgreSQL |
//! |---|---|---|
//! | Unicode lower case | `rs_lower(t)` | `lower(t COLLATE pg_unicode_fast)` |
//! | empty text (null or blank) | `rs_empty(t) = 1` | `t IS NULL OR btrim(t, $ws) = ''` |
//! | `contains` on the lower case | `rs_contains(t, n) = 1` | `strpos(lower(t), n) > 0` |
//! | text order ([`cmp_text`](crate::model::value::cmp_text)) | collation `rs_text` | `lower(t) COLLATE "C"`, then `t COLLATE "C"` |
//! | nulls last | `col IS NULL` first | `NULLS LAST` |
//! | a custom field | `data -> '$."key"'` (JSON text) | `data -> key` (`jsonb`) |
//! | booleans, dates, date-times | 0/1, days from the common era, Unix nanoseconds | `boolean`, `date`, `timestamptz` |
//!
//! `$ws` is every character Rust's `char::is_whitespace` accepts, bound as
//! a value. `pg_unicode_fast` (PostgreSQL 18) lower-cases with Unicode's
//! full case mapping, as Rust's `to_lowercase` does; `"C"` compares the
//! UTF-8 bytes, which is code point order.
//!
//! [`EntityQuery::keep`]: crate::query::EntityQuery::keep

use crate::model::{FieldType, Value};
use sea_query::{BinOper, Expr, ExprTrait, Func, NullOrdering, Order, SelectStatement};
use std::sync::OnceLock;

/// The SQL dialect a query is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A text test on the lower-case form of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTest {
    Contains,
    StartsWith,
    EndsWith,
}

/// Every character `char::is_whitespace` accepts: what `trim` removes.
fn whitespace() -> &'static str {
    static WS: OnceLock<String> = OnceLock::new();
    WS.get_or_init(|| {
        (0..=0x10_FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect()
    })
}

/// `e COLLATE "name"` (`name` is a collation of ours, never a value).
pub fn collate(e: Expr, name: &'static str) -> Expr {
    e.binary(BinOper::Custom("COLLATE"), Expr::col(name))
}

fn func(name: &'static str, args: impl IntoIterator<Item = Expr>) -> Expr {
    let mut call = Func::cust(name);
    for a in args {
        call = call.arg(a);
    }
    Expr::expr(call)
}

impl Dialect {
    /// The Unicode lower-case form of a text expression.
    pub fn lower(self, e: Expr) -> Expr {
        match self {
            Dialect::Sqlite => func("rs_lower", [e]),
            Dialect::Postgres => func("lower", [collate(e, "pg_unicode_fast")]),
        }
    }

    /// Whether a column's value is empty: null, or (text) blank.
    pub fn empty(self, col: &'static str, ty: FieldType) -> Expr {
        match (self, ty) {
            (Dialect::Sqlite, FieldType::String) => func("rs_empty", [Expr::col(col)]).eq(1),
            (Dialect::Postgres, FieldType::String) => Expr::col(col).is_null().or(func(
                "btrim",
                [Expr::col(col), Expr::val(whitespace())],
            )
            .eq("")),
            _ => Expr::col(col).is_null(),
        }
    }

    /// `test` of the column's lower-case form against `needle` (lower case).
    pub fn text_test(self, test: TextTest, col: &'static str, needle: &str) -> Expr {
        match self {
            Dialect::Sqlite => {
                let name = match test {
                    TextTest::Contains => "rs_contains",
                    TextTest::StartsWith => "rs_starts",
                    TextTest::EndsWith => "rs_ends",
                };
                func(name, [Expr::col(col), Expr::val(needle)]).eq(1)
            }
            Dialect::Postgres => {
                let lower = self.lower(Expr::col(col));
                match test {
                    TextTest::Contains => func("strpos", [lower, Expr::val(needle)]).gt(0),
                    TextTest::StartsWith => func("starts_with", [lower, Expr::val(needle)]),
                    TextTest::EndsWith => {
                        let chars = i32::try_from(needle.chars().count()).unwrap_or(i32::MAX);
                        func("right", [lower, Expr::val(chars)]).eq(needle)
                    }
                }
            }
        }
    }

    /// Orders `select` by a column, with [`Value::cmp_same_type`]'s order
    /// and empty values last (and tied) whichever the direction.
    pub fn order_by(
        self,
        select: &mut SelectStatement,
        col: &'static str,
        ty: FieldType,
        order: Order,
    ) {
        match (self, ty) {
            // Ids are never empty: the column's own collation orders them.
            (Dialect::Sqlite, _) if col == "id" => {
                select.order_by(col, order);
            }
            // Ids order as text (lower case, then bytes), as the reference
            // does; the default-order index holds both keys.
            (Dialect::Postgres, _) if col == "id" => {
                select.order_by_expr(collate(self.lower(Expr::col(col)), "C"), order.clone());
                select.order_by_expr(collate(Expr::col(col), "C"), order);
            }
            (Dialect::Sqlite, FieldType::String) => {
                select.order_by_expr(self.empty(col, ty), Order::Asc);
                select.order_by_expr(
                    collate(func("rs_text_key", [Expr::col(col)]), "rs_text"),
                    order,
                );
            }
            (Dialect::Postgres, FieldType::String) => {
                // Empty cells tie: their key is null.
                let key = || -> Expr {
                    Expr::case(
                        self.empty(col, ty),
                        Expr::val(sea_query::Value::String(None)),
                    )
                    .finally(Expr::col(col))
                    .into()
                };
                select.order_by_expr(self.empty(col, ty), Order::Asc);
                select.order_by_expr(collate(self.lower(key()), "C"), order.clone());
                select.order_by_expr(collate(key(), "C"), order);
            }
            // Nulls sort last in SQLite's descending order already.
            (Dialect::Sqlite, _) if matches!(order, Order::Desc) => {
                select.order_by(col, order);
            }
            (Dialect::Sqlite, _) => {
                select.order_by_expr(Expr::col(col).is_null(), Order::Asc);
                select.order_by(col, order);
            }
            (Dialect::Postgres, _) => {
                select.order_by_with_nulls(col, order, NullOrdering::Last);
            }
        }
    }

    /// A custom field read from the record's JSON, or `None` when the
    /// dialect cannot name it in a path (SQLite, a key with `"` or `\`).
    pub fn json_field(self, key: &str) -> Option<Expr> {
        match self {
            Dialect::Sqlite if key.contains(['"', '\\']) => None,
            Dialect::Sqlite => Some(Expr::col("data").binary(
                BinOper::Custom("->"),
                Expr::val(["$.\"", key, "\""].concat()),
            )),
            Dialect::Postgres => {
                Some(Expr::col("data").binary(BinOper::Custom("->"), Expr::val(key)))
            }
        }
    }

    /// A typed value as the dialect's column holds it.
    pub fn value(self, v: &Value) -> sea_query::Value {
        match self {
            Dialect::Sqlite => sqlite_value(v),
            Dialect::Postgres => match v {
                Value::Null => sea_query::Value::String(None),
                Value::Text(s) => s.clone().into(),
                Value::Number(n) => (*n).into(),
                Value::Bool(b) => (*b).into(),
                Value::Date(d) => (*d).into(),
                Value::DateTime(t) => (*t).into(),
            },
        }
    }
}

/// A typed value as its SQLite column stores it: text, REAL, 0/1, days from
/// the common era (dates), nanoseconds from the Unix epoch (date-times,
/// saturated outside 1677..2262, where a stored date-time is null).
pub fn sqlite_value(v: &Value) -> sea_query::Value {
    match v {
        Value::Null => sea_query::Value::String(None),
        Value::Text(s) => s.clone().into(),
        Value::Number(n) => (*n).into(),
        Value::Bool(b) => i64::from(*b).into(),
        Value::Date(d) => i64::from(chrono::Datelike::num_days_from_ce(d)).into(),
        Value::DateTime(t) => t
            .timestamp_nanos_opt()
            .unwrap_or(if t.timestamp() < 0 {
                i64::MIN
            } else {
                i64::MAX
            })
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whitespace_set_is_what_trim_removes() {
        // GIVEN the bound set of blank characters
        let ws = whitespace();
        // THEN it holds the ASCII and Unicode spaces trim removes, nothing else
        assert!(ws.contains([' ', '\t', '\n', '\u{a0}', '\u{3000}', '\u{2028}']));
        assert!(ws.chars().all(char::is_whitespace));
        assert!(!ws.contains(['\u{200b}', 'a']));
        assert_eq!(format!("{ws}x{ws}").trim(), "x");
    }
}
