//! The shared state store for replicas: DynamoDB tables `<prefix>-dedupe`,
//! `<prefix>-incidents` and `<prefix>-outbox`. Every change is conditional: an incident
//! is rewritten only at the revision it was read at, and recording events, claiming an
//! alert and taking a message are each one `TransactWriteItems`.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use super::{
    AlertClaim, DedupeRules, Delivery, OutboxMessage, OutboxStatus, Recorded, StateError,
    StateStore,
};
use crate::event::Event;
use crate::incident::{FoldRules, Folded, Incident};

/// The outbox item that holds the global webhook send slot.
const RATE_ITEM: &str = "#webhook-rate";
/// DynamoDB allows 100 items per transaction; one is the incident.
const IDS_PER_TRANSACTION: usize = 99;
/// Conflicting writers retry this often before the batch is failed (and retried whole).
const MAX_CONFLICTS: usize = 50;

pub struct DynamoStore {
    client: Client,
    dedupe: String,
    incidents: String,
    outbox: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn err(e: impl std::error::Error + Send + Sync + 'static) -> StateError {
    StateError::DynamoDb(DisplayErrorContext(e).to_string())
}

fn get_s(item: &HashMap<String, AttributeValue>, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Which items of a cancelled transaction failed their condition; `None` for any other error.
fn failed_conditions(e: &SdkError<TransactWriteItemsError>) -> Option<Vec<bool>> {
    let TransactWriteItemsError::TransactionCanceledException(c) = e.as_service_error()? else {
        return None;
    };
    Some(
        c.cancellation_reasons()
            .iter()
            .map(|r| r.code() == Some("ConditionalCheckFailed"))
            .collect(),
    )
}

impl DynamoStore {
    pub fn new(client: Client, table_prefix: &str) -> Self {
        Self {
            client,
            dedupe: format!("{table_prefix}-dedupe"),
            incidents: format!("{table_prefix}-incidents"),
            outbox: format!("{table_prefix}-outbox"),
        }
    }

    /// Creates the three tables (on-demand capacity) where they do not exist yet.
    pub async fn create_tables_if_missing(&self) -> Result<(), StateError> {
        for (table, key) in [
            (&self.dedupe, "event_id"),
            (&self.incidents, "fingerprint"),
            (&self.outbox, "id"),
        ] {
            if self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .is_ok()
            {
                continue;
            }
            let created = self
                .client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(key)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(err)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(key)
                        .key_type(KeyType::Hash)
                        .build()
                        .map_err(err)?,
                )
                .send()
                .await;
            if let Err(e) = created {
                // Another replica created it at the same moment: fine.
                let in_use = e
                    .as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception());
                if !in_use {
                    return Err(err(e));
                }
            }
        }
        Ok(())
    }

