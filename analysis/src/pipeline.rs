//! The analysis pipeline behind the `Analyzer` seam: redact → embed (once per fingerprint)
//! → search past incidents and runbooks → LLM (configured, circuit closed, within budget,
//! not cached) or the offline analyst → store the redacted incident for future retrieval.
//! `resolve` attaches a human resolution; resolved incidents rank first afterwards.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cali_retrieval::{
    incident_text, DocKind, Document, Embedder, Hit, RetrievalError, VectorStore,
};

use crate::analyst::OfflineAnalyst;
use crate::cache::{AnalysisCache, CacheError};
use crate::clock::{Clock, SystemClock};
use crate::config::AnalysisConfig;
use crate::llm::{self, build_prompt, ChatClient, LlmError};
use crate::metrics::AnalysisMetrics;
use crate::redact::{RedactError, Redactor};
use crate::retrieved::Retrieved;
use crate::seam::{Analysis, Analyzer, IncidentInput};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Redaction(#[from] RedactError),
    #[error("LLM client: {0}")]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("retrieval: {0}")]
    Retrieval(#[from] RetrievalError),
}

/// What the caller provides besides the configuration.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// The chat endpoint's API key (from the environment or Secrets Manager); `None` for
    /// endpoints without one (vLLM, Ollama).
    pub api_key: Option<String>,
    /// SQLite file for the LLM cache and the incidents' analyses (e.g. the consumer's
    /// `.cali/state/analysis.sqlite`); `None` keeps them in memory.
    pub cache_path: Option<PathBuf>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<AnalysisMetrics>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            api_key: None,
            cache_path: None,
            clock: Arc::new(SystemClock),
            metrics: Arc::new(AnalysisMetrics::default()),
        }
    }
}

pub struct AnalysisPipeline {
    config: AnalysisConfig,
    redactor: Redactor,
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn VectorStore>,
    llm: Option<ChatClient>,
    cache: AnalysisCache,
    analyst: OfflineAnalyst,
    clock: Arc<dyn Clock>,
    metrics: Arc<AnalysisMetrics>,
    /// Fingerprint → (embedded text, vector): each fingerprint is embedded once.
    vectors: Mutex<HashMap<String, (String, Vec<f32>)>>,
    /// Fingerprint → the analysis last stored, so an unchanged incident is not rewritten.
    stored: Mutex<HashMap<String, Analysis>>,
    /// One analysis at a time per fingerprint: concurrent incidents of one fingerprint
    /// wait for the first and then hit the cache instead of calling the LLM again.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for AnalysisPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisPipeline")
            .field("embedder", &self.embedder.model_id())
            .field("llm", &self.llm.as_ref().map(ChatClient::model))
            .finish_non_exhaustive()
    }
}

