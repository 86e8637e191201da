//! Test support for code that reads from Kinesis through this crate: AWS settings with
//! static test credentials pointed at a local server (moto), and calls to create a stream
//! and put records into it. Used by this crate's tests and the consumer's end-to-end tests.

use std::time::Duration;

use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, StreamStatus};

use crate::SourceError;

/// The environment variable holding the moto server's URL (set by `scripts/services env`).
pub const MOTO_URL_VAR: &str = "CALI_TEST_MOTO_URL";

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
