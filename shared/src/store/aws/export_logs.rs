//! [`DynamoExportLogs`]: [`ExportLogStore`] over the Exports table.
//!
//! Items are `pk = T#{tenant}`, `sk = LOG#{id}`, `data` = the log's JSON (the
//! same text the embedded backend stores). A new log is written with
//! `attribute_not_exists(pk)`, so an id is never overwritten; an update is
//! a read followed by a put conditioned on `attribute_exists(pk)`, so it never
//! resurrects a deleted log.

use super::item::{self, string_attr, Item, DATA};
use crate::model::TenantId;
use crate::store::keys;
use crate::store::{ExportLog, ExportLogStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

/// Export logs in DynamoDB. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoExportLogs {
    client: Client,
    table: String,
}

impl DynamoExportLogs {
    /// Logs in `table` (the Exports table). Makes no request.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoExportLogs {
            client,
            table: table.into(),
        }
    }

    fn item(tenant: &TenantId, log: &ExportLog) -> Result<Item, StoreError> {
        let mut it = item::key(keys::tenant_pk(tenant), keys::export_log_sk(&log.id));
        let data = serde_json::to_string(log).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        it.insert(DATA.to_string(), AttributeValue::S(data));
        Ok(it)
    }

    async fn put(
        &self,
        tenant: &TenantId,
        log: &ExportLog,
        condition: &str,
    ) -> Result<(), SdkError<PutItemError>> {
        let it = match Self::item(tenant, log) {
            Ok(it) => it,
            Err(e) => return Err(SdkError::construction_failure(e)),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression(condition)
            .send()
            .await
            .map(|_| ())
    }
}

fn is_condition_failure(e: &SdkError<PutItemError>) -> bool {
    e.as_service_error()
        .is_some_and(PutItemError::is_conditional_check_failed_exception)
}

#[async_trait]
impl ExportLogStore for DynamoExportLogs {
    async fn put_log(&self, tenant: &TenantId, log: &ExportLog) -> Result<(), StoreError> {
        match self.put(tenant, log, "attribute_not_exists(pk)").await {
            Ok(()) => Ok(()),
            Err(e) if is_condition_failure(&e) => {
                Err(StoreError::AlreadyExists(keys::export_log_sk(&log.id)))
            }
            Err(e) => Err(StoreError::backend(format!("put {}", self.table), e)),
        }
    }

    async fn get_log(&self, tenant: &TenantId, id: &str) -> Result<Option<ExportLog>, StoreError> {
        let sk = keys::export_log_sk(id);
        item::get(&self.client, &self.table, keys::tenant_pk(tenant), &sk)
            .await?
            .as_ref()
            .map(|found| {
                let data = string_attr(found, DATA)?;
                serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))
            })
            .transpose()
    }

    async fn mark_exported(
        &self,
        tenant: &TenantId,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExportLog>, StoreError> {
        let Some(mut log) = self.get_log(tenant, id).await? else {
            return Ok(None);
        };
        log.export_at = at;
        log.updated_at = at;
        match self.put(tenant, &log, "attribute_exists(pk)").await {
            Ok(()) => Ok(Some(log)),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(StoreError::backend(format!("update {}", self.table), e)),
        }
    }
}
