//! Embeddings and vector stores for retrieval over past incidents and runbooks.
