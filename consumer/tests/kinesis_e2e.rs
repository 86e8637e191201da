//! End-to-end tests of `cali run` against moto: a 2-shard Kinesis stream read by two
//! replicas that share DynamoDB leases and state, dead letters in S3, and a local HTTP
//! server playing Slack. Every record must be accounted for and no alert may repeat.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cali::samples::{self, Spec};
use cali_stream::testing;
use cali_stream::LeaseStore;
use common::{Answer, SlackServer};

/// Longest wait for any condition in these tests; a test that needs longer has failed.
const DEADLINE: Duration = Duration::from_secs(90);
const GROUP_WAIT: Duration = Duration::from_secs(2);
const LEASE_DURATION: &str = "3s";

/// Names unique to one test run, so tests share one moto server without seeing each other.
struct Names {
    stream: String,
    prefix: String,
    bucket: String,
}

impl Names {
    fn new(test: &str) -> Self {
        let base = testing::unique_name(&format!("e2e-{test}"));
        Names {
            stream: format!("{base}-events"),
            prefix: base.clone(),
            bucket: base,
        }
    }

    fn lease_table(&self) -> String {
        format!("{}-leases", self.prefix)
    }
}

/// One `cali run` process; killed (SIGKILL) when dropped, so no test leaves one behind.
struct Replica {
    name: String,
    child: Option<Child>,
    stderr: PathBuf,
}

impl Replica {
    fn start(
        name: &str,
        names: &Names,
        moto: &str,
        slack: &SlackServer,
        dir: &Path,
        extra: &[(&str, &str)],
    ) -> Self {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let stderr = home.join("stderr.log");
        let mut cmd = Command::new(common::cali_bin());
        common::base_env(&mut cmd, &home);
        cmd.arg("run")
            .current_dir(&home)
            .env("CALI_SOURCE_KIND", "kinesis")
            .env("CALI_KINESIS_STREAM_NAME", &names.stream)
            .env("CALI_KINESIS_WORKER_ID", name)
            .env("CALI_KINESIS_LEASE_STORE", "dynamodb")
            .env("CALI_KINESIS_LEASE_TABLE", names.lease_table())
            .env("CALI_KINESIS_POLL_INTERVAL", "200ms")
            .env("CALI_KINESIS_MAX_RECORDS_PER_CALL", "25")
            .env("CALI_KINESIS_LEASE_DURATION", LEASE_DURATION)
            .env("CALI_KINESIS_LEASE_TAKE_INTERVAL", "500ms")
            .env("CALI_KINESIS_SHARD_SYNC_INTERVAL", "2s")
            .env("CALI_STATE_KIND", "dynamodb")
            .env("CALI_STATE_TABLE_PREFIX", &names.prefix)
            .env("CALI_DEAD_LETTER_KIND", "s3")
            .env("CALI_DEAD_LETTER_BUCKET", &names.bucket)
            .env("CALI_AWS_ENDPOINT_URL", moto)
            .env("CALI_AWS_REGION", "us-east-1")
            .env(
                "CALI_ALERT_GROUP_WAIT",
                format!("{}ms", GROUP_WAIT.as_millis()),
            )
            .env("CALI_ALERT_REPEAT_INTERVAL", "1h")
            .env("CALI_ALERT_WEBHOOK_MIN_INTERVAL", "100ms")
            .env("CALI_ALERT_EVALUATE_INTERVAL", "300ms")
            .env("CALI_SLACK_WEBHOOK_URL", &slack.url)
            .env("CALI_SLACK_BACKOFF_BASE", "200ms")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CALI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(home.join("stdout.log")).unwrap(),
            ))
            .stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting cali run");
        Replica {
            name: name.to_string(),
            child: Some(child),
            stderr,
        }
    }

    /// Fails the test (with the log) when the process ended on its own.
    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "replica {} exited early ({status}); its log:\n{}",
                    self.name,
                    self.log()
                );
            }
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the counts the replica logged at shutdown.
    async fn stop(&mut self) -> Counts {
        let mut child = self.child.take().expect("replica still running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let started = Instant::now();
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "replica {} did not stop within 30 s of SIGTERM; its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let log = self.log();
        assert!(
            status.success(),
            "replica {} exited with {status}; its log:\n{log}",
            self.name
        );
        Counts::from_log(&log).unwrap_or_else(|| {
            panic!(
                "replica {} logged no balanced `counts reconcile`; its log:\n{log}",
                self.name
            )
        })
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// What a replica counted, from its `counts reconcile` log line at shutdown.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    payloads: u64,
    decoded: u64,
    dead_lettered: u64,
    new: u64,
    duplicates: u64,
}

impl Counts {
    fn from_log(log: &str) -> Option<Self> {
        log.lines().rev().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let fields = v.get("fields").unwrap_or(&v);
            if fields.get("message")?.as_str()? != "counts reconcile" {
                return None;
            }
            let get = |k: &str| fields.get(k).and_then(|x| x.as_u64());
            Some(Counts {
                payloads: get("payloads")?,
                decoded: get("decoded")?,
                dead_lettered: get("dead_lettered")?,
                new: get("new")?,
                duplicates: get("duplicates")?,
            })
        })
    }

    fn add(self, o: Counts) -> Counts {
        Counts {
            payloads: self.payloads + o.payloads,
            decoded: self.decoded + o.decoded,
            dead_lettered: self.dead_lettered + o.dead_lettered,
            new: self.new + o.new,
            duplicates: self.duplicates + o.duplicates,
        }
    }
}

