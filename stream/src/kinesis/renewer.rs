//! Keeps this replica's leases alive from a background task, so a consumer busy with a
//! slow batch does not lose its shards; a renewal refused by the table marks the lease
//! lost, and the reading loop stops reading that shard.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Clock, LeaseStore};

/// A lease this replica holds, as the renewer and the reading loop share it.
#[derive(Debug, Clone)]
pub(crate) struct LeaseHold {
    pub counter: u64,
    /// Epoch ms until which the lease is known to be ours (the last successful renewal).
    pub valid_until_ms: i64,
    pub lost: bool,
}

pub(crate) type HeldLeases = Arc<Mutex<HashMap<String, LeaseHold>>>;

/// Renews every held lease each `interval` until the task is aborted.
pub(crate) async fn renew_leases(
    store: Arc<dyn LeaseStore>,
    held: HeldLeases,
    owner: String,
    clock: Arc<dyn Clock>,
    lease_duration: Duration,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let snapshot: Vec<(String, u64)> = match held.lock() {
            Ok(held) => held
                .iter()
                .filter(|(_, hold)| !hold.lost)
                .map(|(shard, hold)| (shard.clone(), hold.counter))
                .collect(),
            Err(_) => return,
        };
        for (shard_id, counter) in snapshot {
            let expires = clock.now_millis() + lease_duration.as_millis() as i64;
            let outcome = store.renew(&shard_id, &owner, counter, expires).await;
            let Ok(mut held) = held.lock() else { return };
            let Some(hold) = held.get_mut(&shard_id).filter(|h| h.counter == counter) else {
                continue; // released or re-taken meanwhile
            };
            match outcome {
                Ok(true) => hold.valid_until_ms = expires,
                Ok(false) => {
                    tracing::warn!(
                        shard_id,
                        owner,
                        "lease renewal refused: another replica took the shard"
                    );
                    hold.lost = true;
                }
                Err(err) => {
                    tracing::warn!(shard_id, owner, error = %err, "lease renewal failed; retrying")
                }
            }
        }
    }
}
