//! The alert policy, in the spirit of Alertmanager: wait `group_wait` after an incident
//! opens to gather the burst, then send at most one message per incident per
//! `repeat_interval`, folding everything that happened meanwhile into that update.

use crate::incident::Incident;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPolicy {
    pub group_wait_ms: i64,
    pub repeat_interval_ms: i64,
}

/// Which message an incident is due for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The first message of the incident.
    First,
    /// An update: more events (or pods) since the last message.
    Update,
}

impl AlertPolicy {
    /// What the incident is due for at `now_ms`, if anything. `flush` ignores group wait
    /// (the end of a replay: nothing more is coming).
    pub fn due(&self, incident: &Incident, now_ms: i64, flush: bool) -> Option<Due> {
        let alert = &incident.alert;
        match alert.last_sent_ms {
            None if flush || now_ms - incident.opened_ms >= self.group_wait_ms => Some(Due::First),
            None => None,
            Some(last) => {
                let changed = incident.count > alert.alerted_count
                    || incident.pods.len() as u32 > alert.alerted_pods;
                (changed && now_ms - last >= self.repeat_interval_ms).then_some(Due::Update)
            }
        }
    }

    /// When the incident will next be due, if it is waiting for anything (for sleeping
    /// until exactly then).
    pub fn next_due_ms(&self, incident: &Incident) -> Option<i64> {
        let alert = &incident.alert;
        match alert.last_sent_ms {
            None => Some(incident.opened_ms + self.group_wait_ms),
            Some(last) if incident.count > alert.alerted_count => {
                Some(last + self.repeat_interval_ms)
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::FoldRules;
    use crate::samples::event_json;

    const POLICY: AlertPolicy = AlertPolicy {
        group_wait_ms: 30_000,
        repeat_interval_ms: 4 * 3_600_000,
    };

    fn incident(opened_ms: i64) -> Incident {
        let event = serde_json::from_str(&event_json(
            &crate::samples::event_id(1),
            "00000000000000aa",
        ))
        .unwrap();
        Incident::open(
            &event,
            opened_ms,
            &FoldRules {
                incident_window_ms: 3_600_000,
                max_pods: 10,
            },
        )
    }

    #[test]
    fn first_message_waits_for_group_wait() {
        let inc = incident(1_000);
        assert_eq!(POLICY.due(&inc, 30_999, false), None);
        assert_eq!(POLICY.due(&inc, 31_000, false), Some(Due::First));
        assert_eq!(
            POLICY.due(&inc, 1_001, true),
            Some(Due::First),
            "flush skips the wait"
        );
    }

    #[test]
    fn updates_come_at_most_once_per_repeat_interval_and_only_with_news() {
        let mut inc = incident(0);
        inc.alert.sent = 1;
        inc.alert.last_sent_ms = Some(40_000);
        inc.alert.alerted_count = 1;
        inc.alert.alerted_pods = 1;
        let later = 40_000 + POLICY.repeat_interval_ms;
        assert_eq!(POLICY.due(&inc, later, false), None, "nothing new happened");
        inc.count = 5;
        assert_eq!(POLICY.due(&inc, later - 1, false), None);
        assert_eq!(POLICY.due(&inc, later, false), Some(Due::Update));
        assert_eq!(POLICY.next_due_ms(&inc), Some(later));
    }
}
