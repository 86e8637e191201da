//! The in-memory front of the dedupe window: event ids this process has recorded lately,
//! bounded by count and age, so hot repeats are dropped without a store write. The state
//! store stays the authority (it survives restarts and is shared by replicas).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// An event id as a number: decoding guarantees 32 lowercase hex digits, so an id fits in
/// 128 bits and the window holds no strings (no allocation per remembered id).
type IdKey = u128;

fn key(id: &str) -> Option<IdKey> {
    if id.len() != 32 {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

/// Event ids are hashes or counters, never chosen by an attacker who sees the map, so one
/// multiply mixes them well enough and costs far less than SipHash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u128(&mut self, n: u128) {
        let folded = (n as u64) ^ ((n >> 64) as u64).rotate_left(32);
        // The high bits pick the bucket tag in hashbrown: fold them down from the multiply.
        self.0 = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}

pub struct RecentIds {
    capacity: usize,
    window_ms: i64,
    seen: HashMap<IdKey, i64, BuildHasherDefault<IdHasher>>,
    order: VecDeque<(IdKey, i64)>,
}

impl RecentIds {
    pub fn new(capacity: usize, window_ms: i64) -> Self {
        Self {
            capacity,
            window_ms,
            seen: HashMap::with_capacity_and_hasher(capacity.min(1 << 16), Default::default()),
            order: VecDeque::new(),
        }
    }

    /// True when `id` was remembered within the window before `now_ms`.
    pub fn contains(&self, id: &str, now_ms: i64) -> bool {
        key(id)
            .and_then(|k| self.seen.get(&k))
            .is_some_and(|at| now_ms - *at <= self.window_ms)
    }

    /// Remembers `id` as recorded at `now_ms`. An id that is not 32 hex digits (never one
    /// that decoding let through) is not remembered: the store still drops its repeats.
    pub fn remember(&mut self, id: &str, now_ms: i64) {
        if self.capacity == 0 {
            return;
        }
        let Some(k) = key(id) else {
            return;
        };
        if self.seen.insert(k, now_ms).is_none() {
            self.order.push_back((k, now_ms));
        }
        self.evict(now_ms);
    }

    fn evict(&mut self, now_ms: i64) {
        while let Some(&(k, at)) = self.order.front() {
            if self.order.len() <= self.capacity && now_ms - at <= self.window_ms {
                break;
            }
            // Only drop the map entry if it was not re-stamped later.
            if self.seen.get(&k) == Some(&at) {
                self.seen.remove(&k);
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

    fn id(n: u128) -> String {
        format!("{n:032x}")
    }

    #[test]
    fn bounded_by_count_and_age() {
        let (a, b, c, d) = (id(0xa), id(0xb), id(0xc), id(0xd));
        let mut ids = RecentIds::new(2, 1_000);
        ids.remember(&a, 0);
        ids.remember(&b, 10);
        assert!(ids.contains(&a, 500));
        ids.remember(&c, 20);
        assert!(!ids.contains(&a, 20), "evicted by count");
        assert!(ids.contains(&b, 20) && ids.contains(&c, 20));
        assert!(!ids.contains(&b, 1_011), "too old");
        ids.remember(&d, 2_000);
        assert_eq!(ids.len(), 1, "old entries are evicted as time moves");
    }

    #[test]
    fn ids_differing_in_either_half_stay_apart() {
        let mut ids = RecentIds::new(10, 1_000);
        let low = id(1);
        let high = id(1 << 64);
        ids.remember(&low, 0);
        assert!(ids.contains(&low, 0));
        assert!(!ids.contains(&high, 0));
        assert!(!ids.contains(&id(2), 0));
    }

    #[test]
    fn an_id_that_is_not_hex_is_never_remembered() {
        let mut ids = RecentIds::new(10, 1_000);
        ids.remember("not-an-event-id", 0);
        assert!(ids.is_empty());
        assert!(!ids.contains("not-an-event-id", 0));
    }
}
