//! The state the consumer shares between its stages and between replicas: the dedupe
//! window, incidents, alert state and the Slack outbox. SQLite on one machine (the
//! embedded default); DynamoDB with conditional writes when replicas share a stream.

pub mod dynamodb;
pub mod sqlite;

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::incident::{FoldRules, Incident};

pub use dynamodb::DynamoStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored state does not decode: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("dynamodb: {0}")]
    DynamoDb(String),
    #[error("state directory: {0}")]
    Io(#[from] std::io::Error),
}

/// How long and how many event ids are remembered for dropping duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupeRules {
    pub window_ms: i64,
    pub capacity: u64,
}

/// What recording a batch of events did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    pub new: u64,
    pub duplicates: u64,
    pub incidents_opened: u64,
    /// New events counted into an incident that had already been alerted: they ride on the
    /// next update instead of sending a message of their own.
    pub folded_after_alert: u64,
}

/// The right to send one message for one incident, with the message to queue.
#[derive(Debug, Clone)]
pub struct AlertClaim {
    pub fingerprint: String,
    /// The incident generation the claim is for (its `opened_ms`).
    pub opened_ms: i64,
    /// `alert.sent` as read: the claim fails if another replica claimed meanwhile.
    pub expected_sent: u32,
    pub now_ms: i64,
    pub alerted_count: u64,
    pub alerted_pods: u32,
    /// Queued in the same write as the claim; `None` when no webhook is configured.
    pub message: Option<OutboxMessage>,
}

impl AlertClaim {
    /// Records the alert on `incident` when it is still the generation and send count the
    /// claim was made on; false when another replica claimed first (nothing is changed).
    pub fn apply_to(&self, incident: &mut Incident) -> bool {
        if incident.opened_ms != self.opened_ms || incident.alert.sent != self.expected_sent {
            return false;
        }
        incident.alert.sent += 1;
        incident.alert.last_sent_ms = Some(self.now_ms);
        incident.alert.alerted_count = self.alerted_count;
        incident.alert.alerted_pods = self.alerted_pods;
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Dead,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(OutboxStatus::Pending),
            "sent" => Some(OutboxStatus::Sent),
            "dead" => Some(OutboxStatus::Dead),
            _ => None,
        }
    }
}

/// One Slack message waiting for (or done with) delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Idempotency id: `<fingerprint>-<opened_ms>-<n>`, the same on every replica that
    /// could claim this message, so it is queued once.
    pub id: String,
    pub fingerprint: String,
    pub created_ms: i64,
    /// The webhook's JSON body.
    pub body: String,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Retry { at_ms: i64, error: String },
    Dead { error: String },
}

#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// Drops events whose id was seen within the dedupe window and folds the others into
    /// their incidents, as one durable write: a crash leaves either both or neither.
    async fn record_events(
        &self,
        events: &[Event],
        now_ms: i64,
        dedupe: &DedupeRules,
        fold: &FoldRules,
    ) -> Result<Recorded, StateError>;

    /// Every stored incident (the alert policy scans them).
    async fn incidents(&self) -> Result<Vec<Incident>, StateError>;

    /// Claims the right to send one message for an incident and queues the message, as one
    /// conditional write. `Ok(false)`: another replica claimed it first (or the incident
    /// was replaced by a newer one).
    async fn claim_alert(&self, claim: &AlertClaim) -> Result<bool, StateError>;

    /// Takes the next message due for delivery, if the global webhook rate allows one now:
    /// leases it for `lease_ms` (so no other sender takes it meanwhile) and reserves the
    /// next send slot `min_interval_ms` later.
    async fn next_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        min_interval_ms: i64,
    ) -> Result<Option<OutboxMessage>, StateError>;

    /// Holds every sender back until `until_ms` (Slack answered 429 for the webhook).
    async fn pause_webhook(&self, until_ms: i64) -> Result<(), StateError>;

    /// Records how a delivery attempt ended.
    async fn settle_outbox(&self, id: &str, delivery: &Delivery) -> Result<(), StateError>;

    /// Every outbox message (for reports and tests).
    async fn outbox(&self) -> Result<Vec<OutboxMessage>, StateError>;

    /// Forgets event ids outside the dedupe window (or beyond its capacity).
    async fn prune(&self, now_ms: i64, dedupe: &DedupeRules) -> Result<(), StateError>;
}
