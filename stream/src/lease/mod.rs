//! Shard leases: which replica reads which shard, and how far it got. One record per shard
//! (owner, counter, expiry, checkpoint, parents, finished), changed only by compare-and-swap
//! writes so two replicas never hold one shard. SQLite on one machine, DynamoDB in a cluster.

mod balance;
mod dynamo;
mod sqlite;

use std::path::PathBuf;

pub use balance::leases_to_take;
pub use dynamo::DynamoLeaseStore;
pub use sqlite::SqliteLeaseStore;

use crate::SourceError;

/// Where leases and checkpoints are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStoreConfig {
    /// A SQLite file (created if missing): the embedded default; replicas on one machine
    /// may share the file.
    Sqlite { path: PathBuf },
    /// A DynamoDB table with the string partition key `lease_key`, shared by all replicas.
    DynamoDb {
        table: String,
        /// Endpoint override (moto, DynamoDB Local); `None` = the region's endpoint.
        endpoint_url: Option<String>,
        /// Create the table (on-demand capacity) when it does not exist. Default: `false`.
        create_if_missing: bool,
    },
}

/// The lease of one shard as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLease {
    pub shard_id: String,
    /// The worker id of the replica holding it; `None` = free.
    pub owner: Option<String>,
    /// Goes up by one each time the lease changes hands: a replica's writes are
    /// conditional on the counter it took the lease with, so a replica that lost the
    /// lease cannot checkpoint any more.
    pub counter: u64,
    /// Epoch milliseconds after which other replicas may take the lease over.
    pub expires_at_ms: i64,
    /// Last handled sequence number; `None` = nothing handled yet.
    pub checkpoint: Option<String>,
    /// Epoch milliseconds of the last checkpoint write.
    pub checkpoint_at_ms: Option<i64>,
    /// Shards this one was split or merged from; read only after they are finished.
    pub parent_shard_ids: Vec<String>,
    /// Every record of the (closed) shard has been handled: the checkpoint reached
    /// SHARD_END. Its children may start.
    pub finished: bool,
}

impl ShardLease {
    /// A new, free lease for a shard nobody has read yet.
    pub fn unowned(shard_id: &str, parent_shard_ids: &[String]) -> Self {
        ShardLease {
            shard_id: shard_id.to_string(),
            owner: None,
            counter: 0,
            expires_at_ms: 0,
            checkpoint: None,
            checkpoint_at_ms: None,
            parent_shard_ids: parent_shard_ids.to_vec(),
            finished: false,
        }
    }

    /// Held by someone whose lease has not run out at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.owner.is_some() && self.expires_at_ms > now_ms
    }
}

/// The lease table of one stream. Every write but `register` is conditional: it returns
/// `Ok(false)`/`Ok(None)` when the lease is no longer as the caller knows it.
#[async_trait::async_trait]
pub trait LeaseStore: Send + Sync + std::fmt::Debug {
    /// Adds a free lease for the shard unless it already has one.
    async fn register(
        &self,
        shard_id: &str,
        parent_shard_ids: &[String],
    ) -> Result<(), SourceError>;

    /// Every lease of the stream (consistent read).
    async fn leases(&self) -> Result<Vec<ShardLease>, SourceError>;

    /// Takes the lease for `owner` if it is still exactly as `observed` (owner, counter,
    /// expiry) and not finished; the counter goes up by one.
    async fn take(
        &self,
        observed: &ShardLease,
        owner: &str,
        expires_at_ms: i64,
    ) -> Result<Option<ShardLease>, SourceError>;

    /// Moves the expiry of a lease `owner` holds with `counter`.
    async fn renew(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        expires_at_ms: i64,
    ) -> Result<bool, SourceError>;

    /// Stores the checkpoint of a lease `owner` holds with `counter`.
    async fn checkpoint(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        sequence_number: &str,
        at_ms: i64,
    ) -> Result<bool, SourceError>;

    /// Marks a closed shard as fully handled and frees its lease.
    async fn finish(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        at_ms: i64,
    ) -> Result<bool, SourceError>;

    /// Frees a lease `owner` holds with `counter` (graceful shutdown), keeping its
    /// checkpoint.
    async fn release(&self, shard_id: &str, owner: &str, counter: u64)
        -> Result<bool, SourceError>;
}

/// The lease store of `stream_name` as configured. `sdk_config` carries the credentials and
/// region DynamoDB is reached with.
pub async fn open_lease_store(
    config: &LeaseStoreConfig,
    stream_name: &str,
    sdk_config: &aws_config::SdkConfig,
) -> Result<std::sync::Arc<dyn LeaseStore>, SourceError> {
    Ok(match config {
        LeaseStoreConfig::Sqlite { path } => {
            std::sync::Arc::new(SqliteLeaseStore::open(path, stream_name).await?)
        }
        LeaseStoreConfig::DynamoDb {
            table,
            endpoint_url,
            create_if_missing,
        } => {
            let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk_config);
            if let Some(url) = endpoint_url {
                builder = builder.endpoint_url(url);
            }
            let client = aws_sdk_dynamodb::Client::from_conf(builder.build());
            let store = DynamoLeaseStore::new(client, table, stream_name);
            if *create_if_missing {
                store.create_table_if_missing().await?;
            }
            std::sync::Arc::new(store)
        }
    })
}
