//! Record sources for the consumer: Kinesis shards under leases, NDJSON files, stdin and an
//! in-process channel. Every source hands out raw records in per-shard order and moves its
//! checkpoint only when the consumer says a record's effects are durable.

mod clock;
mod error;
mod in_process;
pub mod kinesis;
pub mod lease;
mod ndjson;
mod sequence;
pub mod testing;

use std::time::SystemTime;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::SourceError;
pub use in_process::InProcessSource;
pub use kinesis::{InitialPosition, KinesisConfig, KinesisSource};
pub use lease::{LeaseStore, LeaseStoreConfig, ShardLease, SqliteLeaseStore};
pub use ndjson::{NdjsonOptions, NdjsonSource};
pub use sequence::compare_sequence_numbers;

/// One record as a source delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// `shardId-000000000000` for Kinesis, `file:<path>` or `stdin` for NDJSON input,
    /// `in-process` for the channel source.
    pub shard_id: String,
    /// The Kinesis sequence number (a decimal big integer: compare with
    /// [`compare_sequence_numbers`], never as text), or the 1-based line number for files.
    pub sequence_number: String,
    pub partition_key: String,
    /// The raw payload, untouched: it may be gzip/zstd-compressed and may hold several
    /// newline-joined NDJSON events.
    pub data: bytes::Bytes,
    /// When Kinesis accepted the record (approximate); `None` for files and channels.
    pub arrival: Option<SystemTime>,
}

/// Records of one shard, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub shard_id: String,
    pub records: Vec<SourceRecord>,
    /// How far behind the tip of the shard this batch is, as Kinesis reports it.
    pub millis_behind_latest: Option<i64>,
}

/// Lag of one shard this replica holds, for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardLag {
    pub shard_id: String,
    pub millis_behind_latest: i64,
    /// Seconds since this shard's checkpoint last moved (or since the shard was taken,
    /// when it has not moved yet).
    pub checkpoint_age_secs: f64,
}

/// A source of records, read by one consumer loop.
///
/// Errors from `next_batch` are transient unless [`SourceError::is_fatal`] says otherwise:
/// the source has already scheduled its retry (with backoff), so the caller logs the error
/// and calls `next_batch` again.
#[async_trait::async_trait]
pub trait RecordSource: Send {
    /// The next batch from any shard this replica holds. Ok(None) = the source is finished
    /// (end of file) or has been shut down. Waits (polling within Kinesis limits) otherwise.
    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError>;
    /// Durably records that every record of `shard_id` up to and including `sequence_number`
    /// has been handled (called only after the consumer made their effects durable).
    async fn checkpoint(
        &mut self,
        shard_id: &str,
        sequence_number: &str,
    ) -> Result<(), SourceError>;
    /// Stop reading, checkpoint nothing new, release leases (graceful shutdown).
    async fn shutdown(&mut self) -> Result<(), SourceError>;
    /// For /metrics: lag and checkpoint age per held shard.
    fn lag(&self) -> Vec<ShardLag>;
}
