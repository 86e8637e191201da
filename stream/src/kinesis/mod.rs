//! Reads a Kinesis data stream: discovers shards (following resharding), holds some of
//! them under leases shared with the other replicas, polls each held shard within its
//! limits and moves checkpoints only when the consumer says records are handled.

mod backoff;
mod config;
mod renewer;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::types::ShardIteratorType;
use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use backoff::Backoff;
pub use config::{InitialPosition, KinesisConfig};
use renewer::{HeldLeases, LeaseHold};

use crate::lease::{leases_to_take, open_lease_store, LeaseStore, ShardLease};
use crate::{compare_sequence_numbers, Batch, RecordSource, ShardLag, SourceError, SourceRecord};

/// Kinesis allows 5 `GetRecords` calls per second per shard.
const MIN_POLL_GAP: Duration = Duration::from_millis(200);
/// Kinesis serves 2 MiB per second per shard; reading faster only earns throttling.
const SHARD_BYTES_PER_SEC: u64 = 2 * 1024 * 1024;

/// A Kinesis client with the configured region and endpoint, and timeouts short enough
/// that a dead endpoint is reported within seconds.
fn kinesis_client(
    config: &KinesisConfig,
    sdk_config: &aws_config::SdkConfig,
) -> aws_sdk_kinesis::Client {
    let mut builder = aws_sdk_kinesis::config::Builder::from(sdk_config).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(15))
            .build(),
    );
    if let Some(region) = &config.region {
        builder = builder.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_kinesis::Client::from_conf(builder.build())
}

/// One held shard being read.
#[derive(Debug)]
struct ShardReader {
    shard_id: String,
    counter: u64,
    iterator: Option<String>,
    /// Where a new iterator starts: after the last record handed out, else after the
    /// checkpoint, else the initial position.
    resume_after: Option<String>,
    checkpoint: Option<String>,
    checkpointed_at: Instant,
    /// Last sequence number handed out in a batch.
    last_delivered: Option<String>,
    /// `GetRecords` returned no next iterator: the shard is closed and read to its end.
    end_reached: bool,
    next_poll: Instant,
    backoff: Backoff,
    millis_behind_latest: i64,
}

impl ShardReader {
    fn new(lease: &ShardLease) -> Self {
        ShardReader {
            shard_id: lease.shard_id.clone(),
            counter: lease.counter,
            iterator: None,
            resume_after: lease.checkpoint.clone(),
            checkpoint: lease.checkpoint.clone(),
            checkpointed_at: Instant::now(),
            last_delivered: None,
            end_reached: false,
            next_poll: Instant::now(),
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(30)),
            millis_behind_latest: 0,
        }
    }

    /// Closed, read to the end, and everything handed out is checkpointed.
    fn is_done(&self) -> bool {
        if !self.end_reached {
            return false;
        }
        match (&self.last_delivered, &self.checkpoint) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(last), Some(checkpoint)) => {
                compare_sequence_numbers(checkpoint, last).is_ok_and(|o| o.is_ge())
            }
        }
    }
}

/// What one poll of a shard produced.
enum Poll {
    Records(Batch),
    Nothing,
}

/// Records of a Kinesis stream, from the shards this replica holds leases on.
///
/// `next_batch` is cancel-safe: dropping its future (e.g. in `tokio::select!` on a
/// shutdown signal) loses no record. Dropping the source without `shutdown` leaves its
/// leases to expire, as if the process had died.
pub struct KinesisSource {
    config: KinesisConfig,
    kinesis: aws_sdk_kinesis::Client,
    leases: Arc<dyn LeaseStore>,
    readers: HashMap<String, ShardReader>,
    held: HeldLeases,
    /// Shards whose lease this replica lost or released; their checkpoints answer
    /// `LeaseLost`.
    lost: HashSet<String>,
    /// Closed shards this replica read to the end and finished; late checkpoints for them
    /// have nothing left to do.
    finished: HashSet<String>,
    registered: HashSet<String>,
    /// `EndingSequenceNumber` of closed shards, from the last `ListShards`.
    closed: HashMap<String, String>,
    renewer: JoinHandle<()>,
    next_shard_sync: Instant,
    next_lease_round: Instant,
    retry_at: Option<Instant>,
    backoff: Backoff,
    shut_down: bool,
}

