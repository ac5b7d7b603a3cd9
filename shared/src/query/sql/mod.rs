//! Compiles an [`EntityQuery`] to SQL with `sea-query`: every value is a
//! bound parameter, never text in the statement.
//!
//! A store keeps one table per entity (`contacts`, `organisations`,
//! `households`) with a `tenant` column, a typed column per standard field
//! (named as the field: `"firstName"`, `"createdAt"`), and the record as
//! stored in `data` (JSON text), where custom fields are read from. Typed
//! columns hold what [`Value::from_json`] makes of the stored value: text,
//! REAL numbers, 0/1 booleans, dates as days from the common era and
//! date-times as nanoseconds from the Unix epoch ([`sql_value`]).
//!
//! The reference semantics ([`EntityQuery::keep`] and
//! [`EntityQuery::compare`]) need a few functions SQL does not have in the
//! same form; the store registers them on its connections:
//!
//! | function | meaning |
//! |---|---|
//! | `rs_lower(t)` | `t.to_lowercase()` (Unicode) |
//! | `rs_empty(t)` | 1 when `t` is null or blank (`trim().is_empty()`), else 0 |
//! | `rs_text_key(t)` | `t`, or null when it is blank (empties tie in a sort) |
//! | `rs_contains(t, n)`, `rs_starts(t, n)`, `rs_ends(t, n)` | the test on `t.to_lowercase()` |
//! | collation `rs_text` | [`cmp_text`](crate::model::value::cmp_text) |
//!
//! Text columns are declared `COLLATE rs_text`, so `ORDER BY` and indexes
//! follow the reference order. An unfiltered count reads `entity_counts`
//! (`tbl`, `tenant`, `n`), which the store keeps with triggers. Conditions and sort keys on custom fields
//! cannot be compiled: [`compile`] then leaves them to the in-process
//! evaluator ([`super::engine`]) and says so in [`Compiled::residual`].

pub mod dialect;

pub use dialect::{sqlite_value, Dialect};

use super::{EntityQuery, Window};
use crate::filter::{Condition, Operand, Operator};
use crate::model::columns::find_standard;
use crate::model::{EntityKind, FieldType, TenantId, Value};
use dialect::TextTest;
use sea_query::{Expr, ExprTrait, Func, Order, Query, SelectStatement};

/// The table of an entity.
pub fn table(entity: EntityKind) -> &'static str {
    entity.path_name()
}

/// Where one projected field is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A typed column (its position in the select list) of the given type.
    Column(usize, FieldType),
    /// The field's stored JSON, extracted by the database (SQLite:
    /// `data -> '$."key"'`, PostgreSQL: `data -> 'key'`, the key bound as a
    /// value), at that position in the select list.
    JsonField(usize, FieldType),
    /// The record's whole JSON (`data`), through the JSON sub-projection:
    /// for a key a JSON path cannot quote (SQLite only).
    Json,
}

/// A query compiled to SQL.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The rows: the typed columns the projection needs, then `data` when a
    /// projected field is not a standard column.
    pub select: SelectStatement,
    /// `COUNT(*)` of the rows the SQL conditions select, when a count is
    /// asked and the whole query is in SQL.
    pub count: Option<SelectStatement>,
    /// Per projected field, where it is read from.
    pub sources: Vec<Source>,
    /// Whether `data` is selected (it is then the last column).
    pub reads_json: bool,
    /// Whether part of the query (a condition or sort key on a custom field)
    /// is left to the in-process evaluator: the SQL then selects a superset
    /// in no order, without a window.
    pub residual: bool,
    /// Whether the SQL selects every row (at most the cap + 1) in no
    /// order, for the caller to sort with [`EntityQuery::compare`].
    pub sort_in_process: bool,
}

/// The standard column a projected field lives in, if any.
fn column_of(entity: EntityKind, key: &str) -> Option<&'static str> {
    find_standard(entity, key).map(|c| c.id)
}

/// The value of every standard column of `entity` in `record`, in
/// [`standard_columns`](crate::model::columns::standard_columns) order,
/// with its type: what [`Value::from_json`] makes of the stored value, or
/// `Null` (with a warning) when it does not fit. What a store writes into
/// its typed columns.
pub fn column_values<'a>(
    entity: EntityKind,
    record: &'a crate::model::Record,
) -> impl Iterator<Item = (FieldType, Value)> + 'a {
    crate::model::columns::standard_columns(entity)
        .iter()
        .map(move |c| {
            let v = if c.id == "id" {
                Value::Text(record.id.clone())
            } else {
                Value::from_json(c.field_type, record.get(c.id)).unwrap_or_else(|e| {
                    tracing::warn!(record = %record.id, field = c.id, error = %e, "stored value does not fit its column; stored as empty");
                    Value::Null
                })
            };
            (c.field_type, v)
        })
}

