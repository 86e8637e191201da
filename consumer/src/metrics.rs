//! The consumer's counters, rendered as Prometheus text for `/metrics`, and the
//! reconciliation that proves no record was lost: every payload read is decoded or
//! dead-lettered, and every decoded event is skipped, new or a duplicate.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::decode::RejectReason;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardLagSnapshot {
    pub shard_id: String,
    pub millis_behind_latest: i64,
    pub checkpoint_age_secs: f64,
}

#[derive(Default)]
pub struct Metrics {
    pub records_read: AtomicU64,
    /// Payloads found in records: events in a record, or the whole record when it could
    /// not even be split (decompression error, oversized).
    pub payloads: AtomicU64,
    pub events_decoded: AtomicU64,
    dead_lettered: [AtomicU64; RejectReason::ALL.len()],
    /// Decoded events that are not alertable (a Fluent Bit file holds every event).
    pub events_not_alertable: AtomicU64,
    pub events_new: AtomicU64,
    pub duplicates: AtomicU64,
    pub incidents_opened: AtomicU64,
    pub alerts_claimed: AtomicU64,
    pub alerts_sent: AtomicU64,
    pub alerts_failed: AtomicU64,
    pub alerts_retried: AtomicU64,
    /// New events folded into an already alerted incident instead of a message of their own.
    pub alerts_suppressed: AtomicU64,
    pub checkpoints: AtomicU64,
    pub ready: std::sync::atomic::AtomicBool,
    /// The analysis's own counters (LLM calls, tokens, cache, fallbacks), shared with the
    /// analysis pipeline and rendered after the consumer's.
    pub analysis: std::sync::Arc<cali_analysis::AnalysisMetrics>,
    lag: Mutex<Vec<ShardLagSnapshot>>,
}

fn reason_index(reason: RejectReason) -> usize {
    RejectReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

/// The books balance when both sums hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciliation {
    pub payloads: u64,
    pub decoded: u64,
    pub dead_lettered: u64,
    pub not_alertable: u64,
    pub new: u64,
    pub duplicates: u64,
}

impl Reconciliation {
    pub fn balanced(&self) -> bool {
        self.payloads == self.decoded + self.dead_lettered
            && self.decoded == self.not_alertable + self.new + self.duplicates
    }
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn dead_lettered(&self, reason: RejectReason) {
        self.dead_lettered[reason_index(reason)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub fn dead_lettered_by(&self, reason: RejectReason) -> u64 {
        self.dead_lettered[reason_index(reason)].load(Ordering::Relaxed)
    }

    pub fn set_lag(&self, lag: Vec<ShardLagSnapshot>) {
        *self.lag.lock().unwrap_or_else(|p| p.into_inner()) = lag;
    }

    pub fn reconciliation(&self) -> Reconciliation {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Reconciliation {
            payloads: get(&self.payloads),
            decoded: get(&self.events_decoded),
            dead_lettered: self.dead_lettered_total(),
            not_alertable: get(&self.events_not_alertable),
            new: get(&self.events_new),
            duplicates: get(&self.duplicates),
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "cali_records_read_total",
            "Records read from the source.",
            get(&self.records_read),
        );
        counter(
            "cali_payloads_total",
            "Payloads in those records (events, or whole records that could not be split).",
            get(&self.payloads),
        );
        counter(
            "cali_events_decoded_total",
            "Payloads decoded into valid cali.event/v1 events.",
            get(&self.events_decoded),
        );
        counter(
            "cali_events_not_alertable_total",
            "Decoded events with alertable=false (not grouped).",
            get(&self.events_not_alertable),
        );
        counter(
            "cali_events_new_total",
            "Alertable events seen for the first time and folded into an incident.",
            get(&self.events_new),
        );
        counter(
            "cali_duplicates_total",
            "Events dropped because their event_id was seen within the dedupe window.",
            get(&self.duplicates),
        );
        counter(
            "cali_incidents_opened_total",
            "Incidents opened.",
            get(&self.incidents_opened),
        );
        counter(
            "cali_alerts_claimed_total",
            "Alert messages claimed and queued by this replica.",
            get(&self.alerts_claimed),
        );
        counter(
            "cali_alerts_sent_total",
            "Alert messages the webhook accepted.",
            get(&self.alerts_sent),
        );
        counter(
            "cali_alerts_failed_total",
            "Alert messages given up on (webhook rejected them or retries ran out).",
            get(&self.alerts_failed),
        );
        counter(
            "cali_alerts_retried_total",
            "Delivery attempts that will be retried (429, 5xx, timeouts).",
            get(&self.alerts_retried),
        );
        counter(
            "cali_alerts_suppressed_total",
            "Events folded into an already alerted incident instead of a message of their own.",
            get(&self.alerts_suppressed),
        );
        counter(
            "cali_checkpoints_total",
            "Checkpoints written.",
            get(&self.checkpoints),
        );
        let _ = writeln!(out, "# HELP cali_dead_lettered_total Payloads sent to the dead-letter store, by reason.\n# TYPE cali_dead_lettered_total counter");
        for reason in RejectReason::ALL {
            let _ = writeln!(
                out,
                "cali_dead_lettered_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.dead_lettered_by(reason)
            );
        }
        let r = self.reconciliation();
        let _ = writeln!(out, "# HELP cali_reconciled 1 when payloads = decoded + dead-lettered and decoded = not alertable + new + duplicates.\n# TYPE cali_reconciled gauge\ncali_reconciled {}", u8::from(r.balanced()));
        let lag = self.lag.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let _ = writeln!(out, "# HELP cali_shard_millis_behind_latest How far this replica's read position is behind the tip of each held shard.\n# TYPE cali_shard_millis_behind_latest gauge");
        for l in &lag {
            let _ = writeln!(
                out,
                "cali_shard_millis_behind_latest{{shard=\"{}\"}} {}",
                l.shard_id, l.millis_behind_latest
            );
        }
        let _ = writeln!(out, "# HELP cali_checkpoint_age_seconds Seconds since each held shard's checkpoint last moved.\n# TYPE cali_checkpoint_age_seconds gauge");
        for l in &lag {
            let _ = writeln!(
                out,
                "cali_checkpoint_age_seconds{{shard=\"{}\"}} {}",
                l.shard_id, l.checkpoint_age_secs
            );
        }
        self.analysis.render_prometheus(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_counters_reasons_and_lag() {
        let m = Metrics::default();
        Metrics::add(&m.payloads, 3);
        Metrics::add(&m.events_decoded, 2);
        Metrics::add(&m.events_new, 2);
        m.dead_lettered(RejectReason::NotJson);
        m.set_lag(vec![ShardLagSnapshot {
            shard_id: "shardId-0".into(),
            millis_behind_latest: 5,
            checkpoint_age_secs: 1.5,
        }]);
        let text = m.render();
        assert!(text.contains("cali_dead_lettered_total{reason=\"not_json\"} 1"));
        assert!(text.contains("cali_shard_millis_behind_latest{shard=\"shardId-0\"} 5"));
        assert!(text.contains("cali_reconciled 1"));
        m.analysis.analyses.fetch_add(1, Ordering::Relaxed);
        assert!(m.render().contains("cali_analysis_analyses_total 1"));
        Metrics::add(&m.payloads, 1);
        assert!(!m.reconciliation().balanced());
    }
}
