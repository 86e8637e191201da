//! Circuit breaker for the chat endpoint: after `failures_to_open` consecutive failed calls
//! it opens for a cool-down, then lets one trial call through (half-open); the trial's
//! outcome closes it again or reopens it for another cool-down.

use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed {
        failures: u32,
    },
    Open {
        until_ms: u64,
    },
    /// A trial call is in flight; others are refused until it reports.
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    failures_to_open: u32,
    cooldown_ms: u64,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    pub fn new(failures_to_open: u32, cooldown_ms: u64) -> Self {
        CircuitBreaker {
            failures_to_open: failures_to_open.max(1),
            cooldown_ms,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        // A poisoned lock only means a panic elsewhere mid-update; the state is still valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> BreakerState {
        *self.lock()
    }

    /// May a call go out now? An open breaker past its cool-down admits one trial call.
    pub fn try_acquire(&self, now_ms: u64) -> bool {
        let mut state = self.lock();
        match *state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until_ms } if now_ms >= until_ms => {
                *state = BreakerState::HalfOpen;
                true
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => false,
        }
    }

    /// Gives back a trial that was admitted but not used (the call never went out), so
    /// the next caller may try at once.
    pub fn release_trial(&self, now_ms: u64) {
        let mut state = self.lock();
        if *state == BreakerState::HalfOpen {
            *state = BreakerState::Open { until_ms: now_ms };
        }
    }

    pub fn record_success(&self) {
        *self.lock() = BreakerState::Closed { failures: 0 };
    }

    pub fn record_failure(&self, now_ms: u64) {
        let mut state = self.lock();
        let reopen = BreakerState::Open {
            until_ms: now_ms.saturating_add(self.cooldown_ms),
        };
        *state = match *state {
            BreakerState::Closed { failures } if failures + 1 < self.failures_to_open => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            _ => reopen,
        };
    }

    /// True while calls are refused (open and cooling down, or a trial in flight).
    pub fn is_open(&self, now_ms: u64) -> bool {
        match *self.lock() {
            BreakerState::Closed { .. } => false,
            BreakerState::Open { until_ms } => now_ms < until_ms,
            BreakerState::HalfOpen => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_n_failures_then_half_opens_after_cooldown() {
        let b = CircuitBreaker::new(3, 1_000);
        for _ in 0..2 {
            assert!(b.try_acquire(0));
            b.record_failure(0);
        }
        assert!(b.try_acquire(0), "two failures keep it closed");
        b.record_failure(0);
        assert!(!b.try_acquire(500), "open during the cool-down");
        assert!(b.try_acquire(1_000), "one trial after the cool-down");
        assert!(!b.try_acquire(1_001), "only one trial at a time");
        b.record_failure(1_001);
        assert!(!b.try_acquire(1_500), "a failed trial reopens it");
        assert!(b.try_acquire(2_001));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let b = CircuitBreaker::new(2, 1_000);
        b.record_failure(0);
        b.record_success();
        b.record_failure(0);
        assert!(b.try_acquire(0));
    }
}
