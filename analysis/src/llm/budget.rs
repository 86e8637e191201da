//! Hourly budget of LLM calls and tokens: a fixed window that starts with the first call
//! and resets an hour later. A call is admitted only if its estimated prompt still fits.

use std::sync::Mutex;

const HOUR_MS: u64 = 3_600_000;

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start_ms: u64,
    calls: u64,
    tokens: u64,
}

#[derive(Debug)]
pub struct HourlyBudget {
    max_calls: u64,
    max_tokens: u64,
    window: Mutex<Option<Window>>,
}

impl HourlyBudget {
    pub fn new(max_calls: u64, max_tokens: u64) -> Self {
        HourlyBudget {
            max_calls,
            max_tokens,
            window: Mutex::new(None),
        }
    }

    fn current(&self, now_ms: u64) -> std::sync::MutexGuard<'_, Option<Window>> {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.is_none_or(|w| now_ms.saturating_sub(w.start_ms) >= HOUR_MS) {
            *window = Some(Window {
                start_ms: now_ms,
                ..Window::default()
            });
        }
        window
    }

    /// Reserves one call whose prompt is estimated at `prompt_tokens`; false when the call
    /// count or the tokens of this hour would be exceeded.
    pub fn try_reserve(&self, now_ms: u64, prompt_tokens: u64) -> bool {
        let mut guard = self.current(now_ms);
        let Some(w) = guard.as_mut() else {
            return false;
        };
        if w.calls >= self.max_calls || w.tokens.saturating_add(prompt_tokens) > self.max_tokens {
            return false;
        }
        w.calls += 1;
        w.tokens += prompt_tokens;
        true
    }

    /// Corrects the reservation with what the endpoint reported (prompt + completion).
    pub fn settle(&self, now_ms: u64, estimated_prompt: u64, actual_total: u64) {
        let mut guard = self.current(now_ms);
        if let Some(w) = guard.as_mut() {
            w.tokens = w
                .tokens
                .saturating_sub(estimated_prompt)
                .saturating_add(actual_total);
        }
    }

    pub fn tokens_left(&self, now_ms: u64) -> u64 {
        let guard = self.current(now_ms);
        guard.map_or(self.max_tokens, |w| {
            self.max_tokens.saturating_sub(w.tokens)
        })
    }

    pub fn calls_left(&self, now_ms: u64) -> u64 {
        let guard = self.current(now_ms);
        guard.map_or(self.max_calls, |w| self.max_calls.saturating_sub(w.calls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_tokens_are_capped_per_hour() {
        let b = HourlyBudget::new(2, 1_000);
        assert!(b.try_reserve(0, 300));
        b.settle(0, 300, 450);
        assert_eq!(b.tokens_left(10), 550);
        assert!(
            !b.try_reserve(10, 600),
            "tokens would exceed the hour's budget"
        );
        assert!(b.try_reserve(10, 500));
        assert!(!b.try_reserve(20, 1), "calls exhausted");
        assert!(
            b.try_reserve(HOUR_MS, 900),
            "a new hour starts a new window"
        );
        assert_eq!(b.calls_left(HOUR_MS), 1);
    }
}