/// The AWS side seen by the test: the state tables and the dead-letter bucket on moto.
struct Aws {
    dynamo: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
}

impl Aws {
    async fn new(moto: &str, names: &Names) -> Self {
        let sdk = testing::sdk_config(moto);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(&names.bucket)
            .send()
            .await
            .expect("creating the dead-letter bucket");
        Aws {
            dynamo: aws_sdk_dynamodb::Client::new(&sdk),
            s3,
        }
    }

    /// Event count per fingerprint in the shared incidents table (empty before it exists).
    async fn incident_counts(&self, names: &Names) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        let Ok(out) = self
            .dynamo
            .scan()
            .table_name(format!("{}-incidents", names.prefix))
            .consistent_read(true)
            .send()
            .await
        else {
            return counts;
        };
        for item in out.items() {
            let body = item
                .get("body")
                .and_then(|b| b.as_s().ok())
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
            if let Some(body) = body {
                counts.insert(
                    body["fingerprint"].as_str().unwrap_or_default().to_string(),
                    body["count"].as_u64().unwrap_or(0),
                );
            }
        }
        counts
    }

    /// Dead-letter documents in the bucket: key → document.
    async fn dead_letters(&self, names: &Names) -> BTreeMap<String, serde_json::Value> {
        let mut found = BTreeMap::new();
        let Ok(list) = self.s3.list_objects_v2().bucket(&names.bucket).send().await else {
            return found;
        };
        for object in list.contents() {
            let Some(key) = object.key() else { continue };
            let Ok(got) = self
                .s3
                .get_object()
                .bucket(&names.bucket)
                .key(key)
                .send()
                .await
            else {
                continue;
            };
            let Ok(bytes) = got.body.collect().await else {
                continue;
            };
            if let Ok(doc) = serde_json::from_slice(&bytes.into_bytes()) {
                found.insert(key.to_string(), doc);
            }
        }
        found
    }
}

