//! Joins the stages: record → decode (bad → dead letter) → drop duplicates → incident;
//! incidents → alert policy → analysis → claim + outbox. The checkpoint of a batch moves
//! only after its dead letters are written and its events are recorded in the state store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cali_analysis::Analyzer;
use cali_stream::{Batch, RecordSource, SourceError};
use tokio::sync::watch;

use crate::alert::{AlertPolicy, Due};
use crate::clock::{rfc3339, Clock};
use crate::dead_letter::{DeadLetter, DeadLetterError, DeadLetterStore};
use crate::decode::decode_record;
use crate::dedupe::RecentIds;
use crate::event::Event;
use crate::incident::FoldRules;
use crate::metrics::{Metrics, ShardLagSnapshot};
use crate::slack::AlertMessage;
use crate::state::{AlertClaim, DedupeRules, OutboxMessage, OutboxStatus, StateError, StateStore};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error("record source: {0}")]
    Source(#[from] SourceError),
}

/// The stages' settings, taken from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_record_bytes: usize,
    pub dedupe: DedupeRules,
    pub memory_ids: usize,
    pub fold: FoldRules,
    pub policy: AlertPolicy,
    pub evaluate_interval: Duration,
    /// Queue Slack messages in the outbox (a webhook is configured).
    pub queue_slack: bool,
    pub logs_url_template: Option<String>,
}

/// Receives every alert this replica claimed, rendered for a terminal.
pub type AlertPrinter = Arc<dyn Fn(&str) + Send + Sync>;

pub fn stdout_printer() -> AlertPrinter {
    Arc::new(|text| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    })
}

pub struct Pipeline {
    pub store: Arc<dyn StateStore>,
    pub dead_letters: Arc<dyn DeadLetterStore>,
    pub analyzer: Arc<dyn Analyzer>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    pub printer: AlertPrinter,
    recent: Mutex<RecentIds>,
}

/// What a batch held, before it is counted (counted only once it is durable, so a retried
/// batch is not counted twice).
#[derive(Default)]
struct BatchTally {
    records: u64,
    payloads: u64,
    decoded: u64,
    not_alertable: u64,
    dead: Vec<DeadLetter>,
}

impl Pipeline {
    pub fn new(
        store: Arc<dyn StateStore>,
        dead_letters: Arc<dyn DeadLetterStore>,
        analyzer: Arc<dyn Analyzer>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: Settings,
        printer: AlertPrinter,
    ) -> Self {
        let recent = RecentIds::new(settings.memory_ids, settings.dedupe.window_ms);
        Self {
            store,
            dead_letters,
            analyzer,
            clock,
            metrics,
            settings,
            printer,
            recent: Mutex::new(recent),
        }
    }

    /// Decodes a batch, dead-letters what is not an event and records the events. When this
    /// returns `Ok`, the batch's effects are durable and its checkpoint may move.
    pub async fn process_batch(&self, batch: &Batch) -> Result<(), PipelineError> {
        let now = self.clock.now_ms();
        let mut tally = BatchTally::default();
        let mut events: Vec<Event> = Vec::new();
        for record in &batch.records {
            tally.records += 1;
            let decoded = decode_record(&record.data, self.settings.max_record_bytes);
            tally.payloads += (decoded.events.len() + decoded.rejected.len()) as u64;
            tally.decoded += decoded.events.len() as u64;
            for (index, rejected) in decoded.rejected.into_iter().enumerate() {
                tally.dead.push(DeadLetter::new(
                    rejected.reason,
                    rejected.detail,
                    &record.shard_id,
                    &record.sequence_number,
                    index as u32,
                    rfc3339(now),
                    &rejected.raw,
                ));
            }
            for event in decoded.events {
                if event.alertable {
                    events.push(event);
                } else {
                    tally.not_alertable += 1;
                }
            }
        }
        if !tally.dead.is_empty() {
            self.dead_letters.put(&tally.dead).await?;
        }
        let (fresh, remembered_dups) = {
            let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            let before = events.len();
            events.retain(|e| !recent.contains(&e.event_id, now));
            let dups = (before - events.len()) as u64;
            (events, dups)
        };
        let recorded = if fresh.is_empty() {
            Default::default()
        } else {
            self.store
                .record_events(&fresh, now, &self.settings.dedupe, &self.settings.fold)
                .await?
        };
        {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            for e in &fresh {
                recent.remember(&e.event_id, now);
            }
        }
        let m = &self.metrics;
        Metrics::add(&m.records_read, tally.records);
        Metrics::add(&m.payloads, tally.payloads);
        Metrics::add(&m.events_decoded, tally.decoded);
        Metrics::add(&m.events_not_alertable, tally.not_alertable);
        for d in &tally.dead {
            m.dead_lettered(d.reason);
            tracing::warn!(reason = d.reason.as_str(), detail = %d.detail, shard = %d.shard_id, sequence_number = %d.sequence_number, "dead-lettered");
        }
        Metrics::add(&m.events_new, recorded.new);
        Metrics::add(&m.duplicates, recorded.duplicates + remembered_dups);
        Metrics::add(&m.incidents_opened, recorded.incidents_opened);
        Metrics::add(&m.alerts_suppressed, recorded.folded_after_alert);
        Ok(())
    }

