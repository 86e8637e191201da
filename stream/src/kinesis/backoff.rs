//! Exponential backoff with full jitter (AWS's recommendation), so replicas retrying the
//! same throttled shard or dead endpoint spread out instead of retrying in lockstep.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Doubles a ceiling from `base` up to `max` on every failure; a wait is drawn uniformly
/// from [ceiling / 2, ceiling] so it never collapses to zero (no busy loop).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            failures: 0,
        }
    }

    /// The wait before the next attempt after one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_millis() as u64;
        half + Duration::from_millis(if spread == 0 {
            0
        } else {
            random() % (spread + 1)
        })
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// A random number from the standard library's randomly keyed hasher (no RNG dependency
/// for jitter).
fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_bounded_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = backoff.next_delay();
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        let second = backoff.next_delay();
        assert!(
            second >= Duration::from_millis(100) && second <= Duration::from_millis(200),
            "{second:?}"
        );
        for _ in 0..40 {
            let delay = backoff.next_delay();
            assert!(delay <= Duration::from_secs(2), "{delay:?}");
        }
        // Capped at 2 s, a wait is never below half the cap.
        assert!(backoff.next_delay() >= Duration::from_secs(1));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }
}
