//! Vector stores: documents (past incidents, runbook sections) with their vectors, and the
//! nearest ones to a query. `LocalStore` is the embedded default (SQLite, exact search);
//! `MilvusStore` is the option at scale. Both rank with [`rank_key`].

mod local;
mod milvus;

pub use local::LocalStore;
pub use milvus::MilvusStore;

use serde::{Deserialize, Serialize};

use crate::RetrievalError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DocKind {
    Incident,
    Runbook,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Incident => "incident",
            DocKind::Runbook => "runbook",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "incident" => Some(DocKind::Incident),
            "runbook" => Some(DocKind::Runbook),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    /// `incident:<fingerprint>` or `runbook:<path>#<heading-slug>`.
    pub id: String,
    pub kind: DocKind,
    pub title: String,
    /// The text that was embedded (already redacted by the caller).
    pub text: String,
    /// For incidents a human resolved: the resolution note.
    pub resolution: Option<String>,
    pub vector: Vec<f32>,
}

/// A document found by a search, with its cosine similarity to the query.
#[derive(Debug, Clone)]
pub struct Hit {
    pub doc: Document,
    pub score: f32,
}

/// How much a resolved incident's cosine is raised for ranking: a resolved incident ranks
/// above any document whose cosine is less than `RESOLVED_BONUS` higher than its own. The
/// reported `Hit::score` stays the plain cosine.
pub const RESOLVED_BONUS: f32 = 0.03;

/// The ranking rule shared by every store: cosine, plus [`RESOLVED_BONUS`] for incidents
/// that carry a resolution, because a known fix is worth more than a slightly closer
/// unexplained match.
pub fn rank_key(doc: &Document, cosine: f32) -> f32 {
    if is_resolved_incident(doc) {
        cosine + RESOLVED_BONUS
    } else {
        cosine
    }
}

pub(crate) fn is_resolved_incident(doc: &Document) -> bool {
    doc.kind == DocKind::Incident
        && doc
            .resolution
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
}

/// Orders hits by [`rank_key`], best first, ties broken by id for stable output.
pub(crate) fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(|a, b| {
        rank_key(&b.doc, b.score)
            .total_cmp(&rank_key(&a.doc, a.score))
            .then_with(|| a.doc.id.cmp(&b.doc.id))
    });
}

// `len` is async and fallible; an `is_empty` beside it would only repeat it.
#[allow(clippy::len_without_is_empty)]
#[async_trait::async_trait]
pub trait VectorStore: Send + Sync {
    /// Inserts or replaces documents by id.
    async fn upsert(&self, docs: Vec<Document>) -> Result<(), RetrievalError>;
    async fn get(&self, id: &str) -> Result<Option<Document>, RetrievalError>;
    /// Attaches a resolution note; false when no document has this id.
    async fn set_resolution(&self, id: &str, note: &str) -> Result<bool, RetrievalError>;
    /// Top `k` by cosine, optionally of one kind. Resolved incidents rank first among
    /// near-equal scores: the order is by [`rank_key`] (cosine + [`RESOLVED_BONUS`] for a
    /// resolved incident); `Hit::score` is the cosine.
    async fn search(
        &self,
        vector: &[f32],
        k: usize,
        kind: Option<DocKind>,
    ) -> Result<Vec<Hit>, RetrievalError>;
    async fn len(&self) -> Result<usize, RetrievalError>;
}
