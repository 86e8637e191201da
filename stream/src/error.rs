//! The one error type of every source. Most variants are transient: the source retries on
//! the next `next_batch` call; `is_fatal` tells the consumer when retrying cannot help.

/// What went wrong while reading or checkpointing.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A Kinesis or DynamoDB call failed (network, throttling, service error); retried.
    #[error("AWS: {0}")]
    Aws(String),
    /// The lease table could not be read or written (not a lost lease: see `LeaseLost`).
    #[error("lease table: {0}")]
    Lease(String),
    /// This replica no longer holds the shard (another replica took it over); its
    /// records after the last checkpoint will be read again by the new holder.
    #[error("lease on {shard_id} lost: another replica holds it now")]
    LeaseLost { shard_id: String },
    /// `checkpoint` was called for a shard this source does not read.
    #[error("checkpoint for unknown shard {shard_id}")]
    UnknownShard { shard_id: String },
    /// A sequence number that is not a decimal integer.
    #[error("invalid sequence number {0:?}")]
    InvalidSequenceNumber(String),
    /// The configuration cannot work (names the setting).
    #[error("configuration: {0}")]
    Config(String),
    /// Reading a file or stdin, or writing a checkpoint file, failed (the message names
    /// the path).
    #[error("I/O: {0}")]
    Io(std::io::Error),
    #[error("SQLite lease store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl SourceError {
    /// True when calling again cannot succeed: a bad configuration or input the caller
    /// passed. Everything else (network, throttling, lost leases) is worth another call.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SourceError::Config(_)
                | SourceError::InvalidSequenceNumber(_)
                | SourceError::UnknownShard { .. }
        )
    }

    /// An I/O error with the path it concerns in its message.
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        SourceError::Io(std::io::Error::new(
            source.kind(),
            format!("{path}: {source}"),
        ))
    }
}
