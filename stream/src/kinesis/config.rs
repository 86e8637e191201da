//! What a user can set for the Kinesis source. Every field's doc comment is the user
//! documentation of that setting, with its default and unit.

use std::sync::Arc;
use std::time::Duration;

use crate::{Clock, LeaseStoreConfig, SourceError, SystemClock};

/// Where reading starts in a shard that has no checkpoint yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialPosition {
    /// The oldest record still in the stream (nothing is missed). The default.
    #[default]
    TrimHorizon,
    /// Only records written after the shard is first read.
    Latest,
}

/// Settings of [`KinesisSource`](super::KinesisSource). Build with
/// [`KinesisConfig::new`] and override fields with struct-update syntax.
#[derive(Debug, Clone)]
pub struct KinesisConfig {
    /// Name of the Kinesis data stream. Required.
    pub stream_name: String,
    /// Kinesis endpoint override (moto, LocalStack); `None` = the region's AWS endpoint.
    pub endpoint_url: Option<String>,
    /// AWS region; `None` = the default chain (`AWS_REGION`, profile, instance metadata).
    pub region: Option<String>,
    /// This replica's name in the lease table; unique per running process (e.g. the pod
    /// name). Required.
    pub worker_id: String,
    /// Where leases and checkpoints live. Required.
    pub lease_store: LeaseStoreConfig,
    /// Wait before polling a shard again after an empty `GetRecords`. Default: 1 s.
    /// (After a non-empty one the wait is 200 ms, or longer to stay under 2 MiB/s.)
    pub poll_interval: Duration,
    /// `Limit` of one `GetRecords` call, 1..=10000. Default: 10000.
    pub max_records_per_call: i32,
    /// How long a lease stays valid without renewal; a dead replica's shards are taken
    /// over this long after its last renewal. Renewals happen every third of it.
    /// Default: 10 s.
    pub lease_duration: Duration,
    /// How often this replica looks for free, expired or unbalanced leases to take.
    /// Default: 5 s.
    pub lease_take_interval: Duration,
    /// How often the shard list is read again (`ListShards`) to find shards created by
    /// resharding. A shard reaching its end also triggers a re-read. Default: 60 s.
    pub shard_sync_interval: Duration,
    /// Most shards this replica holds at once; `None` = its fair share only
    /// (ceil(shards / live replicas)). Default: `None`.
    pub max_leases: Option<usize>,
    /// Where a shard without checkpoint starts. Default: `TrimHorizon`.
    pub initial_position: InitialPosition,
    /// Wall clock for lease expiry (tests inject a [`ManualClock`](crate::ManualClock)).
    /// Default: the system clock.
    pub clock: Arc<dyn Clock>,
}

impl KinesisConfig {
    /// Settings with every default filled in.
    pub fn new(stream_name: &str, worker_id: &str, lease_store: LeaseStoreConfig) -> Self {
        KinesisConfig {
            stream_name: stream_name.to_string(),
            endpoint_url: None,
            region: None,
            worker_id: worker_id.to_string(),
            lease_store,
            poll_interval: Duration::from_secs(1),
            max_records_per_call: 10_000,
            lease_duration: Duration::from_secs(10),
            lease_take_interval: Duration::from_secs(5),
            shard_sync_interval: Duration::from_secs(60),
            max_leases: None,
            initial_position: InitialPosition::TrimHorizon,
            clock: Arc::new(SystemClock),
        }
    }

    /// Rejects settings that cannot work, naming the setting.
    pub fn validate(&self) -> Result<(), SourceError> {
        let fail = |msg: &str| Err(SourceError::Config(msg.to_string()));
        if self.stream_name.is_empty() {
            return fail("stream_name must not be empty");
        }
        if self.worker_id.is_empty() {
            return fail("worker_id must not be empty");
        }
        if !(1..=10_000).contains(&self.max_records_per_call) {
            return fail("max_records_per_call must be between 1 and 10000");
        }
        if self.lease_duration < Duration::from_millis(300) {
            return fail("lease_duration must be at least 300 ms");
        }
        if self.poll_interval.is_zero() {
            return fail("poll_interval must be more than 0");
        }
        if self.lease_take_interval.is_zero() || self.shard_sync_interval.is_zero() {
            return fail("lease_take_interval and shard_sync_interval must be more than 0");
        }
        if self.max_leases == Some(0) {
            return fail("max_leases must be at least 1 when set");
        }
        Ok(())
    }
}