/// Compiles `q` for `tenant` in `dialect`.
pub fn compile(q: &EntityQuery, tenant: &TenantId, dialect: Dialect) -> Compiled {
    let entity = q.entity;
    let fields = q.projection.fields();
    let column = |i: usize| column_of(entity, &fields[i].0);

    let mut select = Query::select();
    select.from(table(entity));
    let mut sources = Vec::with_capacity(fields.len());
    let mut selected = 0;
    for (key, ty) in fields {
        if let Some(c) = column_of(entity, key) {
            select.column(c);
            sources.push(Source::Column(selected, *ty));
            selected += 1;
        } else if let Some(e) = dialect.json_field(key) {
            select.expr(e);
            sources.push(Source::JsonField(selected, *ty));
            selected += 1;
        } else {
            sources.push(Source::Json);
        }
    }
    let reads_json = sources.contains(&Source::Json);
    if reads_json {
        select.column("data");
    }

    let mut residual = false;
    let mut filter = sea_query::Condition::all().add(Expr::col("tenant").eq(tenant.as_str()));
    for (i, c) in &q.conditions {
        match column(*i) {
            Some(col) => filter = filter.add(condition(dialect, col, c)),
            None => residual = true,
        }
    }
    residual |= q.sort.iter().any(|k| column(k.index).is_none());

    let count = (q.count && !residual).then(|| {
        if q.conditions.is_empty() && dialect == Dialect::Sqlite {
            // Kept per tenant by the store's triggers.
            Query::select()
                .expr(Func::coalesce([Expr::col("n").max(), Expr::val(0)]))
                .from("entity_counts")
                .and_where(Expr::col("tbl").eq(table(entity)))
                .and_where(Expr::col("tenant").eq(tenant.as_str()))
                .to_owned()
        } else {
            Query::select()
                .expr(Expr::col(sea_query::Asterisk).count())
                .from(table(entity))
                .cond_where(filter.clone())
                .to_owned()
        }
    });
    // A window is cut in SQL, in SQL's order. Every row (an export, which
    // holds its rows anyway) is sorted in process: no SQL sorter carrying
    // whole rows, and the planner is free to read through the filters' index.
    let sort_in_process = !residual && matches!(q.window, Window::All { .. });
    let order = |select: &mut SelectStatement| {
        for key in &q.sort {
            let Some(col) = column(key.index) else {
                continue;
            };
            let order = if key.descending {
                Order::Desc
            } else {
                Order::Asc
            };
            dialect.order_by(select, col, fields[key.index].1, order);
        }
        dialect.order_by(select, "id", FieldType::String, Order::Asc);
    };
    match q.window {
        // PostgreSQL: the window's ids first, then their rows. A scan
        // computes each row it passes up, and `OFFSET` passes up the rows
        // it skips: page 1,000 read and built 20,000 whole rows (their
        // `data` included) to return 20. The ids of the window, in the same
        // order, are read from the order's index alone (an index-only
        // scan), and only the window's rows from the table, by primary key,
        // ordered again. The same rows in the same order as one statement.
        Window::Range { offset, limit } if !residual && dialect == Dialect::Postgres => {
            let mut ids = Query::select();
            ids.column("id")
                .from(table(entity))
                .cond_where(filter.clone());
            order(&mut ids);
            ids.limit(limit).offset(offset);
            select.cond_where(
                filter
                    .clone()
                    .add(dialect::collate(Expr::col("id"), "C").in_subquery(ids)),
            );
            order(&mut select);
        }
        Window::Range { offset, limit } if !residual => {
            select.cond_where(filter.clone());
            order(&mut select);
            select.limit(limit).offset(offset);
        }
        Window::All { cap: Some(cap) } if !residual => {
            select.cond_where(filter.clone());
            select.limit(cap.saturating_add(1));
        }
        _ => {
            select.cond_where(filter.clone());
        }
    }
    Compiled {
        select,
        count,
        sources,
        reads_json,
        residual,
        sort_in_process,
    }
}

/// `SELECT col … WHERE conditions` for counting the distinct values of the
/// standard field at `index` (text fields read it from their index, which
/// holds it), or `None` when the field or a condition is not a column (the
/// caller then counts in process). PostgreSQL groups and counts in SQL
/// (`SELECT col, COUNT(*) … GROUP BY col`).
pub fn compile_value_counts(
    q: &EntityQuery,
    tenant: &TenantId,
    index: usize,
    dialect: Dialect,
) -> Option<SelectStatement> {
    let entity = q.entity;
    let fields = q.projection.fields();
    let col = column_of(entity, &fields[index].0)?;
    let mut filter = sea_query::Condition::all().add(Expr::col("tenant").eq(tenant.as_str()));
    for (i, c) in &q.conditions {
        filter = filter.add(condition(dialect, column_of(entity, &fields[*i].0)?, c));
    }
    let mut select = Query::select();
    select.column(col).from(table(entity)).cond_where(filter);
    if dialect == Dialect::Postgres {
        select
            .expr(Expr::col(sea_query::Asterisk).count())
            .group_by_col(col);
    }
    Some(select)
}

