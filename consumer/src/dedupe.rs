//! The in-memory front of the dedupe window: event ids this process has recorded lately,
//! bounded by count and age, so hot repeats are dropped without a store write. The state
//! store stays the authority (it survives restarts and is shared by replicas).

use std::collections::{HashMap, VecDeque};

pub struct RecentIds {
    capacity: usize,
    window_ms: i64,
    seen: HashMap<String, i64>,
    order: VecDeque<(String, i64)>,
}

impl RecentIds {
    pub fn new(capacity: usize, window_ms: i64) -> Self {
        Self {
            capacity,
            window_ms,
            seen: HashMap::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::new(),
        }
    }

    /// True when `id` was remembered within the window before `now_ms`.
    pub fn contains(&self, id: &str, now_ms: i64) -> bool {
        self.seen
            .get(id)
            .is_some_and(|at| now_ms - *at <= self.window_ms)
    }

    pub fn remember(&mut self, id: &str, now_ms: i64) {
        if self.capacity == 0 {
            return;
        }
        if self.seen.insert(id.to_string(), now_ms).is_none() {
            self.order.push_back((id.to_string(), now_ms));
        }
        self.evict(now_ms);
    }

    fn evict(&mut self, now_ms: i64) {
        while let Some((id, at)) = self.order.front() {
            if self.order.len() <= self.capacity && now_ms - *at <= self.window_ms {
                break;
            }
            // Only drop the map entry if it was not re-stamped later.
            if self.seen.get(id) == Some(at) {
                self.seen.remove(id);
            }
            self.order.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_count_and_age() {
        let mut ids = RecentIds::new(2, 1_000);
        ids.remember("a", 0);
        ids.remember("b", 10);
        assert!(ids.contains("a", 500));
        ids.remember("c", 20);
        assert!(!ids.contains("a", 20), "evicted by count");
        assert!(ids.contains("b", 20) && ids.contains("c", 20));
        assert!(!ids.contains("b", 1_011), "too old");
        ids.remember("d", 2_000);
        assert_eq!(ids.len(), 1, "old entries are evicted as time moves");
    }
}
