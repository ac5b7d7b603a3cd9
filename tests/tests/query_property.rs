//! The pushdown property: for any records, filters, sorts and window, the
//! embedded store's SQL answer equals the in-process reference's answer
//! (`EntitySource::query`'s default, over a source that only pages), rows
//! and order, total and value counts.
//!
//! Records mix every field type with nulls, empty and blank strings,
//! accents, mixed case, values that do not fit their column, equal sort
//! keys, and custom fields (which SQL leaves to the in-process evaluator).

use async_trait::async_trait;
use exports_shared::filter::{self, FilterCondition, FilterContext};
use exports_shared::model::columns::standard_columns;
use exports_shared::model::{CustomFieldDef, EntityKind, FieldType, Record, TenantId};
use exports_shared::query::{EntityQuery, SortKey, Window};
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::{EntitySource, EntityWriter, Page, PageCursor, StoreError};
use proptest::prelude::*;
use serde_json::{json, Value as Json};

const CF_SCORE: &str = "00000000-0000-4000-8000-00000000000a";
const CF_NOTE: &str = "00000000-0000-4000-8000-00000000000b";

fn custom_fields() -> Vec<CustomFieldDef> {
    [
        (CF_SCORE, "score", FieldType::Number),
        (CF_NOTE, "note", FieldType::String),
    ]
    .into_iter()
    .map(|(uuid, key, field_type)| CustomFieldDef {
        uuid: uuid.into(),
        entity: EntityKind::Contacts,
        key: key.into(),
        label: key.into(),
        field_type,
        form_uuid: None,
    })
    .collect()
}

/// A source that can only page through records in the order it was given:
/// every query it answers goes through the in-process reference.
struct Reference(Vec<Record>);

#[async_trait]
impl EntitySource for Reference {
    async fn page(
        &self,
        _tenant: &TenantId,
        _entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let start: usize =
            cursor.map_or(Ok(0), |c| c.0.parse().map_err(|_| StoreError::BadCursor))?;
        let end = (start + limit.max(1)).min(self.0.len());
        Ok(Page {
            records: self.0[start..end].to_vec(),
            next: (end < self.0.len()).then(|| PageCursor(end.to_string())),
        })
    }
}

const TEXTS: &[&str] = &[
    "ana",
    "Ana",
    "ÁNA",
    "ánia",
    "Zoë",
    "zoe",
    "",
    "  ",
    "Ølaf",
    "ß",
    "ẞ",
    "İstanbul",
    "ΣΊΣΥΦΟΣ",
    "σίσυφος",
    "b",
    "B",
    "a b",
    "=1+1",
    "lead",
    "LEAD",
    "Lead",
];

fn text() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => prop::sample::select(TEXTS).prop_map(|s| json!(s)),
        1 => Just(Json::Null),
        1 => (0i64..3).prop_map(|n| json!(n)),
    ]
}

fn number() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => (-4i64..5).prop_map(|n| json!(n as f64 * 0.5)),
        1 => Just(Json::Null),
        1 => (1i64..3).prop_map(|n| json!(format!("{n}.5"))),
        1 => Just(json!("not a number")),
    ]
}

fn boolean() -> impl Strategy<Value = Json> {
    prop_oneof![
        3 => any::<bool>().prop_map(|b| json!(b)),
        1 => Just(Json::Null),
        1 => Just(json!("TRUE")),
        1 => Just(json!("yes")),
    ]
}

fn date() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => (1u32..4).prop_map(|d| json!(format!("2020-01-0{d}"))),
        1 => Just(Json::Null),
        1 => Just(json!("31/01/2020")),
    ]
}

fn date_time() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => (0u32..3).prop_map(|s| json!(format!("2026-01-01T00:00:0{s}Z"))),
        // The same instant as 00:00:00Z, written with an offset.
        1 => Just(json!("2026-01-01T01:00:00+01:00")),
        1 => Just(json!("2026-01-01T00:00:01.5Z")),
        1 => Just(Json::Null),
    ]
}

fn value_of(ty: FieldType) -> BoxedStrategy<Json> {
    match ty {
        FieldType::String => text().boxed(),
        FieldType::Number => number().boxed(),
        FieldType::Boolean => boolean().boxed(),
        FieldType::Date => date().boxed(),
        FieldType::DateTime => date_time().boxed(),
    }
}