impl KinesisSource {
    /// Connects with the default AWS credential chain (environment, profile, IRSA web
    /// identity on EKS, instance metadata) and opens the lease store. Kinesis itself is
    /// first called by `next_batch`.
    pub async fn new(config: KinesisConfig) -> Result<Self, SourceError> {
        config.validate()?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk_config = loader.load().await;
        Self::with_sdk_config(config, &sdk_config).await
    }

    /// Like [`KinesisSource::new`] with credentials and region already loaded (shared with
    /// other AWS clients of the process, or static test credentials).
    pub async fn with_sdk_config(
        config: KinesisConfig,
        sdk_config: &aws_config::SdkConfig,
    ) -> Result<Self, SourceError> {
        config.validate()?;
        let kinesis = kinesis_client(&config, sdk_config);
        let leases = open_lease_store(&config.lease_store, &config.stream_name, sdk_config).await?;
        Ok(Self::assemble(config, kinesis, leases))
    }

    /// A source over an already opened lease store (tests share one store between
    /// "replicas", or use a store of their own).
    pub fn with_lease_store(
        config: KinesisConfig,
        sdk_config: &aws_config::SdkConfig,
        leases: Arc<dyn LeaseStore>,
    ) -> Result<Self, SourceError> {
        config.validate()?;
        let kinesis = kinesis_client(&config, sdk_config);
        Ok(Self::assemble(config, kinesis, leases))
    }

    fn assemble(
        config: KinesisConfig,
        kinesis: aws_sdk_kinesis::Client,
        leases: Arc<dyn LeaseStore>,
    ) -> Self {
        let held: HeldLeases = Arc::new(Mutex::new(HashMap::new()));
        let renewer = tokio::spawn(renewer::renew_leases(
            Arc::clone(&leases),
            Arc::clone(&held),
            config.worker_id.clone(),
            Arc::clone(&config.clock),
            config.lease_duration,
            config.lease_duration / 3,
        ));
        let now = Instant::now();
        KinesisSource {
            config,
            kinesis,
            leases,
            readers: HashMap::new(),
            held,
            lost: HashSet::new(),
            finished: HashSet::new(),
            registered: HashSet::new(),
            closed: HashMap::new(),
            renewer,
            next_shard_sync: now,
            next_lease_round: now,
            retry_at: None,
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
            shut_down: false,
        }
    }

    /// The shards this replica reads now, sorted.
    pub fn held_shards(&self) -> Vec<String> {
        let mut shards: Vec<String> = self.readers.keys().cloned().collect();
        shards.sort();
        shards
    }

    /// Held shards that are closed and read to their end but not finished yet, sorted.
    /// Each is finished (the SHARD_END checkpoint, which lets its children start) once
    /// every record handed out from it is checkpointed; a consumer that holds checkpoints
    /// back (to write them in groups) should write these at once.
    pub fn shards_at_end(&self) -> Vec<String> {
        let mut shards: Vec<String> = self
            .readers
            .values()
            .filter(|r| r.end_reached)
            .map(|r| r.shard_id.clone())
            .collect();
        shards.sort();
        shards
    }

    /// The lease store this source uses (e.g. to inspect leases in tests or tools).
    pub fn lease_store(&self) -> Arc<dyn LeaseStore> {
        Arc::clone(&self.leases)
    }

    fn aws_error<E>(&self, operation: &str, err: aws_sdk_kinesis::error::SdkError<E>) -> SourceError
    where
        E: std::error::Error + 'static,
    {
        let endpoint = self
            .config
            .endpoint_url
            .as_deref()
            .unwrap_or("the regional endpoint");
        SourceError::Aws(format!(
            "Kinesis {operation} on stream {} at {endpoint}: {}",
            self.config.stream_name,
            DisplayErrorContext(&err)
        ))
    }

