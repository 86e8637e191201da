//! The lease table in a SQLite file: each conditional write is one `UPDATE ... WHERE`
//! naming the owner and counter the caller knows, which SQLite applies atomically even
//! when several processes share the file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use super::{LeaseStore, ShardLease};
use crate::SourceError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS shard_leases (
    stream            TEXT    NOT NULL,
    shard_id          TEXT    NOT NULL,
    owner             TEXT,
    counter           INTEGER NOT NULL DEFAULT 0,
    expires_at_ms     INTEGER NOT NULL DEFAULT 0,
    checkpoint        TEXT,
    checkpoint_at_ms  INTEGER,
    parent_shard_ids  TEXT    NOT NULL DEFAULT '',
    finished          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream, shard_id)
);";

const COLUMNS: &str = "shard_id, owner, counter, expires_at_ms, checkpoint, checkpoint_at_ms, \
                       parent_shard_ids, finished";

/// Leases of one stream in a SQLite file (table `shard_leases`).
#[derive(Debug, Clone)]
pub struct SqliteLeaseStore {
    connection: Arc<Mutex<Connection>>,
    stream: String,
}

impl SqliteLeaseStore {
    /// Opens (creating if needed) the file and its table.
    pub async fn open(path: &Path, stream_name: &str) -> Result<Self, SourceError> {
        let path = path.to_path_buf();
        let connection = tokio::task::spawn_blocking(move || -> Result<Connection, SourceError> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| SourceError::io(dir.display(), e))?;
            }
            let connection = Connection::open(&path)?;
            // Replicas on one machine share the file: wait for each other's writes.
            connection.busy_timeout(std::time::Duration::from_secs(5))?;
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "FULL")?;
            connection.execute_batch(SCHEMA)?;
            Ok(connection)
        })
        .await
        .map_err(|e| SourceError::Lease(format!("SQLite task failed: {e}")))??;
        Ok(SqliteLeaseStore {
            connection: Arc::new(Mutex::new(connection)),
            stream: stream_name.to_string(),
        })
    }

    /// Runs `work` on the connection off the async threads (SQLite may wait for a lock).
    async fn with_connection<T, F>(&self, work: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let stream = self.stream.clone();
        tokio::task::spawn_blocking(move || {
            let connection = connection
                .lock()
                .map_err(|_| SourceError::Lease("SQLite connection poisoned".into()))?;
            work(&connection, &stream).map_err(SourceError::from)
        })
        .await
        .map_err(|e| SourceError::Lease(format!("SQLite task failed: {e}")))?
    }
}

fn lease_from_row(row: &rusqlite::Row<'_>) -> Result<ShardLease, rusqlite::Error> {
    let parents: String = row.get(6)?;
    Ok(ShardLease {
        shard_id: row.get(0)?,
        owner: row.get(1)?,
        counter: row.get::<_, i64>(2)?.max(0) as u64,
        expires_at_ms: row.get(3)?,
        checkpoint: row.get(4)?,
        checkpoint_at_ms: row.get(5)?,
        parent_shard_ids: parents
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        finished: row.get(7)?,
    })
}

#[async_trait::async_trait]
impl LeaseStore for SqliteLeaseStore {
    async fn register(
        &self,
        shard_id: &str,
        parent_shard_ids: &[String],
    ) -> Result<(), SourceError> {
        let shard_id = shard_id.to_string();
        let parents = parent_shard_ids.join(",");
        self.with_connection(move |c, stream| {
            c.execute(
                "INSERT OR IGNORE INTO shard_leases (stream, shard_id, parent_shard_ids) \
                 VALUES (?1, ?2, ?3)",
                params![stream, shard_id, parents],
            )
            .map(drop)
        })
        .await
    }

