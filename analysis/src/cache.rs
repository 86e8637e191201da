//! Cost control: LLM analyses kept for a TTL, found by the redacted prompt's hash (with the
//! model and prompt version) or by fingerprint, so one fingerprint costs at most one call
//! per TTL. In memory, and in SQLite when a path is given so restarts do not pay again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::seam::Analysis;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("analysis cache database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

#[derive(Debug, Clone)]
struct Entry {
    fingerprint: String,
    model: String,
    analysis: Analysis,
    stored_at_ms: u64,
}

#[derive(Debug)]
pub struct AnalysisCache {
    ttl_ms: u64,
    memory: Mutex<HashMap<String, Entry>>,
    db: Option<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS llm_analysis_cache (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    model TEXT NOT NULL,
    analysis TEXT NOT NULL,
    stored_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_analysis_cache_by_fingerprint
    ON llm_analysis_cache (fingerprint, model, stored_at_ms);
CREATE TABLE IF NOT EXISTS incident_analysis (
    fingerprint TEXT PRIMARY KEY,
    analysis TEXT NOT NULL,
    analysed_at_ms INTEGER NOT NULL
);
";

impl AnalysisCache {
    /// In memory only.
    pub fn in_memory(ttl_ms: u64) -> Self {
        AnalysisCache {
            ttl_ms,
            memory: Mutex::new(HashMap::new()),
            db: None,
        }
    }

    /// Backed by the SQLite file at `path` (created if missing; may be the consumer's
    /// state database: the table is `llm_analysis_cache`).
    pub fn open(path: &Path, ttl_ms: u64) -> Result<Self, CacheError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(AnalysisCache {
            ttl_ms,
            memory: Mutex::new(HashMap::new()),
            db: Some(Mutex::new(conn)),
        })
    }

    fn fresh(&self, stored_at_ms: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(stored_at_ms) < self.ttl_ms
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The analysis cached under this prompt key, else the newest fresh one for this
    /// fingerprint and model.
    pub fn get(&self, key: &str, fingerprint: &str, model: &str, now_ms: u64) -> Option<Analysis> {
        {
            let memory = self.memory();
            if let Some(e) = memory
                .get(key)
                .filter(|e| self.fresh(e.stored_at_ms, now_ms))
            {
                return Some(e.analysis.clone());
            }
            let newest = memory
                .values()
                .filter(|e| e.fingerprint == fingerprint && e.model == model)
                .filter(|e| self.fresh(e.stored_at_ms, now_ms))
                .max_by_key(|e| e.stored_at_ms);
            if let Some(e) = newest {
                return Some(e.analysis.clone());
            }
        }
        match self.get_stored(key, fingerprint, model, now_ms) {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "analysis cache read failed; treating as a miss");
                None
            }
        }
    }