impl AnalysisPipeline {
    pub fn new(
        config: AnalysisConfig,
        embedder: Arc<dyn Embedder>,
        store: Arc<dyn VectorStore>,
        options: PipelineOptions,
    ) -> Result<Self, AnalysisError> {
        let redactor = Redactor::new(&config.redaction_patterns)?;
        let ttl_ms = config.cache_ttl_secs.saturating_mul(1000);
        let cache = match &options.cache_path {
            Some(path) => AnalysisCache::open(path, ttl_ms)?,
            None => AnalysisCache::in_memory(ttl_ms),
        };
        let llm = match &config.llm {
            Some(llm_config) => Some(ChatClient::new(
                llm_config.clone(),
                options.api_key.clone(),
                options.clock.clone(),
                options.metrics.clone(),
            )?),
            None => None,
        };
        Ok(AnalysisPipeline {
            config,
            redactor,
            embedder,
            store,
            llm,
            cache,
            analyst: OfflineAnalyst::new(),
            clock: options.clock,
            metrics: options.metrics,
            vectors: Mutex::new(HashMap::new()),
            stored: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    pub fn metrics(&self) -> Arc<AnalysisMetrics> {
        self.metrics.clone()
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Attaches a human resolution note (redacted) to a past incident; false when the
    /// incident is not in the store. Its cached LLM analysis is dropped so the next
    /// occurrence is explained with the resolution in view.
    pub async fn resolve(&self, fingerprint: &str, note: &str) -> Result<bool, AnalysisError> {
        let note = self.redactor.scope().redact(note);
        let found = self
            .store
            .set_resolution(&incident_id(fingerprint), &note)
            .await?;
        if found {
            self.cache.forget_fingerprint(fingerprint);
            lock(&self.stored).remove(fingerprint);
        }
        Ok(found)
    }

    /// The latest analysis recorded for a fingerprint (needs a cache path).
    pub fn recorded_analysis(&self, fingerprint: &str) -> Option<Analysis> {
        self.cache.incident_analysis(fingerprint)
    }

    async fn analyze_incident(&self, incident: &IncidentInput) -> Analysis {
        let gate = {
            let mut in_flight = lock(&self.in_flight);
            in_flight
                .entry(incident.fingerprint.clone())
                .or_default()
                .clone()
        };
        let _one_at_a_time = gate.lock().await;
        AnalysisMetrics::inc(&self.metrics.analyses);

        let (redacted, secrets) = self.redactor.redact_incident_counted(incident);
        AnalysisMetrics::add(&self.metrics.redacted_secrets, secrets as u64);
        let embedded = self.embedding(&redacted).await;
        let retrieved = match &embedded {
            Some((_, vector)) => self.retrieve(&redacted.fingerprint, vector).await,
            None => Vec::new(),
        };
        let analysis = match &self.llm {
            Some(client) => self.ask_llm(client, &redacted, &retrieved).await,
            None => self.offline(&redacted, &retrieved),
        };
        if let Some((text, vector)) = embedded {
            self.remember(&redacted, text, vector, &analysis).await;
        }
        analysis
    }

    fn offline(&self, incident: &IncidentInput, retrieved: &[Retrieved]) -> Analysis {
        AnalysisMetrics::inc(&self.metrics.offline_analyses);
        self.analyst.analyze(incident, retrieved)
    }

    async fn ask_llm(
        &self,
        client: &ChatClient,
        incident: &IncidentInput,
        retrieved: &[Retrieved],
    ) -> Analysis {
        let model = client.model().to_string();
        let hint = client.schema_hint();
        let prompt = build_prompt(
            incident,
            retrieved,
            client.config().prompt_token_budget,
            hint.as_deref(),
        );
        let key = prompt.cache_key(&model);
        if let Some(cached) =
            self.cache
                .get(&key, &incident.fingerprint, &model, self.clock.now_ms())
        {
            AnalysisMetrics::inc(&self.metrics.cache_hits);
            return cached;
        }
        let done = match client.complete(&prompt).await {
            Ok(done) => done,
            Err(err) => {
                tracing::debug!(fingerprint = %incident.fingerprint, error = %err, "LLM unavailable; offline analysis");
                AnalysisMetrics::inc(&self.metrics.fallbacks);
                return self.offline(incident, retrieved);
            }
        };
        let analysis = match llm::validate(done.answer, incident, retrieved, &model) {
            Ok(analysis) => analysis,
            Err(rejection) => {
                tracing::warn!(fingerprint = %incident.fingerprint, %rejection, "LLM answer rejected; offline analysis instead");
                AnalysisMetrics::inc(&self.metrics.rejections);
                AnalysisMetrics::inc(&self.metrics.fallbacks);
                // The call was paid for: the offline analysis is cached as the answer, so
                // this fingerprint is not asked again within the TTL.
                self.offline(incident, retrieved)
            }
        };
        self.cache.put(
            &key,
            &incident.fingerprint,
            &model,
            &analysis,
            self.clock.now_ms(),
        );
        analysis
    }

    /// The text and vector of a fingerprint, embedded on first sight.
    async fn embedding(&self, incident: &IncidentInput) -> Option<(String, Vec<f32>)> {
        if let Some(known) = lock(&self.vectors).get(&incident.fingerprint) {
            return Some(known.clone());
        }
        let text = identity_text(incident);
        match self.embedder.embed(std::slice::from_ref(&text)).await {
            Ok(mut vectors) if vectors.len() == 1 => {
                let vector = vectors.remove(0);
                lock(&self.vectors)
                    .insert(incident.fingerprint.clone(), (text.clone(), vector.clone()));
                Some((text, vector))
            }
            Ok(_) => {
                tracing::warn!(
                    embedder = self.embedder.model_id(),
                    "embedder returned no vector; no retrieval"
                );
                None
            }
            Err(err) => {
                tracing::warn!(embedder = self.embedder.model_id(), error = %err, "embedding failed; no retrieval");
                None
            }
        }
    }

    /// Past incidents and runbook sections above `min_score`. The incident's own stored
    /// document is left out unless a human resolved it (then it is the best pointer).
    async fn retrieve(&self, fingerprint: &str, vector: &[f32]) -> Vec<Retrieved> {
        let own = incident_id(fingerprint);
        let k = self.config.top_k;
        let mut out = Vec::new();
        for (kind, wanted) in [(DocKind::Incident, k + 1), (DocKind::Runbook, k)] {
            match self.store.search(vector, wanted, Some(kind)).await {
                Ok(hits) => out.extend(
                    hits.into_iter()
                        .filter(|h| h.score >= self.config.min_score)
                        .filter(|h| {
                            h.doc.id != own
                                || h.doc
                                    .resolution
                                    .as_deref()
                                    .is_some_and(|r| !r.trim().is_empty())
                        })
                        .take(k)
                        .map(to_retrieved),
                ),
                Err(err) => {
                    tracing::warn!(error = %err, kind = kind.as_str(), "vector search failed")
                }
            }
        }
        out
    }

    /// Stores the redacted incident (keeping a resolution a human attached) and its analysis.
    async fn remember(
        &self,
        incident: &IncidentInput,
        text: String,
        vector: Vec<f32>,
        analysis: &Analysis,
    ) {
        if lock(&self.stored).get(&incident.fingerprint) == Some(analysis) {
            return;
        }
        let id = incident_id(&incident.fingerprint);
        let resolution = match self.store.get(&id).await {
            Ok(existing) => existing.and_then(|d| d.resolution),
            Err(err) => {
                tracing::warn!(error = %err, "vector store read failed; incident not stored");
                return;
            }
        };
        let doc = Document {
            id,
            kind: DocKind::Incident,
            title: incident_title(incident),
            text,
            resolution,
            vector,
        };
        if let Err(err) = self.store.upsert(vec![doc]).await {
            tracing::warn!(error = %err, "vector store write failed; incident not stored");
            return;
        }
        self.cache
            .record_incident(&incident.fingerprint, analysis, self.clock.now_ms());
        lock(&self.stored).insert(incident.fingerprint.clone(), analysis.clone());
    }
}

#[async_trait::async_trait]
impl Analyzer for AnalysisPipeline {
    async fn analyze(&self, incident: &IncidentInput) -> Analysis {
        self.analyze_incident(incident).await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere mid-insert; the maps stay usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn incident_id(fingerprint: &str) -> String {
    format!("incident:{fingerprint}")
}

/// What identifies the problem, as `cali_retrieval::incident_text` puts it: exception type,
/// message template, top frames (module and function only: no lines, stable across
/// versions) and service.
pub fn identity_text(incident: &IncidentInput) -> String {
    let s = &incident.sample;
    let message = match (&s.exception_type, &s.exception_message) {
        (Some(_), Some(m)) => m.as_str(),
        _ => s.message.as_str(),
    };
    let frames: Vec<String> = s
        .frames
        .iter()
        .map(|f| match &f.module {
            Some(m) if !m.is_empty() => format!("{m}.{}", f.function),
            _ => f.function.clone(),
        })
        .collect();
    let service = incident.service.as_deref().or(s.service.as_deref());
    incident_text(s.exception_type.as_deref(), message, &frames, service)
}

fn incident_title(incident: &IncidentInput) -> String {
    let s = &incident.sample;
    let what = s.exception_type.clone().unwrap_or_else(|| {
        s.message
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(100)
            .collect()
    });
    match incident.service.as_deref().or(s.service.as_deref()) {
        Some(service) => format!("{what} in {service}"),
        None => what,
    }
}

fn to_retrieved(hit: Hit) -> Retrieved {
    Retrieved {
        id: hit.doc.id,
        title: hit.doc.title,
        text: hit.doc.text,
        resolution: hit.doc.resolution,
        score: hit.score,
    }
}
