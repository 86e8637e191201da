//! Embeddings and vector stores for retrieval over past incidents and runbooks.
//! `embed` turns text into L2-normalized vectors, `store` keeps documents and finds the
//! nearest ones, `runbook` chunks Markdown pages and `incident` says what text an incident is.

pub mod embed;
mod error;
pub mod evaluation;
pub mod incident;
pub mod runbook;
pub mod store;
mod text;

pub use embed::{default_embedder, Embedder, HashedEmbedder, HttpEmbedder, MiniLmEmbedder};
pub use error::RetrievalError;
pub use incident::incident_text;
pub use runbook::{chunk_markdown, ingest_runbooks, RunbookChunk};
pub use store::{DocKind, Document, Hit, LocalStore, MilvusStore, VectorStore, RESOLVED_BONUS};
