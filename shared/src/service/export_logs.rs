//! The file of an export log: the contacts its filter selects, in a fixed
//! column set with headers in the user's language, through the tabular
//! export pipeline: a [`Plan`] of fixed columns, queried and rendered by
//! [`super::tabular::render`].

use super::error::ServiceError;
use super::plan::{load_tenant, Plan};
use super::tabular::{render, ExportOptions, OptionValues, Prepared, RenderedExport};
use crate::filter::FilterCondition;
use crate::model::{EntityKind, TenantId};
use crate::render::ExportFormat;
use crate::store::{EntitySource, TenantConfigStore};
use chrono::{DateTime, Utc};

/// The columns of every export-log file: (field, English header, Spanish header).
pub const COLUMNS: [(&str, &str, &str); 12] = [
    ("firstName", "First name", "Nombre"),
    ("middleName", "Middle name", "Segundo nombre"),
    ("paternalLastName", "Paternal last name", "Apellido paterno"),
    ("maternalLastName", "Maternal last name", "Apellido materno"),
    ("preferredEmail", "Email", "Correo electrónico"),
    ("phone", "Phone", "Teléfono"),
    ("stage", "Stage", "Etapa"),
    ("contactSource", "Source", "Origen"),
    ("segment", "Segment", "Segmento"),
    ("city", "City", "Ciudad"),
    ("country", "Country", "País"),
    ("createdAt", "Created", "Creado"),
];

/// The header language of a BCP 47 tag: Spanish for `es` and its regions,
/// English otherwise.
pub fn is_spanish(tag: Option<&str>) -> bool {
    tag.and_then(|t| t.split(['-', '_']).next())
        .is_some_and(|l| l.trim().eq_ignore_ascii_case("es"))
}

/// The fixed columns, `(field, header)`, with headers in the language of
/// `language`.
pub fn columns(language: Option<&str>) -> Vec<(&'static str, String)> {
    let spanish = is_spanish(language);
    COLUMNS
        .iter()
        .map(|(id, en, es)| (*id, if spanish { *es } else { *en }.to_string()))
        .collect()
}

/// What a log's download asks for.
#[derive(Debug, Clone)]
pub struct ContactsFile<'a> {
    /// The log's filters, already mapped onto the filter engine.
    pub filters: Vec<FilterCondition>,
    pub format: ExportFormat,
    /// The user's `Accept-Language`, if any.
    pub language: Option<&'a str>,
    /// The deployment's cap on the tenant's row limit (`EXPORTS_MAX_SYNC_ROWS`).
    pub max_rows: Option<u64>,
}

/// Renders the contacts `filters` select, newest first. Headers follow
/// `language` (the user's `Accept-Language`), falling back to the tenant's
/// locale; dates and numbers follow the tenant's locale and timezone. A
/// filter that selects nobody gives a header-only file. The name is
/// `contacts-YYYYMMDD.{csv|xlsx}` (UTC date of `now`).
///
/// # Errors
/// A client fault of [`ServiceError`] for a filter the engine rejects or a
/// result over the tenant's row limit; internal failures otherwise.
pub async fn render_contacts(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    file: ContactsFile<'_>,
    now: DateTime<Utc>,
) -> Result<RenderedExport, ServiceError> {
    let ContactsFile {
        filters,
        format,
        language,
        max_rows,
    } = file;
    let entity = EntityKind::Contacts;
    let view = load_tenant(config, tenant, entity).await?;
    let locale = view.locale(None)?;
    let timezone = view.timezone(None)?;
    // A stored filter keeps working after a stage it names is disabled.
    let conditions = view.conditions(entity, &filters, timezone, OptionValues::Stored)?;
    let headers = columns(language.or(view.default_locale.as_deref()));
    let plan = Plan::for_columns(entity, &headers, conditions, &view).map_err(|source| {
        ServiceError::Misconfigured {
            what: "the export-log columns",
            source,
        }
    })?;
    let prepared = Prepared {
        plan,
        locale,
        timezone,
        row_limit: view.row_limit,
    };
    let opts = ExportOptions {
        max_rows,
        allow_empty: true,
        option_values: OptionValues::Stored,
    };
    let mut file = render(entities, tenant, &prepared, format, opts).await?;
    file.filename = format!("contacts-{}.{}", now.format("%Y%m%d"), format.extension());
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_the_language() {
        assert!(is_spanish(Some("es-CL")));
        assert!(is_spanish(Some("ES")));
        assert!(!is_spanish(Some("en-US")));
        assert!(!is_spanish(None));
        assert_eq!(columns(Some("es"))[0].1, "Nombre");
        assert_eq!(columns(None)[11].1, "Created");
    }
}