    async fn load(&self, fingerprint: &str) -> Result<Option<(Incident, i64)>, StateError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.incidents)
            .key("fingerprint", s(fingerprint))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        let Some(item) = got.item() else {
            return Ok(None);
        };
        Self::incident_from(item).map(Some)
    }

    fn incident_from(
        item: &HashMap<String, AttributeValue>,
    ) -> Result<(Incident, i64), StateError> {
        let body = get_s(item, "body").unwrap_or_default();
        let revision = get_n(item, "revision").unwrap_or(0);
        Ok((serde_json::from_str(&body)?, revision))
    }

    /// A conditional write of the incident at `revision` (0 = it must not exist yet).
    fn put_incident(
        &self,
        incident: &Incident,
        revision: i64,
    ) -> Result<TransactWriteItem, StateError> {
        let mut put = Put::builder()
            .table_name(&self.incidents)
            .item("fingerprint", s(&incident.fingerprint))
            .item("body", s(serde_json::to_string(incident)?))
            .item("revision", n(revision + 1));
        put = if revision == 0 {
            put.condition_expression("attribute_not_exists(fingerprint)")
        } else {
            put.condition_expression("revision = :r")
                .expression_attribute_values(":r", n(revision))
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(err)?)
            .build())
    }

    fn put_seen(
        &self,
        id: &str,
        now_ms: i64,
        rules: &DedupeRules,
    ) -> Result<TransactWriteItem, StateError> {
        let put = Put::builder()
            .table_name(&self.dedupe)
            .item("event_id", s(id))
            .item("seen_ms", n(now_ms))
            // For a table TTL on `expires` (epoch seconds), if the operator enables one.
            .item("expires", n((now_ms + rules.window_ms) / 1000 + 1))
            .condition_expression("attribute_not_exists(event_id) OR seen_ms < :expired")
            .expression_attribute_values(":expired", n(now_ms - rules.window_ms))
            .build()
            .map_err(err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Records the events of one fingerprint (at most `IDS_PER_TRANSACTION`, distinct ids).
    async fn record_group(
        &self,
        events: &[&Event],
        now_ms: i64,
        dedupe: &DedupeRules,
        fold: &FoldRules,
        recorded: &mut Recorded,
    ) -> Result<(), StateError> {
        let mut pending: Vec<&Event> = events.to_vec();
        for _ in 0..MAX_CONFLICTS {
            if pending.is_empty() {
                return Ok(());
            }
            let stored = self.load(&pending[0].fingerprint).await?;
            let revision = stored.as_ref().map_or(0, |(_, r)| *r);
            let mut tally = Recorded::default();
            let mut incident = stored.map(|(i, _)| i);
            for event in &pending {
                tally.new += 1;
                match incident.as_mut() {
                    None => {
                        incident = Some(Incident::open(event, now_ms, fold));
                        tally.incidents_opened += 1;
                    }
                    Some(inc) => match inc.fold(event, now_ms, fold) {
                        Folded::Opened => tally.incidents_opened += 1,
                        Folded::Counted => {}
                        Folded::CountedAfterAlert => tally.folded_after_alert += 1,
                    },
                }
            }
            let Some(incident) = incident else {
                return Ok(());
            };
            let mut items = Vec::with_capacity(pending.len() + 1);
            for event in &pending {
                items.push(self.put_seen(&event.event_id, now_ms, dedupe)?);
            }
            items.push(self.put_incident(&incident, revision)?);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => {
                    recorded.new += tally.new;
                    recorded.incidents_opened += tally.incidents_opened;
                    recorded.folded_after_alert += tally.folded_after_alert;
                    return Ok(());
                }
                Err(e) => {
                    let Some(failed) = failed_conditions(&e) else {
                        return Err(err(e));
                    };
                    // Ids that failed their condition were seen already: duplicates. A
                    // failed incident condition means another writer got there first:
                    // read it again and refold.
                    let before = pending.len();
                    pending = pending
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !failed.get(*i).copied().unwrap_or(false))
                        .map(|(_, e)| e)
                        .collect();
                    recorded.duplicates += (before - pending.len()) as u64;
                }
            }
        }
        Err(StateError::DynamoDb(format!(
            "incident {} kept changing under {MAX_CONFLICTS} attempts",
            events[0].fingerprint
        )))
    }

    fn message_from(item: &HashMap<String, AttributeValue>) -> Option<(OutboxMessage, i64)> {
        let message = OutboxMessage {
            id: get_s(item, "id")?,
            fingerprint: get_s(item, "fingerprint")?,
            created_ms: get_n(item, "created_ms")?,
            body: get_s(item, "body")?,
            status: OutboxStatus::parse(&get_s(item, "status")?)?,
            attempts: get_n(item, "attempts")? as u32,
            next_attempt_ms: get_n(item, "next_attempt_ms")?,
            last_error: get_s(item, "last_error"),
        };
        Some((message, get_n(item, "lease_until_ms").unwrap_or(0)))
    }

    /// Every item of `table`, page by page, read consistently.
    async fn scan_all(
        &self,
        table: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StateError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            out.extend(page.map_err(err)?.items().iter().cloned());
        }
        Ok(out)
    }

    /// The outbox's messages with their lease, without the rate item. An item that does
    /// not decode (a status this version does not know) is named in the log and left where
    /// it is, so one bad item cannot stall the others.
    async fn scan_outbox(&self) -> Result<Vec<(OutboxMessage, i64)>, StateError> {
        let mut out = Vec::new();
        for item in self.scan_all(&self.outbox).await? {
            let id = get_s(&item, "id").unwrap_or_default();
            if id == RATE_ITEM {
                continue;
            }
            match Self::message_from(&item) {
                Some(m) => out.push(m),
                None => {
                    tracing::warn!(table = %self.outbox, id = %id, "outbox item does not decode; left unsent")
                }
            }
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl StateStore for DynamoStore {
    async fn record_events(
        &self,
        events: &[Event],
        now_ms: i64,
        dedupe: &DedupeRules,
        fold: &FoldRules,
    ) -> Result<Recorded, StateError> {
        let mut recorded = Recorded::default();
        let mut seen_in_batch = HashSet::new();
        let mut groups: HashMap<&str, Vec<&Event>> = HashMap::new();
        for event in events {
            if !seen_in_batch.insert(event.event_id.as_str()) {
                recorded.duplicates += 1;
                continue;
            }
            groups
                .entry(event.fingerprint.as_str())
                .or_default()
                .push(event);
        }
        for group in groups.values() {
            for chunk in group.chunks(IDS_PER_TRANSACTION) {
                self.record_group(chunk, now_ms, dedupe, fold, &mut recorded)
                    .await?;
            }
        }
        Ok(recorded)
    }

    async fn incidents(&self) -> Result<Vec<Incident>, StateError> {
        let mut out = Vec::new();
        for item in self.scan_all(&self.incidents).await? {
            out.push(Self::incident_from(&item)?.0);
        }
        out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        Ok(out)
    }

    async fn claim_alert(&self, claim: &AlertClaim) -> Result<bool, StateError> {
        for _ in 0..MAX_CONFLICTS {
            let Some((mut incident, revision)) = self.load(&claim.fingerprint).await? else {
                return Ok(false);
            };
            if !claim.apply_to(&mut incident) {
                return Ok(false);
            }
            let mut items = vec![self.put_incident(&incident, revision)?];
            if let Some(m) = &claim.message {
                let mut put = Put::builder()
                    .table_name(&self.outbox)
                    .item("id", s(&m.id))
                    .item("fingerprint", s(&m.fingerprint))
                    .item("created_ms", n(m.created_ms))
                    .item("body", s(&m.body))
                    .item("status", s(m.status.as_str()))
                    .item("attempts", n(m.attempts))
                    .item("next_attempt_ms", n(m.next_attempt_ms))
                    .item("lease_until_ms", n(0))
                    .condition_expression("attribute_not_exists(id)");
                if let Some(e) = &m.last_error {
                    put = put.item("last_error", s(e));
                }
                items.push(
                    TransactWriteItem::builder()
                        .put(put.build().map_err(err)?)
                        .build(),
                );
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(true),
                Err(e) => match failed_conditions(&e) {
                    // The message exists already: this claim was made before.
                    Some(failed) if failed.get(1).copied().unwrap_or(false) => return Ok(false),
                    // The incident moved on (events folded in, or another claim): look again.
                    Some(_) => continue,
                    None => return Err(err(e)),
                },
            }
        }
        Ok(false)
    }

    async fn next_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        min_interval_ms: i64,
    ) -> Result<Option<OutboxMessage>, StateError> {
        let mut due: Vec<(OutboxMessage, i64)> = self
            .scan_outbox()
            .await?
            .into_iter()
            .filter(|(m, lease)| {
                m.status == OutboxStatus::Pending && m.next_attempt_ms <= now_ms && *lease <= now_ms
            })
            .collect();
        due.sort_by(|a, b| {
            (a.0.next_attempt_ms, a.0.created_ms, &a.0.id).cmp(&(
                b.0.next_attempt_ms,
                b.0.created_ms,
                &b.0.id,
            ))
        });
        let Some((mut message, _)) = due.into_iter().next() else {
            return Ok(None);
        };
        let rate = Update::builder()
            .table_name(&self.outbox)
            .key("id", s(RATE_ITEM))
            .update_expression("SET next_send_ms = :next")
            .condition_expression("attribute_not_exists(next_send_ms) OR next_send_ms <= :now")
            .expression_attribute_values(":next", n(now_ms + min_interval_ms))
            .expression_attribute_values(":now", n(now_ms))
            .build()
            .map_err(err)?;
        let take = Update::builder()
            .table_name(&self.outbox)
            .key("id", s(&message.id))
            .update_expression("SET lease_until_ms = :lease, attempts = attempts + :one")
            .condition_expression("#st = :pending AND lease_until_ms <= :now")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":lease", n(now_ms + lease_ms))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now_ms))
            .build()
            .map_err(err)?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(rate).build())
            .transact_items(TransactWriteItem::builder().update(take).build())
            .send()
            .await;
        match sent {
            Ok(_) => {
                message.attempts += 1;
                Ok(Some(message))
            }
            Err(e) if failed_conditions(&e).is_some() => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn pause_webhook(&self, until_ms: i64) -> Result<(), StateError> {
        let paused = self
            .client
            .update_item()
            .table_name(&self.outbox)
            .key("id", s(RATE_ITEM))
            .update_expression("SET next_send_ms = :until")
            .condition_expression("attribute_not_exists(next_send_ms) OR next_send_ms < :until")
            .expression_attribute_values(":until", n(until_ms))
            .send()
            .await;
        match paused {
            Ok(_) => Ok(()),
            // Already paused at least as long.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn settle_outbox(&self, id: &str, delivery: &Delivery) -> Result<(), StateError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.outbox)
            .key("id", s(id));
        let update = match delivery {
            Delivery::Sent => update
                .update_expression("SET #st = :sent, lease_until_ms = :zero REMOVE last_error")
                .expression_attribute_values(":sent", s("sent")),
            Delivery::Retry { at_ms, error } => update
                .update_expression(
                    "SET next_attempt_ms = :at, lease_until_ms = :zero, last_error = :e",
                )
                .expression_attribute_values(":at", n(at_ms))
                .expression_attribute_values(":e", s(error)),
            Delivery::Dead { error } => update
                .update_expression("SET #st = :dead, lease_until_ms = :zero, last_error = :e")
                .expression_attribute_values(":dead", s("dead"))
                .expression_attribute_values(":e", s(error)),
        };
        let update = update.expression_attribute_values(":zero", n(0));
        let update = if matches!(delivery, Delivery::Retry { .. }) {
            update
        } else {
            update.expression_attribute_names("#st", "status")
        };
        update.send().await.map_err(err)?;
        Ok(())
    }

    async fn outbox(&self) -> Result<Vec<OutboxMessage>, StateError> {
        let mut out: Vec<OutboxMessage> = self
            .scan_outbox()
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(out)
    }

    async fn prune(&self, _now_ms: i64, _dedupe: &DedupeRules) -> Result<(), StateError> {
        // Expired ids already count as unseen (the write condition compares `seen_ms`);
        // removing them is the table TTL's job (attribute `expires`).
        Ok(())
    }
}