/// Waits until `done` holds, checking the replicas are alive; panics after `DEADLINE`.
async fn wait_until<F, Fut>(what: &str, replicas: &mut [&mut Replica], mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if done().await {
            return;
        }
        for r in replicas.iter_mut() {
            r.assert_running();
        }
        if started.elapsed() > DEADLINE {
            let logs: Vec<String> = replicas
                .iter()
                .map(|r| format!("--- {} ---\n{}", r.name, r.log()))
                .collect();
            panic!("timed out waiting for {what}; logs:\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until each fingerprint's incident holds `per_fingerprint` events and each has had
/// its Slack message.
async fn wait_for_incidents_and_alerts(
    replicas: &mut [&mut Replica],
    aws: &Aws,
    names: &Names,
    slack: &SlackServer,
    fps: &[String],
    per_fingerprint: u64,
) {
    let want: BTreeMap<String, u64> = fps.iter().map(|f| (f.clone(), per_fingerprint)).collect();
    wait_until("every event in an incident", replicas, || async {
        aws.incident_counts(names).await == want
    })
    .await;
    wait_until("one alert per fingerprint", replicas, || async {
        slack_fingerprints(slack)
            .into_iter()
            .collect::<BTreeSet<_>>()
            == fps.iter().cloned().collect()
    })
    .await;
}

/// Good events: `per_fingerprint` distinct events for each fingerprint, from several pods.
fn good_events(fingerprints: &[String], per_fingerprint: u64, first_id: u64) -> Vec<String> {
    let mut out = Vec::new();
    for n in 0..per_fingerprint {
        for (i, fp) in fingerprints.iter().enumerate() {
            let id = samples::event_id(first_id + n * fingerprints.len() as u64 + i as u64);
            let pod = format!("checkout-7d9f8-{}", n % 3);
            out.push(samples::event(&Spec {
                event_id: &id,
                fingerprint: fp,
                pod: &pod,
                ..Spec::default()
            }));
        }
    }
    out
}

/// Records with varied partition keys, so Kinesis spreads them over every shard.
fn spread(payloads: &[Vec<u8>], salt: &str) -> Vec<(String, Vec<u8>)> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{salt}-{i}"), p.clone()))
        .collect()
}

fn shards_used(placed: &[(String, String)]) -> BTreeSet<String> {
    placed.iter().map(|(shard, _)| shard.clone()).collect()
}

/// Fingerprint of each Slack message (the alert id is `<fingerprint>-<opened_ms>-<n>`).
fn slack_fingerprints(slack: &SlackServer) -> Vec<String> {
    slack
        .received()
        .iter()
        .filter(|r| r.answer == "Ok")
        .map(|r| r.alert_id.split('-').next().unwrap_or_default().to_string())
        .collect()
}

fn assert_one_message_per_fingerprint(slack: &SlackServer, fingerprints: &[String]) {
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for fp in slack_fingerprints(slack) {
        *per.entry(fp).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = fingerprints.iter().map(|f| (f.clone(), 1)).collect();
    assert_eq!(
        per,
        want,
        "Slack messages per fingerprint (alert ids: {:?})",
        slack.delivered()
    );
}

/// The sequence number of a shard's last record, read from its start.
async fn last_sequence_number(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    shard_id: &str,
) -> String {
    let mut iterator = kinesis
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard_id)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .map(str::to_string);
    let mut last = None;
    while let Some(it) = iterator {
        let got = kinesis
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .unwrap();
        if got.records().is_empty() {
            break;
        }
        last = got
            .records()
            .last()
            .map(|r| r.sequence_number().to_string());
        iterator = got.next_shard_iterator().map(str::to_string);
    }
    last.expect("the merged shard holds the parents' records")
}

/// What every scenario starts from: moto's URL, fresh names, a working directory, the AWS
/// clients and a 2-shard stream. `None` (test skipped) when services are not started.
struct Scenario {
    moto: String,
    names: Names,
    dir: tempfile::TempDir,
    aws: Aws,
}

impl Scenario {
    async fn start(test: &str) -> Option<Self> {
        let moto = testing::moto_url()?;
        let names = Names::new(test);
        let dir = tempfile::tempdir().unwrap();
        let aws = Aws::new(&moto, &names).await;
        testing::create_stream(&moto, &names.stream, 2)
            .await
            .unwrap();
        Some(Scenario {
            moto,
            names,
            dir,
            aws,
        })
    }
}

fn fingerprints(n: u64, base: u64) -> Vec<String> {
    (0..n).map(|i| samples::fingerprint(base + i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_account_for_every_record_and_alert_once_per_fingerprint() {
    let Some(Scenario {
        moto,
        names,
        dir,
        aws,
    }) = Scenario::start("pair").await
    else {
        return;
    };
    // Slack refuses the first attempts: the shared outbox retries them, still once each.
    let slack = SlackServer::start(vec![
        Answer::TooManyRequests {
            retry_after_secs: 1,
        },
        Answer::ServerError,
    ])
    .await;

    let fps = fingerprints(4, 0xa100);
    let events = good_events(&fps, 15, 1);
    // Fluent Bit retries whole chunks: a few events arrive twice.
    let mut payloads: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
    payloads.extend(events[..5].iter().map(|e| e.clone().into_bytes()));
    let placed = testing::put_records(&moto, &names.stream, &spread(&payloads, "pair"))
        .await
        .unwrap();
    assert_eq!(shards_used(&placed).len(), 2, "records on both shards");

    let mut a = Replica::start("replica-a", &names, &moto, &slack, dir.path(), &[]);
    let mut b = Replica::start("replica-b", &names, &moto, &slack, dir.path(), &[]);

    wait_for_incidents_and_alerts(&mut [&mut a, &mut b], &aws, &names, &slack, &fps, 15).await;
    // Both replicas keep evaluating the same incidents for a while: a second claim for any
    // fingerprint would show up as a second message.
    tokio::time::sleep(GROUP_WAIT * 2).await;
    let counts = a.stop().await.add(b.stop().await);

    assert_one_message_per_fingerprint(&slack, &fps);
    let refused: Vec<String> = slack
        .received()
        .into_iter()
        .filter(|r| r.answer != "Ok")
        .map(|r| r.alert_id)
        .collect();
    assert_eq!(refused.len(), 2, "the scripted refusals were met");
    for id in &refused {
        assert!(slack.delivered().contains(id), "{id} delivered after retry");
    }
    assert_eq!(counts.new, events.len() as u64, "{counts:?}");
    assert_eq!(counts.dead_lettered, 0, "{counts:?}");
    assert_eq!(counts.decoded, counts.new + counts.duplicates, "{counts:?}");
    assert!(
        counts.payloads >= payloads.len() as u64,
        "every record read at least once: {counts:?}"
    );
    assert!(aws.dead_letters(&names).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_shards_are_taken_over_without_loss_or_repeat() {
    let Some(Scenario {
        moto,
        names,
        dir,
        aws,
    }) = Scenario::start("kill").await
    else {
        return;
    };
    let slack = SlackServer::start(Vec::new()).await;
    let fps = fingerprints(3, 0xb100);

    let first = good_events(&fps, 10, 1_000);
    let payloads: Vec<Vec<u8>> = first.iter().map(|e| e.clone().into_bytes()).collect();
    testing::put_records(&moto, &names.stream, &spread(&payloads, "kill-1"))
        .await
        .unwrap();

    let mut a = Replica::start("replica-a", &names, &moto, &slack, dir.path(), &[]);
    let mut b = Replica::start("replica-b", &names, &moto, &slack, dir.path(), &[]);
    let leases = testing::dynamo_lease_store(&moto, &names.lease_table(), &names.stream);
    let owners = || async {
        leases
            .leases()
            .await
            .map(|ls| {
                ls.into_iter()
                    .filter_map(|l| l.owner)
                    .collect::<BTreeSet<_>>()
            })
            .unwrap_or_default()
    };
    wait_until(
        "each replica holding a lease",
        &mut [&mut a, &mut b],
        || async { owners().await.len() == 2 },
    )
    .await;
    let first_want: BTreeMap<String, u64> = fps.iter().map(|f| (f.clone(), 10)).collect();
    wait_until(
        "the first events recorded",
        &mut [&mut a, &mut b],
        || async { aws.incident_counts(&names).await == first_want },
    )
    .await;

    // The stream keeps flowing in small puts; replica-b dies between two of them, with
    // records read but possibly not yet checkpointed.
    let second = good_events(&fps, 10, 2_000);
    let mut placed = Vec::new();
    let put_before_kill = 10;
    for (i, chunk) in second.chunks(5).enumerate() {
        if i * 5 == put_before_kill {
            b.kill_hard();
        }
        let payloads: Vec<Vec<u8>> = chunk.iter().map(|e| e.clone().into_bytes()).collect();
        let salt = format!("kill-2-{i}");
        placed.extend(
            testing::put_records(&moto, &names.stream, &spread(&payloads, &salt))
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(shards_used(&placed).len(), 2, "records on both shards");

    wait_until(
        "the survivor holding both leases",
        &mut [&mut a],
        || async {
            let ls = leases.leases().await.unwrap_or_default();
            ls.len() == 2 && ls.iter().all(|l| l.owner.as_deref() == Some("replica-a"))
        },
    )
    .await;
    wait_for_incidents_and_alerts(&mut [&mut a], &aws, &names, &slack, &fps, 20).await;
    tokio::time::sleep(GROUP_WAIT * 2).await;
    let counts = a.stop().await;

    assert_one_message_per_fingerprint(&slack, &fps);
    assert_eq!(counts.dead_lettered, 0, "{counts:?}");
    assert_eq!(counts.decoded, counts.new + counts.duplicates, "{counts:?}");
    // Whatever was put after the kill, the survivor read (the killed replica may have
    // read and checkpointed the earlier ones).
    assert!(
        counts.payloads >= (second.len() - put_before_kill) as u64,
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_land_in_the_s3_dead_letter_bucket_with_their_reason() {
    let Some(Scenario {
        moto,
        names,
        dir,
        aws,
    }) = Scenario::start("bad").await
    else {
        return;
    };
    let slack = SlackServer::start(Vec::new()).await;
    let fps = fingerprints(2, 0xc100);
    let good = good_events(&fps, 4, 3_000);

    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&good[0]).unwrap();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let oversized = samples::event(&Spec {
        event_id: &samples::event_id(3_999),
        fingerprint: &fps[0],
        padding: 8_000,
        ..Spec::default()
    });
    let gzip = |data: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    };
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("not_json", b"{this is not json".to_vec()),
        (
            "wrong_schema",
            with(&|v| {
                v.as_object_mut().unwrap().remove("fingerprint");
            }),
        ),
        ("wrong_types", with(&|v| v["line_count"] = "three".into())),
        ("oversized", oversized.into_bytes()),
        (
            "unknown_schema_version",
            with(&|v| v["schema"] = "cali.event/v9".into()),
        ),
        ("decompression", vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]),
    ];
    // Good records around every bad one; two good ones travel gzip-compressed and
    // newline-joined, as Fluent Bit's `simple_aggregation` writes them.
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    let mut good_iter = good.iter();
    for (_, data) in &bad {
        payloads.push(good_iter.next().unwrap().clone().into_bytes());
        payloads.push(data.clone());
    }
    let rest: Vec<&String> = good_iter.collect();
    payloads.push(gzip(format!("{}\n{}", rest[0], rest[1]).as_bytes()));
    payloads.extend(rest[2..].iter().map(|e| e.as_bytes().to_vec()));
    let placed = testing::put_records(&moto, &names.stream, &spread(&payloads, "bad"))
        .await
        .unwrap();

    let mut a = Replica::start(
        "replica-a",
        &names,
        &moto,
        &slack,
        dir.path(),
        &[("CALI_DECODE_MAX_RECORD_BYTES", "4096")],
    );
    let want: BTreeMap<String, u64> = fps.iter().map(|f| (f.clone(), 4)).collect();
    wait_until("every good event in an incident", &mut [&mut a], || async {
        aws.incident_counts(&names).await == want
    })
    .await;
    wait_until("every bad record dead-lettered", &mut [&mut a], || async {
        aws.dead_letters(&names).await.len() >= bad.len()
    })
    .await;
    let counts = a.stop().await;

    let letters = aws.dead_letters(&names).await;
    assert_eq!(letters.len(), bad.len(), "{:?}", letters.keys());
    // Each bad record sits between two good ones, so its position in the put tells where it is.
    for (i, (reason, data)) in bad.iter().enumerate() {
        let (shard, sequence) = &placed[2 * i + 1];
        let key = format!("dead-letter/{reason}/{shard}-{sequence}-0.json");
        let doc = letters
            .get(&key)
            .unwrap_or_else(|| panic!("no dead letter {key}; found {:?}", letters.keys()));
        assert_eq!(doc["reason"], *reason, "{doc}");
        assert_eq!(doc["shard_id"], shard.as_str(), "{doc}");
        assert_eq!(doc["sequence_number"], sequence.as_str(), "{doc}");
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(doc["raw_base64"].as_str().unwrap_or_default())
            .unwrap();
        assert_eq!(&raw, data, "the dead letter keeps the record as it came");
    }
    assert_eq!(counts.dead_lettered, bad.len() as u64, "{counts:?}");
    assert_eq!(counts.new, good.len() as u64, "{counts:?}");
    assert_eq!(counts.payloads, counts.decoded + counts.dead_lettered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_of_both_shards_is_followed_without_loss_or_repeat() {
    let Some(Scenario {
        moto,
        names,
        dir,
        aws,
    }) = Scenario::start("merge").await
    else {
        return;
    };
    let slack = SlackServer::start(Vec::new()).await;
    let fps = fingerprints(3, 0xd100);
    let events = good_events(&fps, 10, 4_000);
    let payloads: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
    let placed = testing::put_records(&moto, &names.stream, &spread(&payloads, "merge"))
        .await
        .unwrap();
    assert_eq!(shards_used(&placed).len(), 2, "records on both shards");

    let mut a = Replica::start("replica-a", &names, &moto, &slack, dir.path(), &[]);
    let mut b = Replica::start("replica-b", &names, &moto, &slack, dir.path(), &[]);
    let leases = testing::dynamo_lease_store(&moto, &names.lease_table(), &names.stream);
    wait_until(
        "both parent shards leased",
        &mut [&mut a, &mut b],
        || async {
            let ls = leases.leases().await.unwrap_or_default();
            ls.len() == 2 && ls.iter().all(|l| l.owner.is_some())
        },
    )
    .await;

    // On moto the merged child holds copies of both parents' records (docs/stream.md), so
    // every event is read twice: once from a parent, once from the child.
    let kinesis = testing::kinesis_client(&moto);
    let child = testing::merge_first_two_shards(&kinesis, &names.stream)
        .await
        .unwrap();
    let child_last = last_sequence_number(&kinesis, &names.stream, &child).await;

    wait_until(
        "both parents finished and the child read to its last record",
        &mut [&mut a, &mut b],
        || async {
            let ls = leases.leases().await.unwrap_or_default();
            let parents_done = ls
                .iter()
                .filter(|l| l.shard_id != child)
                .all(|l| l.finished);
            let child_read = ls
                .iter()
                .any(|l| l.shard_id == child && l.checkpoint.as_ref() == Some(&child_last));
            ls.len() == 3 && parents_done && child_read
        },
    )
    .await;
    wait_for_incidents_and_alerts(&mut [&mut a, &mut b], &aws, &names, &slack, &fps, 10).await;
    let child_lease = leases
        .leases()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.shard_id == child)
        .expect("the child's lease");
    let mut parents = child_lease.parent_shard_ids.clone();
    parents.sort();
    assert_eq!(parents, ["shardId-000000000000", "shardId-000000000001"]);
    tokio::time::sleep(GROUP_WAIT * 2).await;
    let counts = a.stop().await.add(b.stop().await);

    assert_one_message_per_fingerprint(&slack, &fps);
    assert_eq!(counts.new, events.len() as u64, "{counts:?}");
    assert_eq!(counts.decoded, counts.new + counts.duplicates, "{counts:?}");
    // The child's copies were read too, and dropped as repeats.
    assert!(
        counts.duplicates >= events.len() as u64,
        "the child's copies were read and dropped: {counts:?}"
    );
}
