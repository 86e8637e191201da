//! Test support for code that reads from Kinesis through this crate: the moto server's
//! address, AWS settings and sources pointed at a local server, streams and records on it,
//! a scripted Kinesis endpoint, and the lease semantics every store must have. Used by this
//! crate's tests and the consumer's end-to-end tests.

mod scripted_kinesis;

use std::path::Path;
use std::time::Duration;

use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, StreamStatus};

pub use scripted_kinesis::{ScriptedAnswer, ScriptedCall, ScriptedKinesis};

use crate::lease::{DynamoLeaseStore, LeaseStore, LeaseStoreConfig, ShardLease};
use crate::{KinesisConfig, KinesisSource, SourceError};

/// The environment variable holding the moto server's URL (set by `scripts/services env`).
pub const MOTO_URL_VAR: &str = "CALI_TEST_MOTO_URL";
/// Set to `1` (as `scripts/test` does), a test whose server is missing fails instead of
/// being skipped.
pub const REQUIRE_SERVICES_VAR: &str = "CALI_REQUIRE_SERVICES";

/// The moto server's URL from [`MOTO_URL_VAR`]. `None` (after printing that the test is
/// skipped) when it is not set; panics instead when [`REQUIRE_SERVICES_VAR`] is `1`.
pub fn moto_url() -> Option<String> {
    match std::env::var(MOTO_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var(REQUIRE_SERVICES_VAR).as_deref() == Ok("1") => {
            panic!("{MOTO_URL_VAR} is not set and {REQUIRE_SERVICES_VAR}=1")
        }
        _ => {
            eprintln!("skipped: start services with scripts/services start");
            None
        }
    }
}

/// A name no other test run uses (`cali-<what>-<process id>-<nanoseconds>`), so tests
/// share one moto server without seeing each other's streams and tables.
pub fn unique_name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("cali-{what}-{}-{nanos}", std::process::id())
}

/// Leases in a SQLite file `leases.db` in `dir` (a test's temporary directory).
pub fn sqlite_leases(dir: &Path) -> LeaseStoreConfig {
    LeaseStoreConfig::Sqlite {
        path: dir.join("leases.db"),
    }
}

/// Settings for a replica reading a local server, with intervals short enough that
/// tests converge within seconds: 100 ms polls, 3 s leases looked for every 200 ms,
/// shards listed again every 300 ms.
pub fn quick_config(
    endpoint_url: &str,
    stream_name: &str,
    worker_id: &str,
    lease_store: LeaseStoreConfig,
) -> KinesisConfig {
    KinesisConfig {
        endpoint_url: Some(endpoint_url.to_string()),
        poll_interval: Duration::from_millis(100),
        lease_duration: Duration::from_secs(3),
        lease_take_interval: Duration::from_millis(200),
        shard_sync_interval: Duration::from_millis(300),
        ..KinesisConfig::new(stream_name, worker_id, lease_store)
    }
}

/// A source reading the local server at `endpoint_url` with test credentials (its lease
/// store, when DynamoDB, on the same server unless `config` names another).
pub async fn kinesis_source(
    endpoint_url: &str,
    config: KinesisConfig,
) -> Result<KinesisSource, SourceError> {
    KinesisSource::with_sdk_config(config, &sdk_config(endpoint_url)).await
}

/// The DynamoDB lease store of `stream_name` in `table` on a local server, to inspect
/// what the replicas wrote.
pub fn dynamo_lease_store(endpoint_url: &str, table: &str, stream_name: &str) -> DynamoLeaseStore {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(endpoint_url));
    DynamoLeaseStore::new(client, table, stream_name)
}

/// AWS settings for a local test server: static credentials `testing`/`testing`, region
/// `us-east-1`, every client pointed at `endpoint_url`.
pub fn sdk_config(endpoint_url: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(aws_sdk_kinesis::config::SharedCredentialsProvider::new(
            aws_sdk_kinesis::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "cali-test",
            ),
        ))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(15))
                .build(),
        )
        .build()
}

/// A Kinesis client for a local test server.
pub fn kinesis_client(endpoint_url: &str) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&sdk_config(endpoint_url))
}

fn aws(operation: &str, err: impl std::error::Error + 'static) -> SourceError {
    SourceError::Aws(format!("{operation}: {}", DisplayErrorContext(err)))
}

/// Creates a stream with `shard_count` shards and waits until it is active.
pub async fn create_stream(
    endpoint_url: &str,
    stream_name: &str,
    shard_count: i32,
) -> Result<(), SourceError> {
    let client = kinesis_client(endpoint_url);
    client
        .create_stream()
        .stream_name(stream_name)
        .shard_count(shard_count)
        .send()
        .await
        .map_err(|e| aws("CreateStream", e))?;
    wait_until_active(&client, stream_name).await
}

