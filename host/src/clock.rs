//! The clock the module sees through WASI `clock_time_get`: virtual (advanced by the caller,
//! so tests drive idle timeouts without sleeping) or the host's real clock.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock origin of the virtual clock: 2026-01-01T00:00:00Z.
pub const VIRTUAL_EPOCH_SECS: u64 = 1_767_225_600;

#[derive(Debug, Clone)]
pub enum Clock {
    /// Monotonic time in nanoseconds since the host started, moved only by `advance`.
    Virtual { now_ns: u64 },
    /// The host's own clocks.
    Real { start: Instant },
}

impl Clock {
    pub fn virtual_at_zero() -> Self {
        Clock::Virtual { now_ns: 0 }
    }

    pub fn real() -> Self {
        Clock::Real {
            start: Instant::now(),
        }
    }

    /// Moves virtual time forward; the real clock ignores it.
    pub fn advance_ns(&mut self, ns: u64) {
        if let Clock::Virtual { now_ns } = self {
            *now_ns = now_ns.saturating_add(ns);
        }
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.advance_ns(ms.saturating_mul(1_000_000));
    }

    /// WASI `CLOCK_MONOTONIC` (and the CPU-time clocks), in nanoseconds.
    pub fn monotonic_ns(&self) -> u64 {
        match self {
            Clock::Virtual { now_ns } => *now_ns,
            Clock::Real { start } => start.elapsed().as_nanos() as u64,
        }
    }

    /// WASI `CLOCK_REALTIME`, nanoseconds since the Unix epoch.
    pub fn realtime_ns(&self) -> u64 {
        match self {
            Clock::Virtual { now_ns } => VIRTUAL_EPOCH_SECS * 1_000_000_000 + now_ns,
            Clock::Real { .. } => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        }
    }

    /// The current wall-clock time as a record time (seconds, nanoseconds).
    pub fn record_time(&self) -> (u32, u32) {
        let ns = self.realtime_ns();
        ((ns / 1_000_000_000) as u32, (ns % 1_000_000_000) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_advanced() {
        let mut clock = Clock::virtual_at_zero();
        assert_eq!(clock.monotonic_ns(), 0);
        clock.advance_ms(1500);
        assert_eq!(clock.monotonic_ns(), 1_500_000_000);
        assert_eq!(
            clock.record_time(),
            (VIRTUAL_EPOCH_SECS as u32 + 1, 500_000_000)
        );
    }
}
