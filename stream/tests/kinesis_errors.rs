//! The Kinesis source against a scripted Kinesis endpoint (`testing::ScriptedKinesis`),
//! for answers moto never gives: an expired iterator, the null iterator that ends a closed
//! shard, throttling, and real-sized sequence numbers.

use std::time::Duration;

use cali_stream::testing::{self, ScriptedAnswer, ScriptedKinesis};
use cali_stream::{KinesisConfig, KinesisSource, RecordSource};

const SHARD: &str = "shardId-000000000000";
const FIRST: &str = "49590338271490256608559692538361571095921575989136588898";
const SECOND: &str = "49590338271490256608559692540925702759324208523137515618";
/// Guards against a hang only; no test asserts on time.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn one_shard() -> ScriptedAnswer {
    ScriptedAnswer::ok(format!(
        r#"{{"Shards":[{{"ShardId":"{SHARD}","HashKeyRange":{{"StartingHashKey":"0","EndingHashKey":"340282366920938463463374607431768211455"}},"SequenceNumberRange":{{"StartingSequenceNumber":"1"}}}}]}}"#
    ))
}

fn shard_iterator(iterator: &str) -> ScriptedAnswer {
    ScriptedAnswer::ok(format!(r#"{{"ShardIterator":"{iterator}"}}"#))
}

/// A `GetRecords` answer with one record (`data` in base64); no next iterator ends the shard.
fn records(record: Option<(&str, &str)>, next_iterator: Option<&str>) -> ScriptedAnswer {
    let records = record.map_or(String::new(), |(sequence, data)| {
        format!(
            r#"{{"SequenceNumber":"{sequence}","PartitionKey":"k","Data":"{data}","ApproximateArrivalTimestamp":1.7e9}}"#
        )
    });
    let next = next_iterator.map_or(String::new(), |it| {
        format!(r#","NextShardIterator":"{it}""#)
    });
    ScriptedAnswer::ok(format!(
        r#"{{"Records":[{records}]{next},"MillisBehindLatest":0}}"#
    ))
}

/// A replica of stream `scripted` reading the endpoint, its leases in `dir`.
async fn source(endpoint: &ScriptedKinesis, dir: &std::path::Path) -> KinesisSource {
    let config = KinesisConfig {
        poll_interval: Duration::from_millis(50),
        lease_take_interval: Duration::from_millis(100),
        // One ListShards only: the script answers it once.
        shard_sync_interval: Duration::from_secs(600),
        ..testing::quick_config(
            endpoint.url(),
            "scripted",
            "replica-a",
            testing::sqlite_leases(dir),
        )
    };
    testing::kinesis_source(endpoint.url(), config)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_iterator_resumes_after_the_last_record_and_a_null_iterator_ends_the_shard() {
    let endpoint = ScriptedKinesis::start(vec![
        one_shard(),
        shard_iterator("it-1"),
        records(Some((FIRST, "aGVsbG8=")), Some("it-2")),
        ScriptedAnswer::error("ExpiredIteratorException", "Iterator expired"),
        shard_iterator("it-3"),
        records(Some((SECOND, "d29ybGQ=")), Some("it-4")),
        // The shard is closed and read to its end. Repeated: a call given up on and sent
        // again gets the same answer, as from Kinesis.
        records(None, None).repeated(),
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut source = source(&endpoint, dir.path()).await;

    let mut delivered = Vec::new();
    tokio::time::timeout(HANG_GUARD, async {
        while delivered.len() < 2 {
            let batch = source.next_batch().await.unwrap().unwrap();
            delivered.extend(batch.records);
        }
    })
    .await
    .expect("both records arrive");
    let got: Vec<(&str, &[u8])> = delivered
        .iter()
        .map(|r| (r.sequence_number.as_str(), &r.data[..]))
        .collect();
    assert_eq!(got, vec![(FIRST, &b"hello"[..]), (SECOND, &b"world"[..])]);
    assert!(delivered[0].arrival.is_some());

    // The iterator was fetched again after the last record handed out, not from the start.
    let iterator_calls = endpoint.requests("GetShardIterator");
    assert_eq!(iterator_calls.len(), 2, "{iterator_calls:?}");
    assert!(
        iterator_calls[0].contains("TRIM_HORIZON"),
        "{}",
        iterator_calls[0]
    );
    assert!(
        iterator_calls[1].contains("AFTER_SEQUENCE_NUMBER"),
        "{}",
        iterator_calls[1]
    );
    assert!(iterator_calls[1].contains(FIRST), "{}", iterator_calls[1]);

    // The source reads only inside next_batch, which hands out nothing more and so never
    // returns; it is cancel-safe, so it is called (and given up) until the source reports
    // that it read the shard's end.
    tokio::time::timeout(HANG_GUARD, async {
        while source.shards_at_end().is_empty() {
            let more = tokio::time::timeout(Duration::from_millis(100), source.next_batch()).await;
            assert!(more.is_err(), "nothing after the shard's end: {more:?}");
        }
    })
    .await
    .expect("the end of the shard is read");
    assert_eq!(source.shards_at_end(), vec![SHARD]);
    let last_read = endpoint.requests("GetRecords").pop().unwrap_or_default();
    assert!(last_read.contains("it-4"), "{last_read}");

    // Read to its end, the shard still waits for its last record's checkpoint.
    let lease = source.lease_store().leases().await.unwrap().remove(0);
    assert!(
        !lease.finished,
        "not finished before SECOND is checkpointed"
    );
    assert_eq!(source.held_shards(), vec![SHARD]);
    source.checkpoint(SHARD, SECOND).await.unwrap();
    let lease = source.lease_store().leases().await.unwrap().remove(0);
    assert!(lease.finished, "read to its end and checkpointed: finished");
    assert_eq!(lease.checkpoint.as_deref(), Some(SECOND));
    assert_eq!(lease.owner, None);
    assert!(source.shards_at_end().is_empty());
    assert!(source.held_shards().is_empty());
    // A late checkpoint on the finished shard has nothing left to do.
    source.checkpoint(SHARD, FIRST).await.unwrap();
    source.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_backed_off_quietly_and_reading_goes_on() {
    // The SDK retries throttling itself (3 attempts in all); five refusals in a row also
    // reach the source, which backs the shard off and tries again.
    let mut script = vec![one_shard(), shard_iterator("it-1")];
    script.extend(std::iter::repeat_n(
        ScriptedAnswer::error(
            "ProvisionedThroughputExceededException",
            "Rate exceeded for shard",
        ),
        5,
    ));
    script.push(records(Some((FIRST, "aGVsbG8=")), Some("it-2")));
    let endpoint = ScriptedKinesis::start(script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut source = source(&endpoint, dir.path()).await;

    let batch = tokio::time::timeout(HANG_GUARD, source.next_batch())
        .await
        .expect("the record arrives")
        .expect("throttling is not reported as an error")
        .expect("the stream does not end");
    assert_eq!(batch.records.len(), 1);
    assert_eq!(&batch.records[0].data[..], b"hello");
    assert_eq!(
        endpoint.requests("GetRecords").len(),
        6,
        "five refused calls, then the one that succeeded"
    );
    assert!(
        source.shards_at_end().is_empty(),
        "an open shard is not at its end"
    );
    source.shutdown().await.unwrap();
}
