//! The domain model: entities, the column registry, custom fields, tenants.

pub mod bulk;
pub mod columns;
pub mod custom;
pub mod entity;
pub mod projection;
pub mod record;
pub mod reference;
pub mod tenant;
pub mod value;

pub use columns::{resolve, ColumnError, ResolvedField, StandardColumn};
pub use custom::CustomFieldDef;
pub use entity::EntityKind;
pub use projection::Projection;
pub use record::Record;
pub use reference::{City, Country, Industry, PhoneCode, ReferenceData};
pub use tenant::{ConfigOption, OptionKind, TenantId, TenantSettings};
pub use value::{FieldType, Value, ValueError};