    /// Schedules the next attempt of a failed stream-wide step and hands the error back.
    fn fail_for_now(&mut self, err: SourceError) -> SourceError {
        let delay = self.backoff.next_delay();
        tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "Kinesis source step failed");
        self.retry_at = Some(Instant::now() + delay);
        err
    }

    fn now_ms(&self) -> i64 {
        self.config.clock.now_millis()
    }

    /// Lists every shard (paginated) and registers a lease for each new one.
    async fn sync_shards(&mut self) -> Result<(), SourceError> {
        let mut shards = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = match &next_token {
                Some(token) => self.kinesis.list_shards().next_token(token),
                None => self
                    .kinesis
                    .list_shards()
                    .stream_name(&self.config.stream_name),
            };
            let page = request
                .send()
                .await
                .map_err(|e| self.aws_error("ListShards", e))?;
            shards.extend(page.shards().iter().cloned());
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        for shard in &shards {
            let shard_id = shard.shard_id();
            let ending = shard
                .sequence_number_range()
                .and_then(|r| r.ending_sequence_number());
            if let Some(ending) = ending {
                self.closed.insert(shard_id.to_string(), ending.to_string());
            }
            if self.registered.contains(shard_id) {
                continue;
            }
            let parents: Vec<String> = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .map(str::to_string)
                .collect();
            self.leases.register(shard_id, &parents).await?;
            tracing::info!(shard_id, ?parents, "shard found");
            self.registered.insert(shard_id.to_string());
        }
        Ok(())
    }

    /// Takes free, expired or (for balance) stolen leases, and notices leases taken away.
    async fn take_leases(&mut self) -> Result<(), SourceError> {
        let leases = self.leases.leases().await?;
        let me = self.config.worker_id.clone();
        for lease in &leases {
            if let Some(reader) = self.readers.get(&lease.shard_id) {
                if lease.owner.as_deref() != Some(me.as_str()) || lease.counter != reader.counter {
                    self.mark_lost(&lease.shard_id.clone());
                }
            }
        }
        let held: HashSet<String> = self.readers.keys().cloned().collect();
        let now = self.now_ms();
        for lease in leases_to_take(&leases, &me, &held, now, self.config.max_leases) {
            let expires = now + self.config.lease_duration.as_millis() as i64;
            let Some(taken) = self.leases.take(&lease, &me, expires).await? else {
                tracing::debug!(
                    shard_id = lease.shard_id,
                    "lease changed before it could be taken"
                );
                continue;
            };
            tracing::info!(
                shard_id = taken.shard_id,
                worker_id = me,
                previous_owner = lease.owner.as_deref().unwrap_or("-"),
                checkpoint = taken.checkpoint.as_deref().unwrap_or("-"),
                "lease taken"
            );
            if let Ok(mut held) = self.held.lock() {
                held.insert(
                    taken.shard_id.clone(),
                    LeaseHold {
                        counter: taken.counter,
                        valid_until_ms: expires,
                        lost: false,
                    },
                );
            }
            self.lost.remove(&taken.shard_id);
            self.readers
                .insert(taken.shard_id.clone(), ShardReader::new(&taken));
        }
        Ok(())
    }

    fn mark_lost(&mut self, shard_id: &str) {
        tracing::warn!(shard_id, "lease lost; this replica stops reading the shard");
        self.readers.remove(shard_id);
        if let Ok(mut held) = self.held.lock() {
            held.remove(shard_id);
        }
        self.lost.insert(shard_id.to_string());
    }

    /// Drops shards whose lease the renewer saw taken, or could not renew in time.
    fn drop_lost_leases(&mut self) {
        let now = self.now_ms();
        let gone: Vec<String> = match self.held.lock() {
            Ok(held) => held
                .iter()
                .filter(|(_, hold)| hold.lost || hold.valid_until_ms <= now)
                .map(|(shard, _)| shard.clone())
                .collect(),
            Err(_) => return,
        };
        for shard_id in gone {
            self.mark_lost(&shard_id);
        }
    }

    /// Marks read-out, fully checkpointed shards finished so their children can start.
    async fn finish_done_shards(&mut self) -> Result<(), SourceError> {
        let done: Vec<String> = self
            .readers
            .values()
            .filter(|r| r.is_done())
            .map(|r| r.shard_id.clone())
            .collect();
        for shard_id in done {
            self.finish_shard(&shard_id).await?;
        }
        Ok(())
    }

    async fn finish_shard(&mut self, shard_id: &str) -> Result<(), SourceError> {
        let Some(reader) = self.readers.get(shard_id) else {
            return Ok(());
        };
        let finished = self
            .leases
            .finish(
                shard_id,
                &self.config.worker_id,
                reader.counter,
                self.now_ms(),
            )
            .await?;
        if !finished {
            self.mark_lost(shard_id);
            return Ok(());
        }
        tracing::info!(shard_id, "shard finished (SHARD_END checkpointed)");
        self.readers.remove(shard_id);
        self.finished.insert(shard_id.to_string());
        if let Ok(mut held) = self.held.lock() {
            held.remove(shard_id);
        }
        // Its children may be new to this replica and are readable now.
        self.next_shard_sync = Instant::now();
        self.next_lease_round = Instant::now();
        Ok(())
    }

    /// One `GetRecords` on `shard_id` (getting an iterator first if needed).
    async fn poll(&mut self, shard_id: &str) -> Result<Poll, SourceError> {
        let Some(reader) = self.readers.get(shard_id) else {
            return Ok(Poll::Nothing);
        };
        let iterator = match reader.iterator.clone() {
            Some(iterator) => iterator,
            None => {
                let request = self
                    .kinesis
                    .get_shard_iterator()
                    .stream_name(&self.config.stream_name)
                    .shard_id(shard_id);
                let request = match (&reader.resume_after, self.config.initial_position) {
                    (Some(after), _) => request
                        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                        .starting_sequence_number(after),
                    (None, InitialPosition::TrimHorizon) => {
                        request.shard_iterator_type(ShardIteratorType::TrimHorizon)
                    }
                    (None, InitialPosition::Latest) => {
                        request.shard_iterator_type(ShardIteratorType::Latest)
                    }
                };
                match request.send().await {
                    Ok(output) => match output.shard_iterator() {
                        Some(iterator) => {
                            // Kept even if the GetRecords below fails, so a retry does not
                            // spend another GetShardIterator call.
                            if let Some(reader) = self.readers.get_mut(shard_id) {
                                reader.iterator = Some(iterator.to_string());
                            }
                            iterator.to_string()
                        }
                        None => {
                            // A closed shard whose every record is behind the position.
                            self.on_shard_end(shard_id);
                            return Ok(Poll::Nothing);
                        }
                    },
                    Err(err) => {
                        let throttled = err
                            .as_service_error()
                            .is_some_and(|e| e.is_provisioned_throughput_exceeded_exception());
                        let err = self.aws_error("GetShardIterator", err);
                        return self.shard_failed(shard_id, err, throttled);
                    }
                }
            }
        };
        let limit = self.config.max_records_per_call;
        let response = self
            .kinesis
            .get_records()
            .shard_iterator(&iterator)
            .limit(limit)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(err) => {
                let service = err.as_service_error();
                if service.is_some_and(|e| e.is_expired_iterator_exception()) {
                    // Iterators live 5 minutes; a slow consumer outlives them.
                    if let Some(reader) = self.readers.get_mut(shard_id) {
                        reader.iterator = None;
                    }
                    return Ok(Poll::Nothing);
                }
                let throttled =
                    service.is_some_and(|e| e.is_provisioned_throughput_exceeded_exception());
                let err = self.aws_error("GetRecords", err);
                return self.shard_failed(shard_id, err, throttled);
            }
        };

        let millis_behind = output.millis_behind_latest();
        let next_iterator = output.next_shard_iterator().map(str::to_string);
        let mut bytes = 0u64;
        let records: Vec<SourceRecord> = output
            .records
            .into_iter()
            .map(|record| {
                bytes += record.data.as_ref().len() as u64;
                SourceRecord {
                    shard_id: shard_id.to_string(),
                    arrival: record
                        .approximate_arrival_timestamp
                        .and_then(|t| SystemTime::try_from(t).ok()),
                    sequence_number: record.sequence_number,
                    partition_key: record.partition_key.unwrap_or_default(),
                    data: Bytes::from(record.data.into_inner()),
                }
            })
            .collect();

        let poll_interval = self.config.poll_interval;
        let Some(reader) = self.readers.get_mut(shard_id) else {
            return Ok(Poll::Nothing);
        };
        reader.backoff.reset();
        reader.millis_behind_latest = millis_behind.unwrap_or(0);
        reader.iterator = next_iterator;
        let now = Instant::now();
        let end = reader.iterator.is_none();
        if let Some(last) = records.last() {
            reader.last_delivered = Some(last.sequence_number.clone());
            reader.resume_after = Some(last.sequence_number.clone());
            let byte_gap = Duration::from_millis(bytes * 1000 / SHARD_BYTES_PER_SEC);
            reader.next_poll = now + MIN_POLL_GAP.max(byte_gap);
        } else if millis_behind.unwrap_or(0) > 0 {
            // Behind the tip but in an empty stretch of the shard: keep going.
            reader.next_poll = now + MIN_POLL_GAP;
        } else {
            reader.next_poll = now + poll_interval;
        }
        // Kinesis ends a closed shard with a null iterator; servers that never do (moto)
        // are caught by the position reaching the shard's ending sequence number.
        let past_end = records.is_empty()
            && self.closed.get(shard_id).is_some_and(|ending| {
                let position = reader.resume_after.as_deref().unwrap_or("0");
                compare_sequence_numbers(position, ending).is_ok_and(|o| o.is_ge())
            });
        if end || past_end {
            self.on_shard_end(shard_id);
        }
        if records.is_empty() {
            return Ok(Poll::Nothing);
        }
        Ok(Poll::Records(Batch {
            shard_id: shard_id.to_string(),
            records,
            millis_behind_latest: millis_behind,
        }))
    }

    fn on_shard_end(&mut self, shard_id: &str) {
        if let Some(reader) = self.readers.get_mut(shard_id) {
            if !reader.end_reached {
                tracing::info!(shard_id, "end of closed shard reached");
            }
            reader.end_reached = true;
            reader.iterator = None;
        }
    }

    /// Backs off a failing shard; throttling is expected and retried quietly, anything
    /// else is also returned to the caller.
    fn shard_failed(
        &mut self,
        shard_id: &str,
        err: SourceError,
        throttled: bool,
    ) -> Result<Poll, SourceError> {
        let Some(reader) = self.readers.get_mut(shard_id) else {
            return Ok(Poll::Nothing);
        };
        let delay = reader.backoff.next_delay();
        reader.next_poll = Instant::now() + delay;
        if throttled {
            tracing::debug!(
                shard_id,
                retry_in_ms = delay.as_millis() as u64,
                "shard throttled"
            );
            return Ok(Poll::Nothing);
        }
        tracing::warn!(shard_id, error = %err, retry_in_ms = delay.as_millis() as u64, "shard read failed");
        Err(err)
    }

    /// Runs the stream-wide steps that are due (re-list shards, lease round).
    async fn housekeeping(&mut self) -> Result<(), SourceError> {
        self.drop_lost_leases();
        let now = Instant::now();
        if now >= self.next_shard_sync {
            self.sync_shards().await?;
            self.next_shard_sync = Instant::now() + self.config.shard_sync_interval;
        }
        if now >= self.next_lease_round {
            self.take_leases().await?;
            self.next_lease_round = Instant::now() + self.config.lease_take_interval;
        }
        self.finish_done_shards().await
    }
}

