//! Milvus as the vector store at scale (placeholder until the gRPC client lands).

use super::{DocKind, Document, Hit, VectorStore};
use crate::RetrievalError;

pub struct MilvusStore {
    _dim: usize,
}

impl MilvusStore {
    pub async fn connect(
        _addr: &str,
        _collection: &str,
        _dim: usize,
    ) -> Result<Self, RetrievalError> {
        Err(RetrievalError::Milvus(
            "the Milvus store is not available in this build".into(),
        ))
    }
}

#[async_trait::async_trait]
impl VectorStore for MilvusStore {
    async fn upsert(&self, _docs: Vec<Document>) -> Result<(), RetrievalError> {
        Err(RetrievalError::Milvus("unavailable".into()))
    }
    async fn get(&self, _id: &str) -> Result<Option<Document>, RetrievalError> {
        Err(RetrievalError::Milvus("unavailable".into()))
    }
    async fn set_resolution(&self, _id: &str, _note: &str) -> Result<bool, RetrievalError> {
        Err(RetrievalError::Milvus("unavailable".into()))
    }
    async fn search(
        &self,
        _v: &[f32],
        _k: usize,
        _kind: Option<DocKind>,
    ) -> Result<Vec<Hit>, RetrievalError> {
        Err(RetrievalError::Milvus("unavailable".into()))
    }
    async fn len(&self) -> Result<usize, RetrievalError> {
        Err(RetrievalError::Milvus("unavailable".into()))
    }
}