/// Every field a record may hold: the standard contact columns but the id,
/// and the custom fields.
fn fields() -> Vec<(String, FieldType)> {
    let mut out: Vec<(String, FieldType)> = standard_columns(EntityKind::Contacts)
        .iter()
        .filter(|c| c.id != "id")
        .map(|c| (c.id.to_string(), c.field_type))
        .collect();
    for d in custom_fields() {
        out.push((d.storage_key(), d.field_type));
    }
    out
}

fn record(i: usize) -> BoxedStrategy<Record> {
    let strategies: Vec<BoxedStrategy<(String, Json)>> = fields()
        .into_iter()
        .map(|(key, ty)| value_of(ty).prop_map(move |v| (key.clone(), v)).boxed())
        .collect();
    (strategies, prop::collection::vec(any::<bool>(), 1))
        .prop_map(move |(pairs, upper)| {
            let map = pairs
                .into_iter()
                .filter(|(_, v)| !v.is_null() || i.is_multiple_of(2))
                .collect();
            let id = if upper[0] {
                format!("C-{i:03}")
            } else {
                format!("c-{i:03}")
            };
            Record::new(id, map)
        })
        .boxed()
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    (0usize..40).prop_flat_map(|n| (0..n).map(record).collect::<Vec<_>>())
}

const OPERATORS: &[&str] = &[
    "equals",
    "notEquals",
    "in",
    "notIn",
    "contains",
    "notContains",
    "startsWith",
    "endsWith",
    "greaterThan",
    "greaterThanOrEqual",
    "lessThan",
    "lessThanOrEqual",
    "between",
    "isEmpty",
    "isNotEmpty",
];

fn condition() -> impl Strategy<Value = FilterCondition> {
    let all = fields();
    (prop::sample::select(all), prop::sample::select(OPERATORS)).prop_flat_map(|((key, ty), op)| {
        let field = key.clone();
        let one = value_of(ty);
        let many = prop::collection::vec(value_of(ty), 1..4);
        (Just(field), Just(op), one, many).prop_map(|(field, op, one, many)| {
            let (value, values) = match op {
                "isEmpty" | "isNotEmpty" => (None, None),
                "in" | "notIn" => (None, Some(many)),
                "between" => (None, Some(many.into_iter().cycle().take(2).collect())),
                _ => (Some(one), None),
            };
            FilterCondition {
                field,
                operator: op.to_string(),
                value,
                values,
            }
        })
    })
}

#[derive(Debug, Clone)]
struct Case {
    records: Vec<Record>,
    filters: Vec<FilterCondition>,
    sort: Vec<(String, bool)>,
    window: Window,
    counted: String,
}

fn case() -> impl Strategy<Value = Case> {
    let sort_fields: Vec<String> = fields()
        .into_iter()
        .map(|(k, _)| k)
        .chain(["id".to_string()])
        .collect();
    (
        records(),
        prop::collection::vec(condition(), 0..3),
        prop::collection::vec(
            (prop::sample::select(sort_fields.clone()), any::<bool>()),
            0..3,
        ),
        prop_oneof![
            (0u64..30, 1u64..15).prop_map(|(offset, limit)| Window::Range { offset, limit }),
            Just(Window::All { cap: None }),
            (0u64..40).prop_map(|c| Window::All { cap: Some(c) }),
        ],
        prop::sample::select(sort_fields),
    )
        .prop_map(|(records, filters, sort, window, counted)| Case {
            records,
            filters,
            sort,
            window,
            counted,
        })
}

