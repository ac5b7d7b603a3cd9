//! The file of an export log: the contacts its filter selects, in a fixed
//! column set with headers in the user's language, through the tabular
//! export pipeline ([`super::tabular::export_with`]).

use super::tabular::{export_with, ExportError, ExportOptions, OptionValues, RenderedExport};
use crate::api::tabular::{
    ColumnRequest, ExportFormat, SortDirection, SortRequest, TabularExportRequest, ViewState,
};
use crate::filter::FilterCondition;
use crate::model::{EntityKind, TenantId};
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

/// The fixed columns with headers in the language of `language`.
pub fn columns(language: Option<&str>) -> Vec<ColumnRequest> {
    let spanish = is_spanish(language);
    COLUMNS
        .iter()
        .map(|(id, en, es)| ColumnRequest {
            id: (*id).to_string(),
            label: Some(if spanish { *es } else { *en }.to_string()),
            custom: Some(false),
            field_type: None,
            form_uuid: None,
        })
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
/// [`ExportError::Client`] for a filter the engine rejects or a result over
/// the tenant's row limit; other variants for internal failures.
pub async fn render_contacts(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    file: ContactsFile<'_>,
    now: DateTime<Utc>,
) -> Result<RenderedExport, ExportError> {
    let ContactsFile {
        filters,
        format,
        language,
        max_rows,
    } = file;
    let tenant_locale = config.settings(tenant).await?.locale;
    let language = language.or(tenant_locale.as_deref());
    let req = TabularExportRequest {
        format,
        view_state: Some(ViewState {
            columns: Some(columns(language)),
            sort: Some(SortRequest {
                field: "createdAt".into(),
                direction: SortDirection::Desc,
            }),
        }),
        locale: None,
        timezone: None,
        filters: Some(filters),
        include_all_custom_fields: None,
        ui_screen_name: Some("export-logs".into()),
    };
    let mut file = export_with(
        entities,
        config,
        tenant,
        EntityKind::Contacts,
        &req,
        now,
        ExportOptions {
            max_rows,
            allow_empty: true,
            option_values: OptionValues::Stored,
        },
    )
    .await?;
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
        assert_eq!(
            columns(Some("es"))
                .first()
                .and_then(|c| c.label.clone())
                .as_deref(),
            Some("Nombre")
        );
        assert_eq!(
            columns(None)
                .last()
                .and_then(|c| c.label.clone())
                .as_deref(),
            Some("Created")
        );
    }
}
