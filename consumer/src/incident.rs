//! An incident is one fingerprint within a time window: the first and last time it was
//! seen, how often, on which pods and versions, with a sample event. Events fold into the
//! open incident; one arriving after the window has passed opens a new one.

use serde::{Deserialize, Serialize};

use crate::clock::parse_rfc3339;
use crate::event::Event;

/// How events fold into incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldRules {
    /// An event later than the incident's last event by more than this opens a new incident.
    pub incident_window_ms: i64,
    /// At most this many pods and versions are remembered per incident.
    pub max_pods: usize,
}

/// Where an incident stands with its alerts; written only by alert claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// Messages claimed for this incident so far.
    pub sent: u32,
    /// When the last message was claimed (processing time, ms).
    pub last_sent_ms: Option<i64>,
    /// The incident's count when the last message was claimed.
    pub alerted_count: u64,
    /// How many pods the last message named.
    pub alerted_pods: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub fingerprint: String,
    /// When this consumer opened the incident (processing time, ms): group wait counts from here.
    pub opened_ms: i64,
    pub service: Option<String>,
    pub namespace: Option<String>,
    pub count: u64,
    /// Event time of the earliest and latest event (ms).
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub pods: Vec<String>,
    pub versions: Vec<String>,
    pub sample: Event,
    pub alert: AlertState,
}

/// What folding one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    /// The event opened a new incident (first of its fingerprint, or after the window).
    Opened,
    /// Counted into an incident that has not been alerted yet.
    Counted,
    /// Counted into an incident already alerted: it waits for the next update message.
    CountedAfterAlert,
}

/// The event's time, or `now_ms` for the rare event whose timestamp does not parse.
pub fn event_ms(event: &Event, now_ms: i64) -> i64 {
    parse_rfc3339(&event.timestamp).unwrap_or(now_ms)
}

impl Incident {
    pub fn open(event: &Event, now_ms: i64, rules: &FoldRules) -> Self {
        let at = event_ms(event, now_ms);
        let mut incident = Incident {
            fingerprint: event.fingerprint.clone(),
            opened_ms: now_ms,
            service: event.service.clone(),
            namespace: event.namespace().map(str::to_string),
            count: 1,
            first_seen_ms: at,
            last_seen_ms: at,
            pods: Vec::new(),
            versions: Vec::new(),
            sample: event.clone(),
            alert: AlertState::default(),
        };
        incident.remember(event, rules);
        incident
    }

    /// Folds one event (already known to be new) into this incident, or replaces it with a
    /// new incident when the window has passed.
    pub fn fold(&mut self, event: &Event, now_ms: i64, rules: &FoldRules) -> Folded {
        let at = event_ms(event, now_ms);
        if at > self.last_seen_ms.saturating_add(rules.incident_window_ms) {
            *self = Incident::open(event, now_ms, rules);
            return Folded::Opened;
        }
        self.count += 1;
        self.first_seen_ms = self.first_seen_ms.min(at);
        self.last_seen_ms = self.last_seen_ms.max(at);
        if self.service.is_none() {
            self.service = event.service.clone();
        }
        if self.namespace.is_none() {
            self.namespace = event.namespace().map(str::to_string);
        }
        self.remember(event, rules);
        if self.alert.sent > 0 {
            Folded::CountedAfterAlert
        } else {
            Folded::Counted
        }
    }

    fn remember(&mut self, event: &Event, rules: &FoldRules) {
        if let Some(pod) = event.pod() {
            if self.pods.len() < rules.max_pods && !self.pods.iter().any(|p| p == pod) {
                self.pods.push(pod.to_string());
            }
        }
        if let Some(version) = event.version() {
            if self.versions.len() < rules.max_pods && !self.versions.iter().any(|v| v == version) {
                self.versions.push(version.to_string());
            }
        }
    }

    /// The incident as the analysis sees it.
    pub fn to_input(&self) -> cali_analysis::IncidentInput {
        let e = &self.sample;
        let exception = e.exception.as_ref();
        cali_analysis::IncidentInput {
            fingerprint: self.fingerprint.clone(),
            service: self.service.clone(),
            namespace: self.namespace.clone(),
            count: self.count,
            first_seen: crate::clock::rfc3339(self.first_seen_ms),
            last_seen: crate::clock::rfc3339(self.last_seen_ms),
            pods: self.pods.clone(),
            versions: self.versions.clone(),
            sample: cali_analysis::SampleEvent {
                level: e.level.as_str().to_string(),
                service: e.service.clone(),
                logger: e.logger.clone(),
                message: e.message.clone(),
                exception_type: exception.map(|x| x.kind.clone()),
                exception_message: exception.map(|x| x.message.clone()),
                language: exception.map(|x| x.language.as_str().to_string()),
                frames: exception
                    .map(|x| {
                        x.frames
                            .iter()
                            .map(|f| cali_analysis::Frame {
                                function: f.function.clone(),
                                module: f.module.clone(),
                                file: f.file.clone(),
                                line: f.line,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                stack_trace: e.stack_trace.clone(),
                log_content: e.log_content.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{event, Spec};

    const RULES: FoldRules = FoldRules {
        incident_window_ms: 60_000,
        max_pods: 2,
    };

    fn ev(ts: &str, pod: &str, image: &str) -> Event {
        serde_json::from_str(&event(&Spec {
            timestamp: ts,
            pod,
            image,
            ..Spec::default()
        }))
        .unwrap()
    }

    #[test]
    fn events_fold_into_one_incident_within_the_window() {
        let mut inc = Incident::open(&ev("2026-11-26T04:00:10Z", "a", "r/x:1"), 5, &RULES);
        assert_eq!(
            inc.fold(&ev("2026-11-26T04:00:00Z", "b", "r/x:2"), 6, &RULES),
            Folded::Counted
        );
        assert_eq!(
            inc.fold(&ev("2026-11-26T04:00:50Z", "c", "r/x:2"), 7, &RULES),
            Folded::Counted
        );
        assert_eq!(inc.count, 3);
        assert_eq!(
            inc.first_seen_ms,
            parse_rfc3339("2026-11-26T04:00:00Z").unwrap()
        );
        assert_eq!(
            inc.last_seen_ms,
            parse_rfc3339("2026-11-26T04:00:50Z").unwrap()
        );
        assert_eq!(inc.pods, ["a", "b"], "bounded by max_pods");
        assert_eq!(inc.versions, ["1", "2"]);
        assert_eq!(inc.opened_ms, 5);
    }

    #[test]
    fn an_event_after_the_window_opens_a_new_incident() {
        let mut inc = Incident::open(&ev("2026-11-26T04:00:00Z", "a", "r/x:1"), 5, &RULES);
        inc.alert.sent = 1;
        assert_eq!(
            inc.fold(&ev("2026-11-26T04:00:30Z", "a", "r/x:1"), 6, &RULES),
            Folded::CountedAfterAlert
        );
        assert_eq!(
            inc.fold(&ev("2026-11-26T04:02:00Z", "a", "r/x:1"), 9, &RULES),
            Folded::Opened
        );
        assert_eq!((inc.count, inc.opened_ms, inc.alert.sent), (1, 9, 0));
    }
}
