//! The one error type of the crate: what failed (model, HTTP endpoint, store, file) and why.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    #[error("embedding model: {0}")]
    Model(String),
    #[error("embedding endpoint answered HTTP {status}: {body}")]
    HttpStatus { status: u16, body: String },
    #[error("embedding endpoint did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("embedding endpoint unreachable: {0}")]
    Transport(String),
    #[error("embedding endpoint answered something unusable: {0}")]
    BadResponse(String),
    #[error("vector has {got} dimensions, expected {expected}")]
    DimensionMismatch { expected: usize, got: usize },
    #[error("local vector store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("local vector store: {0}")]
    Store(String),
    #[error("milvus: {0}")]
    Milvus(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("background task failed: {0}")]
    Task(String),
}

impl From<tokio::task::JoinError> for RetrievalError {
    fn from(err: tokio::task::JoinError) -> Self {
        RetrievalError::Task(err.to_string())
    }
}