    /// Claims and queues every alert that is due now; `flush` ignores group wait (nothing
    /// more is coming). Returns how many this replica claimed.
    pub async fn evaluate_alerts(&self, flush: bool) -> Result<usize, PipelineError> {
        let incidents = self.store.incidents().await?;
        let mut claimed = 0;
        for incident in incidents {
            let now = self.clock.now_ms();
            let Some(due) = self.settings.policy.due(&incident, now, flush) else {
                continue;
            };
            let analysis = self.analyzer.analyze(&incident.to_input()).await;
            let id = format!(
                "{}-{}-{}",
                incident.fingerprint,
                incident.opened_ms,
                incident.alert.sent + 1
            );
            let message = AlertMessage {
                incident: &incident,
                analysis: &analysis,
                due,
                id: &id,
                logs_url_template: self.settings.logs_url_template.as_deref(),
            };
            let queued = self.settings.queue_slack.then(|| OutboxMessage {
                id: id.clone(),
                fingerprint: incident.fingerprint.clone(),
                created_ms: now,
                body: message.to_slack().to_string(),
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_ms: now,
                last_error: None,
            });
            let claim = AlertClaim {
                fingerprint: incident.fingerprint.clone(),
                opened_ms: incident.opened_ms,
                expected_sent: incident.alert.sent,
                now_ms: now,
                alerted_count: incident.count,
                alerted_pods: incident.pods.len() as u32,
                message: queued,
            };
            if self.store.claim_alert(&claim).await? {
                claimed += 1;
                Metrics::add(&self.metrics.alerts_claimed, 1);
                tracing::info!(alert = %id, fingerprint = %incident.fingerprint, count = incident.count, update = due == Due::Update, "alert claimed");
                (self.printer)(&message.to_terminal());
            }
        }
        Ok(claimed)
    }

    /// Evaluates the alert policy every `evaluate_interval` until `stop` is set.
    pub async fn run_policy(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.settings.evaluate_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune = self.clock.now_ms();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.evaluate_alerts(false).await {
                tracing::error!(error = %e, "alert evaluation failed");
            }
            let now = self.clock.now_ms();
            if now - last_prune > 60_000 {
                last_prune = now;
                if let Err(e) = self.store.prune(now, &self.settings.dedupe).await {
                    tracing::error!(error = %e, "dedupe prune failed");
                }
            }
        }
    }

    /// Reads `source` until it ends or `stop` is set: each batch is processed (retried
    /// while the stores fail), then checkpointed. Releases the source at the end.
    pub async fn consume(
        &self,
        source: &mut dyn RecordSource,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), PipelineError> {
        let result = self.consume_until_stopped(source, &mut stop).await;
        let released = source.shutdown().await;
        result?;
        released?;
        Ok(())
    }

    async fn consume_until_stopped(
        &self,
        source: &mut dyn RecordSource,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), PipelineError> {
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let next = tokio::select! {
                biased;
                changed = stop.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    continue;
                }
                next = source.next_batch() => next,
            };
            let batch = match next {
                Ok(Some(batch)) => batch,
                Ok(None) => return Ok(()),
                Err(e) if e.is_fatal() => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "reading failed; the source retries");
                    continue;
                }
            };
            if !self.process_with_retry(&batch, stop).await {
                // Stopped while the stores were failing: this batch is not checkpointed
                // and will be read again.
                return Ok(());
            }
            if let Some(last) = batch.records.last() {
                match source
                    .checkpoint(&batch.shard_id, &last.sequence_number)
                    .await
                {
                    Ok(()) => Metrics::add(&self.metrics.checkpoints, 1),
                    Err(e) if e.is_fatal() => return Err(e.into()),
                    // A lost lease: the new holder replays from the last checkpoint, and
                    // dedupe drops what this replica already recorded.
                    Err(e) => {
                        tracing::warn!(error = %e, shard = %batch.shard_id, "checkpoint failed")
                    }
                }
            }
            self.metrics.set_lag(
                source
                    .lag()
                    .into_iter()
                    .map(|l| ShardLagSnapshot {
                        shard_id: l.shard_id,
                        millis_behind_latest: l.millis_behind_latest,
                        checkpoint_age_secs: l.checkpoint_age_secs,
                    })
                    .collect(),
            );
        }
    }

    /// `false` when stopped before the batch could be made durable.
    async fn process_with_retry(&self, batch: &Batch, stop: &mut watch::Receiver<bool>) -> bool {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.process_batch(batch).await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::error!(error = %e, shard = %batch.shard_id, retry_in_ms = delay.as_millis() as u64, "batch not recorded; retrying");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return false;
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    /// Logs the books at shutdown: every payload decoded or dead-lettered, every event
    /// skipped, new or a duplicate.
    pub fn log_reconciliation(&self) {
        let r = self.metrics.reconciliation();
        // The same fields at either level.
        macro_rules! books {
            ($level:ident, $message:literal) => {
                tracing::$level!(
                    payloads = r.payloads,
                    decoded = r.decoded,
                    dead_lettered = r.dead_lettered,
                    not_alertable = r.not_alertable,
                    new = r.new,
                    duplicates = r.duplicates,
                    $message
                )
            };
        }
        if r.balanced() {
            books!(info, "counts reconcile");
        } else {
            books!(error, "counts do not reconcile");
        }
    }
}
