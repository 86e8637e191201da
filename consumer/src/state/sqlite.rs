//! The embedded state store: one SQLite file (WAL) that several `cali` processes on one
//! machine may share. Every multi-step change is one `BEGIN IMMEDIATE` transaction, which
//! is what makes an alert claim exclusive between processes. Incidents this process wrote
//! last are kept in memory and reused while no other connection has written the file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    AlertClaim, DedupeRules, Delivery, OutboxMessage, OutboxStatus, Recorded, StateError,
    StateStore,
};
use crate::event::Event;
use crate::incident::{FoldRules, Folded, Incident};

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Locked only while `conn` is held.
    cache: Mutex<IncidentCache>,
}

/// The incidents as this connection last committed them. Reading an incident back means
/// parsing its JSON body (sample event included) once per fingerprint per batch; while
/// `PRAGMA data_version` is unchanged no other connection has committed, so the copies
/// here are exactly what the file holds.
/// More fingerprints than this in the cache and it starts over (bounds its memory).
const CACHED_INCIDENTS: usize = 4_096;

#[derive(Default)]
struct IncidentCache {
    data_version: Option<i64>,
    incidents: HashMap<String, Incident>,
}

impl IncidentCache {
    /// Forgets everything if another connection committed since the last look. Call inside
    /// a write transaction, so nobody else can commit until it ends.
    fn sync(&mut self, conn: &Connection) -> Result<(), StateError> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.data_version != Some(version) {
            self.incidents.clear();
            self.data_version = Some(version);
        }
        Ok(())
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dedupe (event_id TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_seen ON dedupe (seen_ms);
CREATE TABLE IF NOT EXISTS incidents (fingerprint TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, created_ms INTEGER NOT NULL, body TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL,
  lease_until_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_ms);
CREATE TABLE IF NOT EXISTS webhook_rate (id INTEGER PRIMARY KEY CHECK (id = 0), next_send_ms INTEGER NOT NULL);
INSERT OR IGNORE INTO webhook_rate (id, next_send_ms) VALUES (0, 0);
";

impl SqliteStore {
    /// Opens (creating if needed) the state file and its directory.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Self::init(Connection::open(path)?)
    }

    /// A private store that lives as long as the process (bench, tests).
    pub fn in_memory() -> Result<Self, StateError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StateError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL + NORMAL: a committed transaction survives a killed process; only a power
        // loss may drop the last ones, which the stream's replay then redoes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            cache: Mutex::new(IncidentCache::default()),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (the transaction
        // rolls back on drop), so the poisoned guard is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, IncidentCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn load(conn: &Connection, fingerprint: &str) -> Result<Option<Incident>, StateError> {
        let body: Option<String> = conn
            .prepare_cached("SELECT body FROM incidents WHERE fingerprint = ?1")?
            .query_row([fingerprint], |r| r.get(0))
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    fn store(conn: &Connection, incident: &Incident) -> Result<(), StateError> {
        conn.prepare_cached(
            "INSERT INTO incidents (fingerprint, body) VALUES (?1, ?2)
             ON CONFLICT (fingerprint) DO UPDATE SET body = excluded.body",
        )?
        .execute(params![
            incident.fingerprint,
            serde_json::to_string(incident)?
        ])?;
        Ok(())
    }
}

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxMessage> {
    let status: String = r.get(4)?;
    Ok(OutboxMessage {
        id: r.get(0)?,
        fingerprint: r.get(1)?,
        created_ms: r.get(2)?,
        body: r.get(3)?,
        status: OutboxStatus::parse(&status).unwrap_or(OutboxStatus::Dead),
        attempts: r.get(5)?,
        next_attempt_ms: r.get(6)?,
        last_error: r.get(7)?,
    })
}

const MESSAGE_COLUMNS: &str =
    "id, fingerprint, created_ms, body, status, attempts, next_attempt_ms, last_error";

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    async fn record_events(
        &self,
        events: &[Event],
        now_ms: i64,
        dedupe: &DedupeRules,
        fold: &FoldRules,
    ) -> Result<Recorded, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut cache = self.cache();
        cache.sync(&tx)?;
        let mut recorded = Recorded::default();
        let mut touched: HashMap<&str, Incident> = HashMap::new();
        {
            // An id seen before the window began counts as new again (and is re-stamped).
            let mut claim = tx.prepare_cached(
                "INSERT INTO dedupe (event_id, seen_ms) VALUES (?1, ?2)
                 ON CONFLICT (event_id) DO UPDATE SET seen_ms = excluded.seen_ms
                 WHERE dedupe.seen_ms < ?3",
            )?;
            let expired_before = now_ms - dedupe.window_ms;
            for event in events {
                if claim.execute(params![event.event_id, now_ms, expired_before])? == 0 {
                    recorded.duplicates += 1;
                    continue;
                }
                recorded.new += 1;
                let fp = event.fingerprint.as_str();
                if !touched.contains_key(fp) {
                    // Taken out of the cache: it goes back only once the batch is committed.
                    let cached = cache.incidents.remove(fp);
                    let stored = match cached {
                        Some(incident) => Some(incident),
                        None => Self::load(&tx, fp)?,
                    };
                    match stored {
                        Some(stored) => {
                            touched.insert(fp, stored);
                        }
                        None => {
                            touched.insert(fp, Incident::open(event, now_ms, fold));
                            recorded.incidents_opened += 1;
                            continue;
                        }
                    }
                }
                let Some(incident) = touched.get_mut(fp) else {
                    continue;
                };
                match incident.fold(event, now_ms, fold) {
                    Folded::Opened => recorded.incidents_opened += 1,
                    Folded::Counted => {}
                    Folded::CountedAfterAlert => recorded.folded_after_alert += 1,
                }
            }
        }
        for incident in touched.values() {
            Self::store(&tx, incident)?;
        }
        tx.commit()?;
        if cache.incidents.len() + touched.len() > CACHED_INCIDENTS {
            cache.incidents.clear();
        }
        for (fp, incident) in touched {
            cache.incidents.insert(fp.to_string(), incident);
        }
        Ok(recorded)
    }

    async fn incidents(&self) -> Result<Vec<Incident>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT body FROM incidents ORDER BY fingerprint")?;
        let bodies = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(bodies
            .iter()
            .map(|b| serde_json::from_str(b))
            .collect::<Result<_, _>>()?)
    }

    async fn claim_alert(&self, claim: &AlertClaim) -> Result<bool, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // This connection's own writes leave data_version as it is: drop the copy here.
        self.cache().incidents.remove(&claim.fingerprint);
        let Some(mut incident) = Self::load(&tx, &claim.fingerprint)? else {
            return Ok(false);
        };
        if !claim.apply_to(&mut incident) {
            return Ok(false);
        }
        Self::store(&tx, &incident)?;
        if let Some(m) = &claim.message {
            tx.execute(
                "INSERT OR IGNORE INTO outbox
                 (id, fingerprint, created_ms, body, status, attempts, next_attempt_ms, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    m.id,
                    m.fingerprint,
                    m.created_ms,
                    m.body,
                    m.status.as_str(),
                    m.attempts,
                    m.next_attempt_ms,
                    m.last_error
                ],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    async fn next_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        min_interval_ms: i64,
    ) -> Result<Option<OutboxMessage>, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next_send: i64 = tx.query_row(
            "SELECT next_send_ms FROM webhook_rate WHERE id = 0",
            [],
            |r| r.get(0),
        )?;
        if next_send > now_ms {
            return Ok(None);
        }
        let message = tx
            .query_row(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM outbox
                     WHERE status = 'pending' AND next_attempt_ms <= ?1 AND lease_until_ms <= ?1
                     ORDER BY next_attempt_ms, created_ms, id LIMIT 1"
                ),
                [now_ms],
                message_from_row,
            )
            .optional()?;
        let Some(mut message) = message else {
            return Ok(None);
        };
        message.attempts += 1;
        tx.execute(
            "UPDATE outbox SET lease_until_ms = ?2, attempts = ?3 WHERE id = ?1",
            params![message.id, now_ms + lease_ms, message.attempts],
        )?;
        tx.execute(
            "UPDATE webhook_rate SET next_send_ms = ?1 WHERE id = 0",
            [now_ms + min_interval_ms],
        )?;
        tx.commit()?;
        Ok(Some(message))
    }

    async fn pause_webhook(&self, until_ms: i64) -> Result<(), StateError> {
        self.conn().execute(
            "UPDATE webhook_rate SET next_send_ms = MAX(next_send_ms, ?1) WHERE id = 0",
            [until_ms],
        )?;
        Ok(())
    }

    async fn settle_outbox(&self, id: &str, delivery: &Delivery) -> Result<(), StateError> {
        let conn = self.conn();
        match delivery {
            Delivery::Sent => conn.execute(
                "UPDATE outbox SET status = 'sent', lease_until_ms = 0, last_error = NULL WHERE id = ?1",
                [id],
            )?,
            Delivery::Retry { at_ms, error } => conn.execute(
                "UPDATE outbox SET next_attempt_ms = ?2, lease_until_ms = 0, last_error = ?3 WHERE id = ?1",
                params![id, at_ms, error],
            )?,
            Delivery::Dead { error } => conn.execute(
                "UPDATE outbox SET status = 'dead', lease_until_ms = 0, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?,
        };
        Ok(())
    }

    async fn outbox(&self) -> Result<Vec<OutboxMessage>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM outbox ORDER BY created_ms, id"
        ))?;
        let rows = stmt.query_map([], message_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    async fn prune(&self, now_ms: i64, dedupe: &DedupeRules) -> Result<(), StateError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM dedupe WHERE seen_ms < ?1",
            [now_ms - dedupe.window_ms],
        )?;
        conn.execute(
            "DELETE FROM dedupe WHERE event_id IN (SELECT event_id FROM dedupe
             ORDER BY seen_ms DESC LIMIT -1 OFFSET ?1)",
            [dedupe.capacity as i64],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{alert_claim, decoded_event, STORE_DEDUPE, STORE_FOLD};

    const DEDUPE: DedupeRules = STORE_DEDUPE;
    const FOLD: FoldRules = STORE_FOLD;

    fn ev(n: u64, fp: &str, pod: &str) -> Event {
        decoded_event(n, fp, pod)
    }

    #[tokio::test]
    async fn repeats_are_dropped_across_a_reopen_within_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/cali.db");
        let batch = [
            ev(1, "00000000000000aa", "p1"),
            ev(2, "00000000000000aa", "p2"),
            ev(1, "00000000000000aa", "p1"),
        ];
        {
            let store = SqliteStore::open(&path).unwrap();
            let r = store
                .record_events(&batch, 1_000, &DEDUPE, &FOLD)
                .await
                .unwrap();
            assert_eq!((r.new, r.duplicates, r.incidents_opened), (2, 1, 1));
        }
        let store = SqliteStore::open(&path).unwrap();
        let r = store
            .record_events(&batch[..2], 2_000, &DEDUPE, &FOLD)
            .await
            .unwrap();
        assert_eq!(
            (r.new, r.duplicates),
            (0, 2),
            "replay after restart is deduplicated"
        );
        let incidents = store.incidents().await.unwrap();
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].count, 2);
        assert_eq!(incidents[0].pods, ["p1", "p2"]);
        // Past the window the same id is new again.
        let r = store
            .record_events(&batch[..1], 1_000 + 60_001, &DEDUPE, &FOLD)
            .await
            .unwrap();
        assert_eq!(r.new, 1);
    }

    #[tokio::test]
    async fn prune_bounds_the_window_by_count() {
        let store = SqliteStore::in_memory().unwrap();
        let events: Vec<_> = (0..10).map(|n| ev(n, "00000000000000aa", "p")).collect();
        for (i, e) in events.iter().enumerate() {
            store
                .record_events(std::slice::from_ref(e), i as i64, &DEDUPE, &FOLD)
                .await
                .unwrap();
        }
        let rules = DedupeRules {
            window_ms: 60_000,
            capacity: 3,
        };
        store.prune(10, &rules).await.unwrap();
        let r = store
            .record_events(&events, 11, &rules, &FOLD)
            .await
            .unwrap();
        assert_eq!(
            (r.new, r.duplicates),
            (7, 3),
            "only the 3 newest ids are remembered"
        );
    }

    #[tokio::test]
    async fn incidents_written_by_another_connection_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cali.db");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        let fp = "00000000000000aa";
        a.record_events(&[ev(1, fp, "p1")], 1_000, &DEDUPE, &FOLD)
            .await
            .unwrap();
        b.record_events(&[ev(2, fp, "p2")], 1_001, &DEDUPE, &FOLD)
            .await
            .unwrap();
        a.record_events(&[ev(3, fp, "p3")], 1_002, &DEDUPE, &FOLD)
            .await
            .unwrap();
        let incidents = b.incidents().await.unwrap();
        assert_eq!(incidents[0].count, 3, "a folded into what b wrote");
        assert_eq!(incidents[0].pods, ["p1", "p2", "p3"]);
        // A claim through a's own connection is seen by a's next batch too.
        assert!(a.claim_alert(&claim(fp, 1_000, 0, "m1")).await.unwrap());
        let r = a
            .record_events(&[ev(4, fp, "p1")], 1_003, &DEDUPE, &FOLD)
            .await
            .unwrap();
        assert_eq!(r.folded_after_alert, 1);
        assert_eq!(a.incidents().await.unwrap()[0].alert.sent, 1);
    }

    fn claim(fp: &str, opened_ms: i64, expected_sent: u32, id: &str) -> AlertClaim {
        alert_claim(fp, opened_ms, expected_sent, id)
    }

    #[tokio::test]
    async fn only_one_claim_wins_and_the_outbox_holds_its_message_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cali.db");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        a.record_events(&[ev(1, "00000000000000aa", "p")], 1_000, &DEDUPE, &FOLD)
            .await
            .unwrap();
        assert!(a
            .claim_alert(&claim("00000000000000aa", 1_000, 0, "m1"))
            .await
            .unwrap());
        assert!(!b
            .claim_alert(&claim("00000000000000aa", 1_000, 0, "m1"))
            .await
            .unwrap());
        assert!(
            !b.claim_alert(&claim("00000000000000aa", 999, 1, "m2"))
                .await
                .unwrap(),
            "stale generation"
        );
        let outbox = b.outbox().await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(b.incidents().await.unwrap()[0].alert.sent, 1);
    }

    #[tokio::test]
    async fn outbox_leases_messages_and_spaces_sends_by_the_global_rate() {
        let store = SqliteStore::in_memory().unwrap();
        for (n, fp) in ["00000000000000aa", "00000000000000bb"].iter().enumerate() {
            store
                .record_events(&[ev(n as u64, fp, "p")], 1_000, &DEDUPE, &FOLD)
                .await
                .unwrap();
            assert!(store
                .claim_alert(&claim(fp, 1_000, 0, &format!("m{n}")))
                .await
                .unwrap());
        }
        let first = store
            .next_outbox(50_000, 10_000, 1_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.attempts, 1);
        assert!(
            store
                .next_outbox(50_500, 10_000, 1_000)
                .await
                .unwrap()
                .is_none(),
            "rate slot taken"
        );
        let second = store
            .next_outbox(51_000, 10_000, 1_000)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(
            first.id, second.id,
            "a leased message is not handed out twice"
        );
        store
            .settle_outbox(
                &first.id,
                &Delivery::Retry {
                    at_ms: 55_000,
                    error: "500".into(),
                },
            )
            .await
            .unwrap();
        store
            .settle_outbox(&second.id, &Delivery::Sent)
            .await
            .unwrap();
        assert!(
            store
                .next_outbox(54_000, 10_000, 1_000)
                .await
                .unwrap()
                .is_none(),
            "not due yet"
        );
        let again = store
            .next_outbox(55_000, 10_000, 1_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.id.as_str(), again.attempts), (first.id.as_str(), 2));
        store
            .settle_outbox(
                &again.id,
                &Delivery::Dead {
                    error: "404".into(),
                },
            )
            .await
            .unwrap();
        let statuses: Vec<_> = store
            .outbox()
            .await
            .unwrap()
            .iter()
            .map(|m| m.status)
            .collect();
        assert!(statuses.contains(&OutboxStatus::Dead) && statuses.contains(&OutboxStatus::Sent));
    }
}