    fn get_stored(
        &self,
        key: &str,
        fingerprint: &str,
        model: &str,
        now_ms: u64,
    ) -> Result<Option<Analysis>, CacheError> {
        let Some(db) = &self.db else { return Ok(None) };
        let conn = db.lock().unwrap_or_else(|e| e.into_inner());
        let oldest = i64::try_from(now_ms.saturating_sub(self.ttl_ms)).unwrap_or(i64::MAX);
        let row: Option<(String, i64)> = conn
            .query_row(
                "SELECT analysis, stored_at_ms FROM llm_analysis_cache
                 WHERE (key = ?1 OR (fingerprint = ?2 AND model = ?3)) AND stored_at_ms > ?4
                 ORDER BY (key = ?1) DESC, stored_at_ms DESC LIMIT 1",
                params![key, fingerprint, model, oldest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((json, stored_at)) = row else {
            return Ok(None);
        };
        let Ok(analysis) = serde_json::from_str::<Analysis>(&json) else {
            return Ok(None);
        };
        // Warm the memory copy so the next lookup does not touch SQLite.
        self.memory().insert(
            key.to_string(),
            Entry {
                fingerprint: fingerprint.to_string(),
                model: model.to_string(),
                analysis: analysis.clone(),
                stored_at_ms: u64::try_from(stored_at).unwrap_or(0),
            },
        );
        Ok(Some(analysis))
    }

    pub fn put(&self, key: &str, fingerprint: &str, model: &str, analysis: &Analysis, now_ms: u64) {
        let mut memory = self.memory();
        memory.retain(|_, e| self.fresh(e.stored_at_ms, now_ms));
        memory.insert(
            key.to_string(),
            Entry {
                fingerprint: fingerprint.to_string(),
                model: model.to_string(),
                analysis: analysis.clone(),
                stored_at_ms: now_ms,
            },
        );
        drop(memory);
        if let Err(err) = self.put_stored(key, fingerprint, model, analysis, now_ms) {
            tracing::warn!(error = %err, "analysis cache write failed; kept in memory only");
        }
    }

    fn put_stored(
        &self,
        key: &str,
        fingerprint: &str,
        model: &str,
        analysis: &Analysis,
        now_ms: u64,
    ) -> Result<(), CacheError> {
        let Some(db) = &self.db else { return Ok(()) };
        let json = serde_json::to_string(analysis).unwrap_or_default();
        let conn = db.lock().unwrap_or_else(|e| e.into_inner());
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let oldest = i64::try_from(now_ms.saturating_sub(self.ttl_ms)).unwrap_or(i64::MAX);
        conn.execute(
            "INSERT OR REPLACE INTO llm_analysis_cache (key, fingerprint, model, analysis, stored_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key, fingerprint, model, json, now],
        )?;
        conn.execute(
            "DELETE FROM llm_analysis_cache WHERE stored_at_ms <= ?1",
            params![oldest],
        )?;
        Ok(())
    }

    /// Keeps the latest analysis of an incident (any source) beside its stored document,
    /// so past incidents can be shown with what was concluded about them.
    pub fn record_incident(&self, fingerprint: &str, analysis: &Analysis, now_ms: u64) {
        let Some(db) = &self.db else { return };
        let json = serde_json::to_string(analysis).unwrap_or_default();
        let conn = db.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(err) = conn.execute(
            "INSERT OR REPLACE INTO incident_analysis (fingerprint, analysis, analysed_at_ms) VALUES (?1, ?2, ?3)",
            params![fingerprint, json, i64::try_from(now_ms).unwrap_or(i64::MAX)],
        ) {
            tracing::warn!(error = %err, "incident analysis write failed");
        }
    }

    /// The latest recorded analysis of an incident, when the cache has a database.
    pub fn incident_analysis(&self, fingerprint: &str) -> Option<Analysis> {
        let db = self.db.as_ref()?;
        let conn = db.lock().unwrap_or_else(|e| e.into_inner());
        let json: Option<String> = conn
            .query_row(
                "SELECT analysis FROM incident_analysis WHERE fingerprint = ?1",
                params![fingerprint],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        json.and_then(|j| serde_json::from_str(&j).ok())
    }

    /// Forgets every analysis of a fingerprint (a human resolved it: the next analysis
    /// should see the resolution).
    pub fn forget_fingerprint(&self, fingerprint: &str) {
        self.memory().retain(|_, e| e.fingerprint != fingerprint);
        if let Some(db) = &self.db {
            let conn = db.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(err) = conn.execute(
                "DELETE FROM llm_analysis_cache WHERE fingerprint = ?1",
                params![fingerprint],
            ) {
                tracing::warn!(error = %err, "analysis cache delete failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(summary: &str) -> Analysis {
        Analysis {
            summary: summary.into(),
            likely_cause: None,
            evidence: vec![],
            actions: vec![],
            related: vec![],
            confidence: 0.5,
            source: "llm:m".into(),
        }
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = AnalysisCache::in_memory(1_000);
        c.put("k", "fp", "m", &analysis("a"), 0);
        assert!(c.get("k", "fp", "m", 999).is_some());
        assert!(c.get("k", "fp", "m", 1_000).is_none());
    }

    #[test]
    fn same_fingerprint_hits_under_another_prompt_but_not_another_model() {
        let c = AnalysisCache::in_memory(1_000);
        c.put("k1", "fp", "m", &analysis("a"), 0);
        assert_eq!(
            c.get("k2", "fp", "m", 10).map(|a| a.summary),
            Some("a".into())
        );
        assert!(c.get("k2", "fp", "other", 10).is_none());
    }

    #[test]
    fn survives_a_restart_through_sqlite() {
        let dir = std::env::temp_dir().join(format!("cali-analysis-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("cache.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let c = AnalysisCache::open(&path, 60_000).expect("open");
            c.put("k", "fp", "m", &analysis("kept"), 1_000);
        }
        let c = AnalysisCache::open(&path, 60_000).expect("reopen");
        assert_eq!(
            c.get("k", "fp", "m", 2_000).map(|a| a.summary),
            Some("kept".into())
        );
        c.forget_fingerprint("fp");
        assert!(c.get("k", "fp", "m", 2_000).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
