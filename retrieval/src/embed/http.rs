//! Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama,
//! TEI): the option at scale. Retries 429, 5xx and timeouts a bounded number of times.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;

use super::{l2_normalize, Embedder};
use crate::RetrievalError;

pub struct HttpEmbedder {
    url: String,
    model: String,
    model_id: String,
    api_key: Option<String>,
    timeout: Duration,
    client: reqwest::Client,
    /// Declared with `with_dim`, else learned from the first answer (0 before it).
    dim: AtomicUsize,
    dim_declared: bool,
    retries: u32,
    backoff: Duration,
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl HttpEmbedder {
    /// `base_url` is the API root: `https://api.openai.com/v1` or `http://host:8000` (a
    /// trailing `/v1` is accepted either way); requests go to `<root>/v1/embeddings`.
    /// `timeout` bounds each request.
    pub fn new(base_url: &str, model: &str, api_key: Option<String>, timeout: Duration) -> Self {
        let root = base_url.trim_end_matches('/');
        let root = root.strip_suffix("/v1").unwrap_or(root);
        HttpEmbedder {
            url: format!("{root}/v1/embeddings"),
            model: model.to_string(),
            model_id: format!("http:{model}"),
            api_key,
            timeout,
            client: reqwest::Client::new(),
            dim: AtomicUsize::new(0),
            dim_declared: false,
            retries: 2,
            backoff: Duration::from_millis(500),
        }
    }

    /// Declares the vectors' dimension: `dim()` is known before the first call, and an
    /// answer of another dimension is an error.
    pub fn with_dim(mut self, dim: usize) -> Self {
        self.dim = AtomicUsize::new(dim);
        self.dim_declared = true;
        self
    }

    /// How many times a 429, 5xx or timeout is retried (default 2), waiting `backoff`,
    /// then twice that, ... (default 500 ms; a `Retry-After` in seconds wins, up to 30 s).
    pub fn with_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    async fn request_once(
        &self,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, (RetrievalError, Option<Duration>)> {
        let body =
            serde_json::json!({ "model": self.model, "input": texts, "encoding_format": "float" });
        let mut request = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|err| (self.transport_error(err), None))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(30)));
            let text = response.text().await.unwrap_or_default();
            let body: String = text.chars().take(300).collect();
            return Err((
                RetrievalError::HttpStatus {
                    status: status.as_u16(),
                    body,
                },
                retry_after,
            ));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|err| (self.transport_error(err), None))?;
        let parsed: EmbeddingsResponse = serde_json::from_slice(&bytes).map_err(|err| {
            (
                RetrievalError::BadResponse(format!("not an embeddings answer: {err}")),
                None,
            )
        })?;
        self.vectors_in_order(parsed, texts.len())
            .map_err(|err| (err, None))
    }

    fn transport_error(&self, err: reqwest::Error) -> RetrievalError {
        if err.is_timeout() {
            RetrievalError::Timeout(self.timeout)
        } else {
            RetrievalError::Transport(err.to_string())
        }
    }

    fn vectors_in_order(
        &self,
        parsed: EmbeddingsResponse,
        expected: usize,
    ) -> Result<Vec<Vec<f32>>, RetrievalError> {
        if parsed.data.len() != expected {
            return Err(RetrievalError::BadResponse(format!(
                "{} embeddings for {expected} inputs",
                parsed.data.len()
            )));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in parsed.data.into_iter().enumerate() {
            let i = item.index.unwrap_or(position);
            match slots.get_mut(i) {
                Some(slot @ None) => *slot = Some(item.embedding),
                _ => {
                    return Err(RetrievalError::BadResponse(format!(
                        "index {i} out of range or repeated"
                    )))
                }
            }
        }
        let mut vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
        let dim = vectors.first().map_or(0, Vec::len);
        if dim == 0 {
            return Err(RetrievalError::BadResponse("empty embedding".into()));
        }
        let want = if self.dim_declared {
            self.dim.load(Ordering::Relaxed)
        } else {
            dim
        };
        if let Some(bad) = vectors.iter().find(|v| v.len() != want) {
            return Err(RetrievalError::DimensionMismatch {
                expected: want,
                got: bad.len(),
            });
        }
        if vectors.iter().flatten().any(|x| !x.is_finite()) {
            return Err(RetrievalError::BadResponse(
                "non-finite value in embedding".into(),
            ));
        }
        self.dim.store(want, Ordering::Relaxed);
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        Ok(vectors)
    }
}

fn retryable(err: &RetrievalError) -> bool {
    match err {
        RetrievalError::HttpStatus { status, .. } => *status == 429 || *status >= 500,
        RetrievalError::Timeout(_) | RetrievalError::Transport(_) => true,
        _ => false,
    }
}

#[async_trait::async_trait]
impl Embedder for HttpEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim.load(Ordering::Relaxed)
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RetrievalError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 0;
        loop {
            match self.request_once(texts).await {
                Ok(vectors) => return Ok(vectors),
                Err((err, retry_after)) if attempt < self.retries && retryable(&err) => {
                    let wait = retry_after.unwrap_or(self.backoff * 2u32.saturating_pow(attempt));
                    tracing::warn!(error = %err, attempt, ?wait, "embedding request failed, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err((err, _)) => return Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_accepts_root_with_or_without_v1() {
        let t = Duration::from_secs(1);
        assert_eq!(
            HttpEmbedder::new("http://h:8000", "m", None, t).url,
            "http://h:8000/v1/embeddings"
        );
        assert_eq!(
            HttpEmbedder::new("https://api.x/v1/", "m", None, t).url,
            "https://api.x/v1/embeddings"
        );
        assert_eq!(
            HttpEmbedder::new("http://h", "bge", None, t).model_id(),
            "http:bge"
        );
    }
}
