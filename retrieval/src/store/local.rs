//! The embedded vector store: a SQLite file (beside the consumer's state, e.g.
//! `.cali/state/vectors.sqlite`) holds the documents, and a copy of them in memory is
//! searched exactly (every vector scored), which is fast enough up to ~100k vectors.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{params, Connection};

use super::{rank_key, sort_hits, DocKind, Document, Hit, VectorStore};
use crate::RetrievalError;

/// SQLite-backed store with exact in-memory search.
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Mutex<Connection>,
    index: RwLock<Index>,
}

/// The documents in memory, in insertion order, with their position by id.
#[derive(Default)]
struct Index {
    docs: Vec<Document>,
    position: HashMap<String, usize>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS documents (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    resolution TEXT,
    vector     BLOB NOT NULL
);";

impl LocalStore {
    /// Opens (creating if needed) the store at `path`; its parent directory is created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RetrievalError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| RetrievalError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        Self::from_connection(Connection::open(path)?)
    }

    /// A store that lives only as long as this value (tests, one-off evaluations).
    pub fn in_memory() -> Result<Self, RetrievalError> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(db: Connection) -> Result<Self, RetrievalError> {
        db.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        db.execute_batch(SCHEMA)?;
        let mut index = Index::default();
        {
            let mut stmt = db.prepare(
                "SELECT id, kind, title, body, resolution, vector FROM documents ORDER BY rowid",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Vec<u8>>(5)?,
                ))
            })?;
            for row in rows {
                let (id, kind, title, text, resolution, blob) = row?;
                let kind = DocKind::parse(&kind).ok_or_else(|| {
                    RetrievalError::Store(format!("document {id} has unknown kind {kind:?}"))
                })?;
                let vector = vector_from_blob(&blob).ok_or_else(|| {
                    RetrievalError::Store(format!("document {id} has a corrupt vector"))
                })?;
                index.insert(Document {
                    id,
                    kind,
                    title,
                    text,
                    resolution,
                    vector,
                });
            }
        }
        Ok(LocalStore {
            inner: Arc::new(Inner {
                db: Mutex::new(db),
                index: RwLock::new(index),
            }),
        })
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, RetrievalError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, RetrievalError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner)).await?
    }
}

impl Index {
    fn insert(&mut self, doc: Document) {
        match self.position.get(&doc.id) {
            Some(&i) => self.docs[i] = doc,
            None => {
                self.position.insert(doc.id.clone(), self.docs.len());
                self.docs.push(doc);
            }
        }
    }
}

impl Inner {
    fn lock_db(&self) -> Result<std::sync::MutexGuard<'_, Connection>, RetrievalError> {
        self.db
            .lock()
            .map_err(|_| RetrievalError::Store("database lock poisoned".into()))
    }

    fn read_index(&self) -> Result<std::sync::RwLockReadGuard<'_, Index>, RetrievalError> {
        self.index
            .read()
            .map_err(|_| RetrievalError::Store("index lock poisoned".into()))
    }

    fn write_index(&self) -> Result<std::sync::RwLockWriteGuard<'_, Index>, RetrievalError> {
        self.index
            .write()
            .map_err(|_| RetrievalError::Store("index lock poisoned".into()))
    }

    fn upsert(&self, docs: Vec<Document>) -> Result<(), RetrievalError> {
        let mut db = self.lock_db()?;
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO documents (id, kind, title, body, resolution, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                   body = excluded.body, resolution = excluded.resolution, vector = excluded.vector",
            )?;
            for doc in &docs {
                stmt.execute(params![
                    doc.id,
                    doc.kind.as_str(),
                    doc.title,
                    doc.text,
                    doc.resolution,
                    vector_to_blob(&doc.vector)
                ])?;
            }
        }
        tx.commit()?;
        let mut index = self.write_index()?;
        docs.into_iter().for_each(|doc| index.insert(doc));
        Ok(())
    }

    fn set_resolution(&self, id: &str, note: &str) -> Result<bool, RetrievalError> {
        let db = self.lock_db()?;
        let changed = db.execute(
            "UPDATE documents SET resolution = ?2 WHERE id = ?1",
            params![id, note],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        let mut index = self.write_index()?;
        if let Some(&i) = index.position.get(id) {
            index.docs[i].resolution = Some(note.to_string());
        }
        Ok(true)
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        kind: Option<DocKind>,
    ) -> Result<Vec<Hit>, RetrievalError> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let index = self.read_index()?;
        // Documents embedded by another model (other dimension) cannot be compared.
        let mut scored: Vec<(f32, f32, usize)> = index
            .docs
            .iter()
            .enumerate()
            .filter(|(_, doc)| {
                kind.is_none_or(|kind| doc.kind == kind) && doc.vector.len() == query.len()
            })
            .map(|(i, doc)| {
                let cosine = crate::embed::cosine(query, &doc.vector);
                (rank_key(doc, cosine), cosine, i)
            })
            .collect();
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
            scored.truncate(k);
        }
        let mut hits: Vec<Hit> = scored
            .into_iter()
            .map(|(_, score, i)| Hit {
                doc: index.docs[i].clone(),
                score,
            })
            .collect();
        sort_hits(&mut hits);
        Ok(hits)
    }
}

fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn vector_from_blob(blob: &[u8]) -> Option<Vec<f32>> {
    if blob.len() % 4 != 0 {
        return None;
    }
    Some(
        blob.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

#[async_trait::async_trait]
impl VectorStore for LocalStore {
    async fn upsert(&self, docs: Vec<Document>) -> Result<(), RetrievalError> {
        self.blocking(move |inner| inner.upsert(docs)).await
    }

    async fn get(&self, id: &str) -> Result<Option<Document>, RetrievalError> {
        let index = self.inner.read_index()?;
        Ok(index.position.get(id).map(|&i| index.docs[i].clone()))
    }

    async fn set_resolution(&self, id: &str, note: &str) -> Result<bool, RetrievalError> {
        let (id, note) = (id.to_string(), note.to_string());
        self.blocking(move |inner| inner.set_resolution(&id, &note))
            .await
    }

    async fn search(
        &self,
        vector: &[f32],
        k: usize,
        kind: Option<DocKind>,
    ) -> Result<Vec<Hit>, RetrievalError> {
        let query = vector.to_vec();
        self.blocking(move |inner| inner.search(&query, k, kind))
            .await
    }

    async fn len(&self) -> Result<usize, RetrievalError> {
        Ok(self.inner.read_index()?.docs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, vector: Vec<f32>) -> Document {
        Document {
            id: id.into(),
            kind: DocKind::Incident,
            title: id.into(),
            text: format!("text of {id}"),
            resolution: None,
            vector,
        }
    }

    #[test]
    fn blob_round_trip_keeps_every_bit() {
        let v = vec![0.1f32, -2.5, f32::MIN_POSITIVE, 1e-30];
        assert_eq!(vector_from_blob(&vector_to_blob(&v)), Some(v));
        assert_eq!(vector_from_blob(&[1, 2, 3]), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/vectors.sqlite");
        {
            let store = LocalStore::open(&path).unwrap();
            store
                .upsert(vec![
                    doc("incident:a", vec![1.0, 0.0]),
                    doc("incident:b", vec![0.0, 1.0]),
                ])
                .await
                .unwrap();
            assert!(store
                .set_resolution("incident:b", "restarted the pool")
                .await
                .unwrap());
        }
        let store = LocalStore::open(&path).unwrap();
        assert_eq!(store.len().await.unwrap(), 2);
        let b = store.get("incident:b").await.unwrap().unwrap();
        assert_eq!(b.resolution.as_deref(), Some("restarted the pool"));
        assert_eq!(b.vector, vec![0.0, 1.0]);
    }
}
