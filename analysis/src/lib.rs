//! Incident analysis (redaction, embeddings, retrieval, LLM, offline analyst).
