//! The lease table in DynamoDB, shared by every replica of a cluster: each conditional
//! write is an `UpdateItem` whose `ConditionExpression` names the owner and counter the
//! caller knows, so a replica that lost a lease can no longer write to it.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;

use super::{LeaseStore, ShardLease};
use crate::SourceError;

/// Partition key of the table: `<stream>/<shard id>`, so streams can share a table.
const KEY: &str = "lease_key";

/// Leases of one stream in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoLeaseStore {
    client: Client,
    table: String,
    stream: String,
}

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn lease_error<E>(operation: &str, table: &str, err: SdkError<E>) -> SourceError
where
    E: std::error::Error + 'static,
{
    SourceError::Lease(format!(
        "DynamoDB {operation} on table {table}: {}",
        DisplayErrorContext(&err)
    ))
}

/// True when the write was refused because its condition did not hold.
fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

impl DynamoLeaseStore {
    pub fn new(client: Client, table: &str, stream_name: &str) -> Self {
        DynamoLeaseStore {
            client,
            table: table.to_string(),
            stream: stream_name.to_string(),
        }
    }

    fn key(&self, shard_id: &str) -> AttributeValue {
        s(format!("{}/{}", self.stream, shard_id))
    }

    /// Creates the table (on-demand capacity, key `lease_key`) unless it exists, and waits
    /// until it is active.
    pub async fn create_table_if_missing(&self) -> Result<(), SourceError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                let build =
                    |e: aws_sdk_dynamodb::error::BuildError| SourceError::Lease(e.to_string());
                let created = self
                    .client
                    .create_table()
                    .table_name(&self.table)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(KEY)
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .map_err(build)?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(KEY)
                            .key_type(KeyType::Hash)
                            .build()
                            .map_err(build)?,
                    )
                    .billing_mode(BillingMode::PayPerRequest)
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    // Another replica created it at the same moment.
                    Err(err)
                        if err
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_in_use_exception()) => {}
                    Err(err) => return Err(lease_error("CreateTable", &self.table, err)),
                }
            }
            Err(err) => return Err(lease_error("DescribeTable", &self.table, err)),
        }
        for _ in 0..120 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| lease_error("DescribeTable", &self.table, e))?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Err(SourceError::Lease(format!(
            "table {} did not become active within 60 s",
            self.table
        )))
    }

    fn lease_from_item(&self, item: &Item) -> Option<ShardLease> {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let number = |name: &str| match item.get(name) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
            _ => None,
        };
        let parents = match item.get("parent_shard_ids") {
            Some(AttributeValue::L(values)) => values
                .iter()
                .filter_map(|v| v.as_s().ok().cloned())
                .collect(),
            _ => Vec::new(),
        };
        Some(ShardLease {
            shard_id: text("shard_id")?,
            owner: text("lease_owner"),
            counter: number("lease_counter").unwrap_or(0).max(0) as u64,
            expires_at_ms: number("expires_at_ms").unwrap_or(0),
            checkpoint: text("checkpoint_sequence"),
            checkpoint_at_ms: number("checkpoint_at_ms"),
            parent_shard_ids: parents,
            finished: matches!(item.get("finished"), Some(AttributeValue::Bool(true))),
        })
    }

    /// One conditional `UpdateItem` on the lease held by `owner` with `counter`.
    async fn update_held(
        &self,
        operation: &str,
        shard_id: &str,
        owner: &str,
        counter: u64,
        update: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, SourceError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, self.key(shard_id))
            .update_expression(update)
            .condition_expression("lease_owner = :me AND lease_counter = :counter")
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":counter", n(counter));
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(lease_error(operation, &self.table, err)),
        }
    }
}

#[async_trait::async_trait]
impl LeaseStore for DynamoLeaseStore {
    async fn register(
        &self,
        shard_id: &str,
        parent_shard_ids: &[String],
    ) -> Result<(), SourceError> {
        let parents = parent_shard_ids.iter().map(s).collect();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, self.key(shard_id))
            .item("stream_name", s(&self.stream))
            .item("shard_id", s(shard_id))
            .item("lease_counter", n(0))
            .item("expires_at_ms", n(0))
            .item("parent_shard_ids", AttributeValue::L(parents))
            .item("finished", AttributeValue::Bool(false))
            .condition_expression("attribute_not_exists(lease_key)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(lease_error("PutItem", &self.table, err)),
        }
    }

    async fn leases(&self) -> Result<Vec<ShardLease>, SourceError> {
        let mut leases = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("stream_name = :stream")
                .expression_attribute_values(":stream", s(&self.stream))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| lease_error("Scan", &self.table, e))?;
            leases.extend(
                page.items()
                    .iter()
                    .filter_map(|item| self.lease_from_item(item)),
            );
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        leases.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
        Ok(leases)
    }

    async fn take(
        &self,
        observed: &ShardLease,
        owner: &str,
        expires_at_ms: i64,
    ) -> Result<Option<ShardLease>, SourceError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, self.key(&observed.shard_id))
            .update_expression(
                "SET lease_owner = :me, lease_counter = :next, expires_at_ms = :expires",
            )
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":next", n(observed.counter + 1))
            .expression_attribute_values(":expires", n(expires_at_ms))
            .expression_attribute_values(":counter", n(observed.counter))
            .expression_attribute_values(":seen_expiry", n(observed.expires_at_ms))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew);
        let same_lease =
            "lease_counter = :counter AND expires_at_ms = :seen_expiry AND finished = :false";
        request = match &observed.owner {
            Some(previous) => request
                .condition_expression(format!("{same_lease} AND lease_owner = :previous"))
                .expression_attribute_values(":previous", s(previous)),
            None => request.condition_expression(format!(
                "{same_lease} AND attribute_not_exists(lease_owner)"
            )),
        };
        match request.send().await {
            Ok(output) => Ok(output
                .attributes()
                .and_then(|item| self.lease_from_item(item))),
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(lease_error("UpdateItem (take)", &self.table, err)),
        }
    }

    async fn renew(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        expires_at_ms: i64,
    ) -> Result<bool, SourceError> {
        self.update_held(
            "UpdateItem (renew)",
            shard_id,
            owner,
            counter,
            "SET expires_at_ms = :expires",
            vec![(":expires", n(expires_at_ms))],
        )
        .await
    }

    async fn checkpoint(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        sequence_number: &str,
        at_ms: i64,
    ) -> Result<bool, SourceError> {
        self.update_held(
            "UpdateItem (checkpoint)",
            shard_id,
            owner,
            counter,
            "SET checkpoint_sequence = :sequence, checkpoint_at_ms = :at",
            vec![(":sequence", s(sequence_number)), (":at", n(at_ms))],
        )
        .await
    }

    async fn finish(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        at_ms: i64,
    ) -> Result<bool, SourceError> {
        self.update_held(
            "UpdateItem (finish)",
            shard_id,
            owner,
            counter,
            "SET finished = :true, expires_at_ms = :zero, checkpoint_at_ms = :at REMOVE lease_owner",
            vec![(":true", AttributeValue::Bool(true)), (":zero", n(0)), (":at", n(at_ms))],
        )
        .await
    }

    async fn release(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
    ) -> Result<bool, SourceError> {
        self.update_held(
            "UpdateItem (release)",
            shard_id,
            owner,
            counter,
            "SET expires_at_ms = :zero REMOVE lease_owner",
            vec![(":zero", n(0))],
        )
        .await
    }
}