/// Waits (up to 30 s) until the stream is `ACTIVE`, e.g. after resharding.
pub async fn wait_until_active(
    client: &aws_sdk_kinesis::Client,
    stream_name: &str,
) -> Result<(), SourceError> {
    for _ in 0..300 {
        let summary = client
            .describe_stream_summary()
            .stream_name(stream_name)
            .send()
            .await
            .map_err(|e| aws("DescribeStreamSummary", e))?;
        if summary
            .stream_description_summary()
            .map(|s| s.stream_status())
            == Some(&StreamStatus::Active)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(SourceError::Aws(format!(
        "stream {stream_name} did not become active within 30 s"
    )))
}

/// Merges the stream's first two shards, waits until the stream is active again and
/// returns the merged child's shard id.
pub async fn merge_first_two_shards(
    client: &aws_sdk_kinesis::Client,
    stream_name: &str,
) -> Result<String, SourceError> {
    client
        .merge_shards()
        .stream_name(stream_name)
        .shard_to_merge("shardId-000000000000")
        .adjacent_shard_to_merge("shardId-000000000001")
        .send()
        .await
        .map_err(|e| aws("MergeShards", e))?;
    wait_until_active(client, stream_name).await?;
    let shards = client
        .list_shards()
        .stream_name(stream_name)
        .send()
        .await
        .map_err(|e| aws("ListShards", e))?;
    shards
        .shards()
        .iter()
        .find(|s| s.parent_shard_id().is_some() && s.adjacent_parent_shard_id().is_some())
        .map(|s| s.shard_id().to_string())
        .ok_or_else(|| {
            SourceError::Aws(format!("{stream_name}: no merged shard after MergeShards"))
        })
}

/// Puts `(partition key, data)` records in order (one `PutRecords` call per 500) and
/// returns each record's `(shard id, sequence number)`.
pub async fn put_records(
    endpoint_url: &str,
    stream_name: &str,
    records: &[(String, Vec<u8>)],
) -> Result<Vec<(String, String)>, SourceError> {
    let client = kinesis_client(endpoint_url);
    let mut placed = Vec::with_capacity(records.len());
    for chunk in records.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(key, data)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(Blob::new(data.clone()))
                    .build()
                    .map_err(|e| aws("PutRecords", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = client
            .put_records()
            .stream_name(stream_name)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| aws("PutRecords", e))?;
        for result in output.records() {
            match (result.shard_id(), result.sequence_number()) {
                (Some(shard), Some(sequence)) => {
                    placed.push((shard.to_string(), sequence.to_string()))
                }
                _ => {
                    return Err(SourceError::Aws(format!(
                        "PutRecords: a record was refused: {}",
                        result.error_message().unwrap_or("no reason given")
                    )))
                }
            }
        }
    }
    Ok(placed)
}

/// Asserts the lease-table semantics every [`LeaseStore`] must have, on a fresh store
/// of one stream (compare-and-swap takes, fencing by counter, release, finish). Panics on
/// the first violation.
pub async fn check_lease_semantics(store: &dyn LeaseStore) {
    store.register("shard-a", &[]).await.unwrap();
    store
        .register("shard-b", &["shard-a".to_string()])
        .await
        .unwrap();
    // Registering again keeps what is stored.
    store.register("shard-b", &[]).await.unwrap();
    let mut leases = store.leases().await.unwrap();
    leases.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    assert_eq!(
        leases,
        vec![
            ShardLease::unowned("shard-a", &[]),
            ShardLease::unowned("shard-b", &["shard-a".to_string()]),
        ]
    );
    let free_a = leases[0].clone();

    // Two replicas race for the same observed lease: exactly one wins.
    let won = store
        .take(&free_a, "w1", 10_000)
        .await
        .unwrap()
        .expect("w1 takes a free lease");
    assert_eq!(
        (won.owner.as_deref(), won.counter, won.expires_at_ms),
        (Some("w1"), 1, 10_000)
    );
    assert!(store.take(&free_a, "w2", 10_000).await.unwrap().is_none());

    // Only the holder with its counter renews and checkpoints.
    assert!(store.renew("shard-a", "w1", 1, 20_000).await.unwrap());
    assert!(!store.renew("shard-a", "w2", 1, 20_000).await.unwrap());
    assert!(!store.renew("shard-a", "w1", 0, 20_000).await.unwrap());
    assert!(store
        .checkpoint("shard-a", "w1", 1, "42", 5_000)
        .await
        .unwrap());
    assert!(!store
        .checkpoint("shard-a", "w2", 1, "43", 5_000)
        .await
        .unwrap());

    // A stale observation (before the renewal) cannot steal the lease.
    assert!(store.take(&won, "w2", 30_000).await.unwrap().is_none());

    // Another replica takes the lease over as observed now; the old holder is fenced.
    let current = lease(store, "shard-a").await;
    assert_eq!(current.checkpoint.as_deref(), Some("42"));
    assert_eq!(current.checkpoint_at_ms, Some(5_000));
    let taken = store
        .take(&current, "w2", 40_000)
        .await
        .unwrap()
        .expect("w2 takes over");
    assert_eq!((taken.owner.as_deref(), taken.counter), (Some("w2"), 2));
    assert_eq!(taken.checkpoint.as_deref(), Some("42"));
    assert!(!store
        .checkpoint("shard-a", "w1", 1, "50", 6_000)
        .await
        .unwrap());
    assert!(!store.renew("shard-a", "w1", 1, 50_000).await.unwrap());
    assert!(!store.release("shard-a", "w1", 1).await.unwrap());

    // Release keeps the checkpoint and frees the lease.
    assert!(store.release("shard-a", "w2", 2).await.unwrap());
    let released = lease(store, "shard-a").await;
    assert_eq!(released.owner, None);
    assert_eq!(released.checkpoint.as_deref(), Some("42"));

    // Finishing needs the lease, frees it, and a finished lease cannot be taken.
    let held = store
        .take(&released, "w1", 60_000)
        .await
        .unwrap()
        .expect("retake");
    assert_eq!(held.counter, 3);
    assert!(!store.finish("shard-a", "w2", 3, 7_000).await.unwrap());
    assert!(store.finish("shard-a", "w1", 3, 7_000).await.unwrap());
    let finished = lease(store, "shard-a").await;
    assert!(finished.finished);
    assert_eq!(finished.owner, None);
    assert_eq!(finished.checkpoint.as_deref(), Some("42"));
    assert!(store.take(&finished, "w2", 70_000).await.unwrap().is_none());
}

async fn lease(store: &dyn LeaseStore, shard_id: &str) -> ShardLease {
    store
        .leases()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.shard_id == shard_id)
        .expect("lease registered")
}