    async fn leases(&self) -> Result<Vec<ShardLease>, SourceError> {
        self.with_connection(|c, stream| {
            let mut statement = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM shard_leases WHERE stream = ?1 ORDER BY shard_id"
            ))?;
            let rows = statement.query_map(params![stream], lease_from_row)?;
            rows.collect()
        })
        .await
    }

    async fn take(
        &self,
        observed: &ShardLease,
        owner: &str,
        expires_at_ms: i64,
    ) -> Result<Option<ShardLease>, SourceError> {
        let observed = observed.clone();
        let owner = owner.to_string();
        self.with_connection(move |c, stream| {
            let changed = c.execute(
                "UPDATE shard_leases SET owner = ?1, counter = counter + 1, expires_at_ms = ?2 \
                 WHERE stream = ?3 AND shard_id = ?4 AND owner IS ?5 AND counter = ?6 \
                 AND expires_at_ms = ?7 AND finished = 0",
                params![
                    owner,
                    expires_at_ms,
                    stream,
                    observed.shard_id,
                    observed.owner,
                    observed.counter as i64,
                    observed.expires_at_ms
                ],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            c.query_row(
                &format!("SELECT {COLUMNS} FROM shard_leases WHERE stream = ?1 AND shard_id = ?2"),
                params![stream, observed.shard_id],
                lease_from_row,
            )
            .optional()
        })
        .await
    }

    async fn renew(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        expires_at_ms: i64,
    ) -> Result<bool, SourceError> {
        let (shard_id, owner) = (shard_id.to_string(), owner.to_string());
        self.with_connection(move |c, stream| {
            c.execute(
                "UPDATE shard_leases SET expires_at_ms = ?1 \
                 WHERE stream = ?2 AND shard_id = ?3 AND owner = ?4 AND counter = ?5",
                params![expires_at_ms, stream, shard_id, owner, counter as i64],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn checkpoint(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        sequence_number: &str,
        at_ms: i64,
    ) -> Result<bool, SourceError> {
        let (shard_id, owner, sequence) = (
            shard_id.to_string(),
            owner.to_string(),
            sequence_number.to_string(),
        );
        self.with_connection(move |c, stream| {
            c.execute(
                "UPDATE shard_leases SET checkpoint = ?1, checkpoint_at_ms = ?2 \
                 WHERE stream = ?3 AND shard_id = ?4 AND owner = ?5 AND counter = ?6",
                params![sequence, at_ms, stream, shard_id, owner, counter as i64],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn finish(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
        at_ms: i64,
    ) -> Result<bool, SourceError> {
        let (shard_id, owner) = (shard_id.to_string(), owner.to_string());
        self.with_connection(move |c, stream| {
            c.execute(
                "UPDATE shard_leases SET finished = 1, owner = NULL, expires_at_ms = 0, \
                 checkpoint_at_ms = ?1 \
                 WHERE stream = ?2 AND shard_id = ?3 AND owner = ?4 AND counter = ?5",
                params![at_ms, stream, shard_id, owner, counter as i64],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn release(
        &self,
        shard_id: &str,
        owner: &str,
        counter: u64,
    ) -> Result<bool, SourceError> {
        let (shard_id, owner) = (shard_id.to_string(), owner.to_string());
        self.with_connection(move |c, stream| {
            c.execute(
                "UPDATE shard_leases SET owner = NULL, expires_at_ms = 0 \
                 WHERE stream = ?1 AND shard_id = ?2 AND owner = ?3 AND counter = ?4",
                params![stream, shard_id, owner, counter as i64],
            )
            .map(|n| n == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn has_the_lease_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteLeaseStore::open(&dir.path().join("leases.db"), "events")
            .await
            .unwrap();
        crate::testing::check_lease_semantics(&store).await;
    }

    #[tokio::test]
    async fn streams_in_one_file_do_not_see_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        let a = SqliteLeaseStore::open(&path, "a").await.unwrap();
        let b = SqliteLeaseStore::open(&path, "b").await.unwrap();
        a.register("shardId-0", &[]).await.unwrap();
        assert_eq!(a.leases().await.unwrap().len(), 1);
        assert!(b.leases().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn two_connections_to_one_file_never_both_take_a_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("leases.db");
        let first = SqliteLeaseStore::open(&path, "events").await.unwrap();
        let second = SqliteLeaseStore::open(&path, "events").await.unwrap();
        first.register("shardId-0", &[]).await.unwrap();
        let observed = second.leases().await.unwrap().remove(0);
        let (a, b) = tokio::join!(
            first.take(&observed, "w1", 9),
            second.take(&observed, "w2", 9)
        );
        let winners = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
        assert_eq!(winners, 1);
    }
}
