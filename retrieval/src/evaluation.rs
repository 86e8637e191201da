//! Retrieval quality: recall@k of the right runbook page and past incident over a labelled
//! set of incidents. Used by the recall test and the `recall` example, so the number in the
//! docs is the one the test checks.

use std::path::Path;

use serde::Deserialize;

use crate::store::{DocKind, Document, VectorStore};
use crate::{incident_text, ingest_runbooks, Embedder, RetrievalError};

/// A past incident already in the store (`testdata/past_incidents.jsonl`).
#[derive(Debug, Clone, Deserialize)]
pub struct PastIncident {
    pub fingerprint: String,
    pub service: Option<String>,
    pub exception_type: Option<String>,
    pub message: String,
    #[serde(default)]
    pub frames: Vec<String>,
    pub resolution: Option<String>,
}

/// A new incident with what retrieval should find for it (`testdata/incidents.jsonl`).
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledIncident {
    pub id: String,
    pub language: String,
    pub service: Option<String>,
    pub exception_type: Option<String>,
    pub message: String,
    #[serde(default)]
    pub frames: Vec<String>,
    /// The runbook page (path relative to the runbook directory) that should be found.
    pub runbook: String,
    /// The past incident (`incident:<fingerprint>`) that should be found, if any.
    pub incident: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecallReport {
    pub k: usize,
    /// Labelled incidents whose runbook page had a section in the top k runbook hits.
    pub runbook_found: usize,
    pub runbook_total: usize,
    /// Labelled incidents whose past incident was in the top k incident hits.
    pub incident_found: usize,
    pub incident_total: usize,
    /// Ids of the labelled incidents with a miss, for reading what went wrong.
    pub misses: Vec<String>,
}

impl RecallReport {
    /// Found labels over all labels (runbook and past-incident labels together).
    pub fn recall(&self) -> f64 {
        let total = self.runbook_total + self.incident_total;
        if total == 0 {
            return 0.0;
        }
        (self.runbook_found + self.incident_found) as f64 / total as f64
    }
}

/// Reads a JSON-lines file of `T`.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RetrievalError> {
    let text = std::fs::read_to_string(path).map_err(|source| RetrievalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|err| {
                RetrievalError::Store(format!("{}:{}: {err}", path.display(), n + 1))
            })
        })
        .collect()
}

/// Fills `store` (empty) with the runbooks under `runbook_dir` and the past incidents, then
/// searches each labelled incident's text for the top `k` runbook sections and the top `k`
/// incidents, as the analysis does.
pub async fn evaluate_recall(
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    runbook_dir: &Path,
    past: &[PastIncident],
    labelled: &[LabelledIncident],
    k: usize,
) -> Result<RecallReport, RetrievalError> {
    ingest_runbooks(runbook_dir, embedder, store).await?;
    let past_texts: Vec<String> = past
        .iter()
        .map(|p| {
            incident_text(
                p.exception_type.as_deref(),
                &p.message,
                &p.frames,
                p.service.as_deref(),
            )
        })
        .collect();
    let vectors = embedder.embed(&past_texts).await?;
    let docs = past
        .iter()
        .zip(past_texts)
        .zip(vectors)
        .map(|((p, text), vector)| Document {
            id: format!("incident:{}", p.fingerprint),
            kind: DocKind::Incident,
            title: format!(
                "{} in {}",
                p.exception_type.as_deref().unwrap_or("error"),
                p.service.as_deref().unwrap_or("?")
            ),
            text,
            resolution: p.resolution.clone(),
            vector,
        })
        .collect();
    store.upsert(docs).await?;

    let query_texts: Vec<String> = labelled
        .iter()
        .map(|q| {
            incident_text(
                q.exception_type.as_deref(),
                &q.message,
                &q.frames,
                q.service.as_deref(),
            )
        })
        .collect();
    let queries = embedder.embed(&query_texts).await?;
    let mut report = RecallReport {
        k,
        runbook_found: 0,
        runbook_total: 0,
        incident_found: 0,
        incident_total: 0,
        misses: Vec::new(),
    };
    for (q, vector) in labelled.iter().zip(&queries) {
        let mut missed = false;
        let page = format!("runbook:{}#", q.runbook);
        let runbooks = store.search(vector, k, Some(DocKind::Runbook)).await?;
        report.runbook_total += 1;
        if runbooks.iter().any(|h| h.doc.id.starts_with(&page)) {
            report.runbook_found += 1;
        } else {
            missed = true;
        }
        if let Some(want) = &q.incident {
            report.incident_total += 1;
            let incidents = store.search(vector, k, Some(DocKind::Incident)).await?;
            if incidents.iter().any(|h| &h.doc.id == want) {
                report.incident_found += 1;
            } else {
                missed = true;
            }
        }
        if missed {
            report.misses.push(q.id.clone());
        }
    }
    Ok(report)
}