#[async_trait::async_trait]
impl RecordSource for KinesisSource {
    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError> {
        loop {
            if self.shut_down {
                return Ok(None);
            }
            if let Some(at) = self.retry_at.take() {
                tokio::time::sleep_until(at).await;
            }
            if let Err(err) = self.housekeeping().await {
                return Err(self.fail_for_now(err));
            }
            self.backoff.reset();

            let due = self
                .readers
                .values()
                .filter(|r| !r.end_reached)
                .min_by_key(|r| r.next_poll)
                .map(|r| (r.shard_id.clone(), r.next_poll));
            let wake = self.next_shard_sync.min(self.next_lease_round);
            match due {
                Some((shard_id, at)) if at <= Instant::now() => {
                    if let Poll::Records(batch) = self.poll(&shard_id).await? {
                        return Ok(Some(batch));
                    }
                }
                Some((_, at)) => tokio::time::sleep_until(at.min(wake)).await,
                None => tokio::time::sleep_until(wake).await,
            }
        }
    }

    async fn checkpoint(
        &mut self,
        shard_id: &str,
        sequence_number: &str,
    ) -> Result<(), SourceError> {
        let Some(reader) = self.readers.get(shard_id) else {
            if self.finished.contains(shard_id) {
                return Ok(());
            }
            if self.lost.contains(shard_id) {
                return Err(SourceError::LeaseLost {
                    shard_id: shard_id.to_string(),
                });
            }
            return Err(SourceError::UnknownShard {
                shard_id: shard_id.to_string(),
            });
        };
        if let Some(current) = &reader.checkpoint {
            if compare_sequence_numbers(sequence_number, current)?.is_le() {
                return Ok(());
            }
        } else {
            compare_sequence_numbers(sequence_number, "0")?;
        }
        let counter = reader.counter;
        let stored = self
            .leases
            .checkpoint(
                shard_id,
                &self.config.worker_id,
                counter,
                sequence_number,
                self.now_ms(),
            )
            .await?;
        if !stored {
            self.mark_lost(shard_id);
            return Err(SourceError::LeaseLost {
                shard_id: shard_id.to_string(),
            });
        }
        if let Some(reader) = self.readers.get_mut(shard_id) {
            reader.checkpoint = Some(sequence_number.to_string());
            reader.checkpointed_at = Instant::now();
            if reader.is_done() {
                self.finish_shard(shard_id).await?;
            }
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), SourceError> {
        self.shut_down = true;
        self.renewer.abort();
        let mut first_error = None;
        let readers: Vec<(String, u64)> = self
            .readers
            .drain()
            .map(|(shard, reader)| (shard, reader.counter))
            .collect();
        for (shard_id, counter) in readers {
            self.lost.insert(shard_id.clone());
            match self
                .leases
                .release(&shard_id, &self.config.worker_id, counter)
                .await
            {
                Ok(true) => tracing::info!(shard_id, "lease released"),
                Ok(false) => tracing::warn!(shard_id, "lease was already taken by another replica"),
                Err(err) => {
                    tracing::warn!(shard_id, error = %err, "lease release failed; it will expire");
                    first_error.get_or_insert(err);
                }
            }
        }
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
        first_error.map_or(Ok(()), Err)
    }

    fn lag(&self) -> Vec<ShardLag> {
        let mut lag: Vec<ShardLag> = self
            .readers
            .values()
            .map(|r| ShardLag {
                shard_id: r.shard_id.clone(),
                millis_behind_latest: r.millis_behind_latest,
                checkpoint_age_secs: r.checkpointed_at.elapsed().as_secs_f64(),
            })
            .collect();
        lag.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
        lag
    }
}

impl Drop for KinesisSource {
    fn drop(&mut self) {
        // Without shutdown the leases are left to expire, as after a crash.
        self.renewer.abort();
    }
}