/// The query of a case, with those of its filters that compile (a filter
/// generated with an operand its field's type refuses is dropped).
fn query(case: &Case) -> Option<EntityQuery> {
    let defs = custom_fields();
    let ctx = FilterContext {
        entity: EntityKind::Contacts,
        custom_fields: &defs,
        options: &[],
        timezone: chrono_tz::UTC,
    };
    let conditions: Vec<_> = case
        .filters
        .iter()
        .filter_map(|f| filter::compile(std::slice::from_ref(f), &ctx).ok())
        .flatten()
        .collect();
    let mut q = EntityQuery::new(EntityKind::Contacts);
    for (key, ty) in fields() {
        q.projection.index_of(&key, ty);
    }
    for c in conditions {
        let i = q.projection.index_of(&c.field.key, c.field.field_type);
        q.conditions.push((i, c));
    }
    for (key, descending) in &case.sort {
        let ty = fields()
            .into_iter()
            .find(|(k, _)| k == key)
            .map_or(FieldType::String, |(_, t)| t);
        let index = q.projection.index_of(key, ty);
        q.sort.push(SortKey {
            index,
            descending: *descending,
        });
    }
    q.window = case.window;
    q.count = true;
    Some(q)
}

fn sorted(mut counts: Vec<(exports_shared::model::Value, u64)>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = counts
        .drain(..)
        .map(|(v, n)| (v.to_json().to_string(), n))
        .collect();
    out.sort();
    out
}

/// Puts a case's records into `store` under a fresh tenant (and a copy
/// under another tenant, which must never come back), asks the store and
/// the reference the case's query, and compares the answers.
async fn check<S: EntitySource + EntityWriter>(
    store: &S,
    case: &Case,
) -> Result<(), TestCaseError> {
    let Some(q) = query(case) else {
        return Ok(());
    };
    let tenant = TenantId::new(format!("prop-{}", uuid::Uuid::new_v4()));
    let other = TenantId::new(format!("other-{}", uuid::Uuid::new_v4()));
    for t in [&other, &tenant] {
        store
            .put_records(t, EntityKind::Contacts, case.records.clone())
            .await
            .expect("put");
    }
    let reference = Reference(case.records.clone());
    let counted = q
        .projection
        .fields()
        .iter()
        .position(|(k, _)| *k == case.counted)
        .unwrap_or(0);
    let store_answer = store.query(&tenant, &q).await.expect("store query");
    let reference_answer = reference.query(&tenant, &q).await.expect("reference query");
    let store_counts = store
        .count_values(&tenant, &q, counted)
        .await
        .expect("store counts");
    let reference_counts = reference
        .count_values(&tenant, &q, counted)
        .await
        .expect("reference counts");
    match q.window {
        // Past the cap the rows are any cap + 1 of the selected ones.
        Window::All { cap: Some(cap) } if reference_answer.rows.len() as u64 > cap => {
            prop_assert_eq!(store_answer.rows.len(), reference_answer.rows.len());
        }
        _ => {
            let ids = |rows: &[Vec<exports_shared::model::Value>]| -> Vec<String> {
                rows.iter().map(|r| format!("{:?}", r[0])).collect()
            };
            prop_assert_eq!(
                ids(&store_answer.rows),
                ids(&reference_answer.rows),
                "sort {:?} filters {:?} window {:?}",
                case.sort,
                case.filters,
                case.window
            );
            prop_assert_eq!(&store_answer.rows, &reference_answer.rows);
        }
    }
    prop_assert_eq!(store_answer.total, reference_answer.total);
    prop_assert_eq!(sorted(store_counts), sorted(reference_counts));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// SQLite: a fresh store per case.
    #[test]
    fn the_embedded_store_answers_every_query_as_the_reference_does(case in case()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = EmbeddedStore::open(dir.path()).expect("open");
            check(&store, &case).await
        })?;
    }
}

/// PostgreSQL: one schema, a fresh tenant per case. Skipped with
/// `EXPORTS_SKIP_PG=1`.
#[test]
fn the_postgresql_source_answers_every_query_as_the_reference_does() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(store) = rt.block_on(exports_tests::postgres::pg_store()) else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 500,
        ..ProptestConfig::default()
    });
    let result = runner.run(&case(), |case| rt.block_on(check(&store, &case)));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// DynamoDB on moto: one set of tables, a fresh tenant per case; fewer
/// cases, each is many requests. Skipped with `EXPORTS_SKIP_AWS=1`.
#[test]
fn the_dynamodb_store_answers_every_query_as_the_reference_does() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(backend) = rt.block_on(exports_tests::backends::aws()) else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 40,
        ..ProptestConfig::default()
    });
    let result = runner.run(&case(), |case| rt.block_on(check(backend.get(), &case)));
    if let Err(e) = result {
        panic!("{e}");
    }
}
