//! Delivers queued alert messages to Slack: one message at a time within the global
//! webhook rate, `Retry-After` honoured on 429, exponential backoff with jitter on 5xx and
//! timeouts, other 4xx recorded as dead. A message is marked sent right after the 2xx.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::slack::{Webhook, WebhookAnswer};
use crate::state::{Delivery, OutboxMessage, StateError, StateStore};

/// How deliveries are paced and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRules {
    /// Smallest gap between two messages to the webhook, across all replicas.
    pub min_interval_ms: i64,
    /// How long a sender holds a message it is delivering before others may take it.
    pub lease_ms: i64,
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    pub max_attempts: u32,
    /// How often an idle sender looks for due messages.
    pub poll_ms: u64,
}

pub struct OutboxSender {
    store: Arc<dyn StateStore>,
    webhook: Webhook,
    clock: Arc<dyn Clock>,
    rules: DeliveryRules,
    metrics: Arc<Metrics>,
}

/// The retry time after a transient failure: base × 2^(attempt-1), capped, then jittered
/// down by up to half so replicas that failed together do not retry together.
pub fn backoff_ms(rules: &DeliveryRules, attempt: u32, jitter: f64) -> i64 {
    let exp = rules
        .backoff_base_ms
        .saturating_mul(1_i64 << attempt.saturating_sub(1).min(30));
    let capped = exp.min(rules.backoff_max_ms);
    (capped as f64 * (1.0 - 0.5 * jitter.clamp(0.0, 1.0))) as i64
}

fn delivery_was_rate_limited(delivery: &Delivery) -> bool {
    matches!(delivery, Delivery::Retry { error, .. } if error == RATE_LIMITED)
}

const RATE_LIMITED: &str = "HTTP 429";

fn jitter() -> f64 {
    // RandomState is seeded randomly per instance: enough randomness for a jitter.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() % 10_000) as f64 / 10_000.0
}

impl OutboxSender {
    pub fn new(
        store: Arc<dyn StateStore>,
        webhook: Webhook,
        clock: Arc<dyn Clock>,
        rules: DeliveryRules,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            webhook,
            clock,
            rules,
            metrics,
        }
    }

    /// Delivers one due message if there is one and the rate allows; `Ok(false)` otherwise.
    pub async fn deliver_one(&self) -> Result<bool, StateError> {
        let now = self.clock.now_ms();
        let Some(message) = self
            .store
            .next_outbox(now, self.rules.lease_ms, self.rules.min_interval_ms)
            .await?
        else {
            return Ok(false);
        };
        let delivery = self.attempt(&message).await;
        match &delivery {
            Delivery::Sent => {
                Metrics::add(&self.metrics.alerts_sent, 1);
                tracing::info!(alert = %message.id, attempts = message.attempts, "alert delivered");
            }
            Delivery::Retry { at_ms, error } => {
                Metrics::add(&self.metrics.alerts_retried, 1);
                tracing::warn!(alert = %message.id, attempts = message.attempts, retry_at_ms = at_ms, %error, "alert delivery will be retried");
            }
            Delivery::Dead { error } => {
                Metrics::add(&self.metrics.alerts_failed, 1);
                tracing::error!(alert = %message.id, attempts = message.attempts, %error, "alert delivery gave up");
            }
        }
        if let (Delivery::Retry { at_ms, .. }, true) =
            (&delivery, delivery_was_rate_limited(&delivery))
        {
            // A 429 is about the webhook, not the message: every sender waits.
            self.store.pause_webhook(*at_ms).await?;
        }
        self.store.settle_outbox(&message.id, &delivery).await?;
        Ok(true)
    }

    async fn attempt(&self, message: &OutboxMessage) -> Delivery {
        let answer = self.webhook.post(&message.body, &message.id).await;
        let now = self.clock.now_ms();
        let out_of_attempts = message.attempts >= self.rules.max_attempts;
        match answer {
            WebhookAnswer::Accepted => Delivery::Sent,
            WebhookAnswer::Rejected(error) => Delivery::Dead { error },
            WebhookAnswer::RateLimited { .. } | WebhookAnswer::Transient(_) if out_of_attempts => {
                Delivery::Dead {
                    error: format!("gave up after {} attempts: {answer:?}", message.attempts),
                }
            }
            WebhookAnswer::RateLimited { retry_after } => {
                let wait = retry_after
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(self.rules.backoff_base_ms);
                Delivery::Retry {
                    at_ms: now + wait.max(self.rules.min_interval_ms),
                    error: RATE_LIMITED.into(),
                }
            }
            WebhookAnswer::Transient(error) => Delivery::Retry {
                at_ms: now + backoff_ms(&self.rules, message.attempts, jitter()),
                error,
            },
        }
    }

    /// Delivers until `stop` is set, then returns (a message being delivered is finished).
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.deliver_one().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "outbox read failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(self.rules.poll_ms)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Delivers until no message is pending, or `deadline` passes (replay's end).
    pub async fn drain(&self, deadline: tokio::time::Instant) -> Result<usize, StateError> {
        loop {
            if self.deliver_one().await? {
                continue;
            }
            let pending = self
                .store
                .outbox()
                .await?
                .iter()
                .filter(|m| m.status == crate::state::OutboxStatus::Pending)
                .count();
            if pending == 0 || tokio::time::Instant::now() >= deadline {
                return Ok(pending);
            }
            tokio::time::sleep(Duration::from_millis(self.rules.poll_ms)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let rules = DeliveryRules {
            min_interval_ms: 1_000,
            lease_ms: 60_000,
            backoff_base_ms: 1_000,
            backoff_max_ms: 10_000,
            max_attempts: 10,
            poll_ms: 100,
        };
        assert_eq!(backoff_ms(&rules, 1, 0.0), 1_000);
        assert_eq!(backoff_ms(&rules, 3, 0.0), 4_000);
        assert_eq!(backoff_ms(&rules, 9, 0.0), 10_000);
        assert_eq!(backoff_ms(&rules, 3, 1.0), 2_000);
    }
}
