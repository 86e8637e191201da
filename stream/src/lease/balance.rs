//! Which leases a replica should take next: free and expired ones up to its fair share,
//! and, when others hold more than their share, one lease stolen from the busiest of them
//! per round, so a new replica gets work without a coordinator.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::ShardLease;

/// The leases `me` should try to take now. `held` are the shards it already reads;
/// `max_leases` caps its share. A shard is readable once all its parents in the table
/// are finished (a parent missing from the table is past retention and counts as done).
pub fn leases_to_take(
    leases: &[ShardLease],
    me: &str,
    held: &HashSet<String>,
    now_ms: i64,
    max_leases: Option<usize>,
) -> Vec<ShardLease> {
    let finished: HashMap<&str, bool> = leases
        .iter()
        .map(|l| (l.shard_id.as_str(), l.finished))
        .collect();
    let readable: Vec<&ShardLease> = leases
        .iter()
        .filter(|l| !l.finished)
        .filter(|l| {
            l.parent_shard_ids
                .iter()
                .all(|p| finished.get(p.as_str()).copied().unwrap_or(true))
        })
        .collect();
    if readable.is_empty() {
        return Vec::new();
    }

    // Replicas that are alive: owners of unexpired leases, and this one.
    let mut load: BTreeMap<&str, usize> = BTreeMap::new();
    for lease in &readable {
        if let Some(owner) = lease.owner.as_deref() {
            if owner != me && lease.is_live(now_ms) {
                *load.entry(owner).or_default() += 1;
            }
        }
    }
    let workers = load.len() + 1;
    let mut target = readable.len().div_ceil(workers);
    if let Some(cap) = max_leases {
        target = target.min(cap);
    }
    let mine = readable
        .iter()
        .filter(|l| held.contains(&l.shard_id))
        .count();
    if mine >= target {
        return Vec::new();
    }
    let wanted = target - mine;

    // Free, expired, or left over from an earlier run of this same worker id.
    let mut takeable: Vec<ShardLease> = readable
        .iter()
        .filter(|l| !held.contains(&l.shard_id))
        .filter(|l| !l.is_live(now_ms) || l.owner.as_deref() == Some(me))
        .map(|l| (*l).clone())
        .collect();
    takeable.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    takeable.truncate(wanted);
    if !takeable.is_empty() {
        return takeable;
    }

    // Steal one lease from the busiest replica holding more than its share.
    let busiest = load
        .iter()
        .filter(|(_, count)| **count > target)
        .max_by_key(|(owner, count)| (**count, std::cmp::Reverse(**owner)))
        .map(|(owner, _)| *owner);
    let Some(victim) = busiest else {
        return Vec::new();
    };
    readable
        .iter()
        .filter(|l| l.owner.as_deref() == Some(victim) && l.is_live(now_ms))
        .min_by(|a, b| a.shard_id.cmp(&b.shard_id))
        .map(|l| vec![(*l).clone()])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn lease(id: &str, owner: Option<&str>, expires_at_ms: i64) -> ShardLease {
        ShardLease {
            owner: owner.map(str::to_string),
            expires_at_ms,
            ..ShardLease::unowned(id, &[])
        }
    }

    fn ids(leases: Vec<ShardLease>) -> Vec<String> {
        leases.into_iter().map(|l| l.shard_id).collect()
    }

    #[test]
    fn a_lone_replica_takes_every_free_shard() {
        let leases = vec![lease("s0", None, 0), lease("s1", None, 0)];
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["s0", "s1"]
        );
    }

    #[test]
    fn live_leases_of_others_count_as_replicas_and_limit_the_share() {
        let leases = vec![
            lease("s0", Some("b"), NOW + 5_000),
            lease("s1", None, 0),
            lease("s2", None, 0),
            lease("s3", None, 0),
        ];
        // Two replicas, four shards: two each.
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["s1", "s2"]
        );
    }

    #[test]
    fn expired_leases_are_taken_over() {
        let leases = vec![
            lease("s0", Some("dead"), NOW - 1),
            lease("s1", Some("dead"), NOW - 1),
        ];
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["s0", "s1"]
        );
    }

    #[test]
    fn a_new_replica_steals_one_lease_from_a_replica_over_its_share() {
        let leases = vec![
            lease("s0", Some("b"), NOW + 5_000),
            lease("s1", Some("b"), NOW + 5_000),
        ];
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["s0"]
        );
        // Once balanced, nobody steals.
        let balanced = vec![
            lease("s0", Some("a"), NOW + 5_000),
            lease("s1", Some("b"), NOW + 5_000),
        ];
        let held = HashSet::from(["s0".to_string()]);
        assert!(leases_to_take(&balanced, "a", &held, NOW, None).is_empty());
        assert!(leases_to_take(
            &balanced,
            "b",
            &HashSet::from(["s1".to_string()]),
            NOW,
            None
        )
        .is_empty());
    }

    #[test]
    fn children_wait_for_their_parents_to_finish() {
        let mut parent = lease("p", Some("b"), NOW + 5_000);
        let child = ShardLease::unowned("c", &["p".to_string()]);
        let orphan = ShardLease::unowned("o", &["gone".to_string()]);
        let leases = vec![parent.clone(), child.clone(), orphan.clone()];
        // The orphan's parent is past retention; the child waits for p.
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["o"]
        );
        parent.finished = true;
        parent.owner = None;
        let leases = vec![parent, child, orphan];
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["c", "o"]
        );
    }

    #[test]
    fn max_leases_caps_the_share() {
        let leases = vec![
            lease("s0", None, 0),
            lease("s1", None, 0),
            lease("s2", None, 0),
        ];
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, Some(1))),
            ["s0"]
        );
    }

    #[test]
    fn own_leases_from_an_earlier_run_are_taken_back() {
        let leases = vec![lease("s0", Some("a"), NOW + 5_000)];
        assert_eq!(
            ids(leases_to_take(&leases, "a", &HashSet::new(), NOW, None)),
            ["s0"]
        );
    }
}
