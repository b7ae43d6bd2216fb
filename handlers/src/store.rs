//! The `Connections` table: one item per open socket, found by user through `UserIdIndex`.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

/// The name of the GSI on `UserId`.
pub const USER_INDEX: &str = "UserIdIndex";

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRecord {
    pub connection_id: String,
    /// None until the socket has authorized (`action` mode); such records are
    /// not in `UserIdIndex`, so user notifications never reach them.
    pub user_id: Option<String>,
    /// Milliseconds since the epoch.
    pub connected_at: i64,
    pub authorized: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("connection store ({table}): {message}")]
pub struct StoreError {
    table: String,
    message: String,
}

#[derive(Clone)]
pub struct ConnectionStore {
    client: Client,
    table: String,
}

impl ConnectionStore {
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            table: table.into(),
        }
    }

    fn error(&self, e: impl std::error::Error) -> StoreError {
        StoreError {
            table: self.table.clone(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        }
    }

    pub async fn put(&self, record: &ConnectionRecord) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            (
                "ConnectionId".to_string(),
                AttributeValue::S(record.connection_id.clone()),
            ),
            (
                "ConnectedAt".to_string(),
                AttributeValue::N(record.connected_at.to_string()),
            ),
            (
                "Authorized".to_string(),
                AttributeValue::Bool(record.authorized),
            ),
        ]);
        if let Some(user) = &record.user_id {
            item.insert("UserId".into(), AttributeValue::S(user.clone()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Deletes a record; deleting one that is not there is fine.
    pub async fn delete(&self, connection_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("ConnectionId", AttributeValue::S(connection_id.into()))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    pub async fn get(&self, connection_id: &str) -> Result<Option<ConnectionRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("ConnectionId", AttributeValue::S(connection_id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(out.item.map(|item| {
            let s = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            ConnectionRecord {
                connection_id: s("ConnectionId"),
                user_id: item.get("UserId").and_then(|v| v.as_s().ok()).cloned(),
                // Records written before authorization existed count as authorized.
                authorized: item
                    .get("Authorized")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(true),
                connected_at: item
                    .get("ConnectedAt")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_default(),
            }
        }))
    }

    /// Marks a socket authorized as `user`; false when its record is gone (the socket closed).
    pub async fn authorize(&self, connection_id: &str, user: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("ConnectionId", AttributeValue::S(connection_id.into()))
            .update_expression("SET UserId = :u, Authorized = :t")
            .condition_expression("attribute_exists(ConnectionId)")
            .expression_attribute_values(":u", AttributeValue::S(user.into()))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// The ids of every connection of a user (all pages of the GSI query).
    pub async fn connections_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(USER_INDEX)
                .key_condition_expression("UserId = :u")
                .expression_attribute_values(":u", AttributeValue::S(user_id.into()))
                .projection_expression("ConnectionId")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.error(e))?;
            ids.extend(
                out.items()
                    .iter()
                    .filter_map(|i| i.get("ConnectionId")?.as_s().ok().cloned()),
            );
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(ids),
            }
        }
    }
}