/// One condition, with [`Condition::matches`]'s meaning: empty cells match
/// only `isEmpty`, `notEquals`, `notIn` and `notContains`.
fn condition(dialect: Dialect, col: &'static str, c: &Condition) -> Expr {
    use Operator::*;
    let ty = c.field.field_type;
    let is_empty = dialect.empty(col, ty);
    let not_empty = || dialect.empty(col, ty).not();
    let value = |v: &Value| dialect.value(v);
    let values = |op: &Operand| -> Vec<sea_query::Value> {
        match op {
            Operand::One(v) => vec![value(v)],
            Operand::Many(vs) => vs.iter().map(value).collect(),
            _ => Vec::new(),
        }
    };
    let one = |op: &Operand| match op {
        Operand::One(v) => value(v),
        _ => sea_query::Value::Int(None),
    };
    let text = |test: TextTest| match c.operand() {
        Operand::One(Value::Text(n)) if ty == FieldType::String => dialect.text_test(test, col, n),
        _ => Expr::val(false),
    };
    let compared = || match ty {
        FieldType::String => dialect.lower(Expr::col(col)),
        _ => Expr::col(col),
    };
    let any_equal = || compared().is_in(values(c.operand()));
    // A cell equal to, or holding, a text operand that is not blank is not
    // blank either: the guard is left out, so an index on the lower-case
    // column answers the condition (and its count) alone.
    let blank_operand = match c.operand() {
        Operand::One(v) => v.is_empty(),
        Operand::Many(vs) => vs.iter().any(Value::is_empty),
        _ => true,
    };
    let guarded = |e: Expr| {
        if ty == FieldType::String && !blank_operand {
            e
        } else {
            not_empty().and(e)
        }
    };
    match c.operator {
        IsEmpty => is_empty,
        IsNotEmpty => not_empty(),
        Equals | In => guarded(any_equal()),
        NotEquals | NotIn => is_empty.or(any_equal().not()),
        Contains => guarded(text(TextTest::Contains)),
        NotContains => is_empty.or(text(TextTest::Contains).not()),
        StartsWith => guarded(text(TextTest::StartsWith)),
        EndsWith => guarded(text(TextTest::EndsWith)),
        GreaterThan => not_empty().and(Expr::col(col).gt(one(c.operand()))),
        GreaterThanOrEqual => not_empty().and(Expr::col(col).gte(one(c.operand()))),
        LessThan => not_empty().and(Expr::col(col).lt(one(c.operand()))),
        LessThanOrEqual => not_empty().and(Expr::col(col).lte(one(c.operand()))),
        Between => match c.operand() {
            Operand::Range(lo, hi) => not_empty().and(Expr::col(col).between(value(lo), value(hi))),
            _ => Expr::val(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{compile as compile_filters, FilterCondition, FilterContext};
    use crate::query::SortKey;
    use sea_query::SqliteQueryBuilder;

    fn query(filters: serde_json::Value) -> EntityQuery {
        let filters: Vec<FilterCondition> = serde_json::from_value(filters).unwrap();
        let ctx = FilterContext {
            entity: EntityKind::Contacts,
            custom_fields: &[],
            options: &[],
            timezone: chrono_tz::UTC,
        };
        let mut q = EntityQuery::new(EntityKind::Contacts);
        for c in compile_filters(&filters, &ctx).unwrap() {
            let i = q.projection.index_of(&c.field.key, c.field.field_type);
            q.conditions.push((i, c));
        }
        let created = q.projection.index_of("createdAt", FieldType::DateTime);
        q.sort = vec![SortKey {
            index: created,
            descending: true,
        }];
        q.window = Window::Range {
            offset: 40,
            limit: 20,
        };
        q.count = true;
        q
    }

    #[test]
    fn values_are_bound_never_written_into_the_statement() {
        // GIVEN a hostile text value
        let q = query(serde_json::json!([
            {"field": "firstName", "operator": "equals", "value": "x'); DROP TABLE contacts; --"}
        ]));
        // WHEN it is compiled
        let c = compile(&q, &TenantId::new("t'1"), Dialect::Sqlite);
        let (sql, values) = c.select.build(SqliteQueryBuilder);
        // THEN the statement holds placeholders and the values travel apart
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(!sql.contains("t'1"), "{sql}");
        assert_eq!(values.0.len(), 4, "{sql} {values:?}");
        assert_eq!(
            sql,
            r#"SELECT "id", "firstName", "createdAt" FROM "contacts" WHERE "tenant" = ? AND rs_lower("firstName") IN (?) ORDER BY "createdAt" DESC, "id" ASC LIMIT ? OFFSET ?"#
        );
        assert!(!c.residual);
        assert!(c.count.is_some());
    }

    #[test]
    fn postgres_gets_the_same_query_in_its_own_spelling() {
        // GIVEN a name search sorted by last name, then the default order
        let mut q = query(serde_json::json!([
            {"field": "firstName", "operator": "contains", "value": "Zo"},
            {"field": "isActive", "operator": "equals", "value": true}
        ]));
        let last = q.projection.index_of("paternalLastName", FieldType::String);
        q.sort.insert(
            0,
            SortKey {
                index: last,
                descending: false,
            },
        );
        let custom = q.projection.index_of(
            "custom:cf_00000000-0000-4000-8000-000000000001",
            FieldType::Number,
        );
        // WHEN it is compiled for PostgreSQL
        let c = compile(&q, &TenantId::new("t1"), Dialect::Postgres);
        let (sql, values) = c.select.build(sea_query::PostgresQueryBuilder);
        // THEN text is lower-cased by pg_unicode_fast and ordered byte-wise,
        // nulls go last, custom fields are read from jsonb, values are bound,
        // and the window's ids are cut first (conditions, order, LIMIT and
        // OFFSET), then their rows read and ordered again
        let inner = r#"SELECT "id" FROM "contacts" WHERE "tenant" = $6 AND strpos(lower("firstName" COLLATE "pg_unicode_fast"), $7) > $8 AND ((NOT "isActive" IS NULL) AND "isActive" IN ($9)) ORDER BY "paternalLastName" IS NULL OR btrim("paternalLastName", $10) = $11 ASC, lower((CASE WHEN ("paternalLastName" IS NULL OR btrim("paternalLastName", $12) = $13) THEN $14 ELSE "paternalLastName" END) COLLATE "pg_unicode_fast") COLLATE "C" ASC, (CASE WHEN ("paternalLastName" IS NULL OR btrim("paternalLastName", $15) = $16) THEN $17 ELSE "paternalLastName" END) COLLATE "C" ASC, "createdAt" DESC NULLS LAST, lower("id" COLLATE "pg_unicode_fast") COLLATE "C" ASC, "id" COLLATE "C" ASC LIMIT $18 OFFSET $19"#;
        assert_eq!(
            sql,
            [
                r#"SELECT "id", "firstName", "isActive", "createdAt", "paternalLastName", "data" -> $1 FROM "contacts" WHERE "tenant" = $2 AND strpos(lower("firstName" COLLATE "pg_unicode_fast"), $3) > $4 AND ((NOT "isActive" IS NULL) AND "isActive" IN ($5)) AND ("id" COLLATE "C") IN ("#,
                inner,
                r#") ORDER BY "paternalLastName" IS NULL OR btrim("paternalLastName", $20) = $21 ASC, lower((CASE WHEN ("paternalLastName" IS NULL OR btrim("paternalLastName", $22) = $23) THEN $24 ELSE "paternalLastName" END) COLLATE "pg_unicode_fast") COLLATE "C" ASC, (CASE WHEN ("paternalLastName" IS NULL OR btrim("paternalLastName", $25) = $26) THEN $27 ELSE "paternalLastName" END) COLLATE "C" ASC, "createdAt" DESC NULLS LAST, lower("id" COLLATE "pg_unicode_fast") COLLATE "C" ASC, "id" COLLATE "C" ASC"#,
            ]
            .concat()
        );
        assert_eq!(
            values.0[0],
            sea_query::Value::from("custom:cf_00000000-0000-4000-8000-000000000001")
        );
        assert_eq!(
            c.sources[custom],
            Source::JsonField(custom, FieldType::Number)
        );
        assert!(!c.residual && !c.reads_json);
    }

    #[test]
    fn custom_fields_are_left_to_the_evaluator() {
        // GIVEN a sort on a field that is not a standard column
        let mut q = query(serde_json::json!([]));
        let i = q.projection.index_of(
            "custom:cf_00000000-0000-4000-8000-000000000001",
            FieldType::Number,
        );
        q.sort.insert(
            0,
            SortKey {
                index: i,
                descending: false,
            },
        );
        // WHEN it is compiled
        let c = compile(&q, &TenantId::new("t1"), Dialect::Sqlite);
        let (sql, _) = c.select.build(SqliteQueryBuilder);
        // THEN the SQL reads the JSON, with no order, window or count
        assert!(c.residual && !c.reads_json && c.count.is_none());
        assert!(!sql.contains("ORDER BY") && !sql.contains("LIMIT"), "{sql}");
        assert_eq!(c.sources[i], Source::JsonField(i, FieldType::Number));
        assert!(sql.contains(r#""data" -> ?"#), "{sql}");
    }
}
