//! OpenAI-compatible Chat Completions client (OpenAI, vLLM, Ollama) with structured output,
//! per-request timeouts, retries with exponential backoff and jitter (a 429's
//! `Retry-After` is honoured), a circuit breaker and an hourly budget.

pub mod answer;
pub mod breaker;
pub mod budget;
pub mod prompt;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::clock::Clock;
use crate::config::LlmConfig;
use crate::metrics::AnalysisMetrics;

pub use answer::{answer_schema, parse_answer, validate, LlmAnswer, Rejection};
pub use breaker::{BreakerState, CircuitBreaker};
pub use budget::HourlyBudget;
pub use prompt::{build_prompt, Prompt, PROMPT_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("circuit breaker open")]
    CircuitOpen,
    #[error("hourly LLM budget spent")]
    OverBudget,
    #[error("request timed out")]
    Timeout,
    #[error("rate limited (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("endpoint answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("transport: {0}")]
    Transport(String),
    #[error("unusable answer: {0}")]
    Garbage(String),
    #[error("HTTP client: {0}")]
    Client(String),
}

impl LlmError {
    fn retryable(&self) -> bool {
        match self {
            LlmError::Timeout | LlmError::RateLimited { .. } | LlmError::Transport(_) => true,
            LlmError::Status { status, .. } => *status >= 500 || *status == 408,
            _ => false,
        }
    }
}

/// One successful call: the parsed answer and what it cost.
#[derive(Debug, Clone)]
pub struct Completion {
    pub answer: LlmAnswer,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug)]
pub struct ChatClient {
    http: reqwest::Client,
    url: String,
    config: LlmConfig,
    api_key: Option<String>,
    breaker: CircuitBreaker,
    budget: HourlyBudget,
    clock: Arc<dyn Clock>,
    metrics: Arc<AnalysisMetrics>,
}

impl ChatClient {
    /// `api_key` comes from the environment or Secrets Manager (the caller fetches it);
    /// `None` or empty sends no `Authorization` header (vLLM, Ollama).
    pub fn new(
        config: LlmConfig,
        api_key: Option<String>,
        clock: Arc<dyn Clock>,
        metrics: Arc<AnalysisMetrics>,
    ) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| LlmError::Client(e.to_string()))?;
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        let breaker = CircuitBreaker::new(
            config.breaker_failures,
            config.breaker_cooldown_secs.saturating_mul(1000),
        );
        let budget = HourlyBudget::new(config.hourly_call_budget, config.hourly_token_budget);
        let now = clock.now_ms();
        metrics
            .budget_tokens_left
            .store(budget.tokens_left(now), Ordering::Relaxed);
        metrics
            .budget_calls_left
            .store(budget.calls_left(now), Ordering::Relaxed);
        Ok(ChatClient {
            http,
            url,
            config,
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            breaker,
            budget,
            clock,
            metrics,
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Whether a call could go out now (breaker closed or ready for a trial).
    pub fn available(&self) -> bool {
        !self.breaker.is_open(self.clock.now_ms())
    }

    /// The `response_format` hint for endpoints without `json_schema` support.
    pub fn schema_hint(&self) -> Option<String> {
        (!self.config.json_schema).then(|| answer_schema().to_string())
    }

    /// Sends the prompt: breaker and budget first, then up to `1 + max_retries` requests.
    pub async fn complete(&self, prompt: &Prompt) -> Result<Completion, LlmError> {
        let now = self.clock.now_ms();
        if !self.breaker.try_acquire(now) {
            AnalysisMetrics::inc(&self.metrics.circuit_rejections);
            self.publish_gauges(now);
            return Err(LlmError::CircuitOpen);
        }
        // A call may cost its prompt plus a full completion: reserve both.
        let estimate =
            prompt.estimated_tokens() as u64 + u64::from(self.config.max_completion_tokens);
        if !self.budget.try_reserve(now, estimate) {
            self.breaker.release_trial(now);
            AnalysisMetrics::inc(&self.metrics.budget_exhausted);
            self.publish_gauges(now);
            return Err(LlmError::OverBudget);
        }

        let body = self.request_body(prompt);
        let mut attempt = 0u32;
        let result = loop {
            AnalysisMetrics::inc(&self.metrics.llm_requests);
            match self.send_once(&body).await {
                Ok(done) => break Ok(done),
                Err(err) if err.retryable() && attempt < self.config.max_retries => {
                    let wait = self.retry_delay(attempt, &err);
                    tracing::debug!(error = %err, attempt, wait_ms = wait.as_millis() as u64, "LLM request failed, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(err) => break Err(err),
            }
        };
        let now = self.clock.now_ms();
        match result {
            Ok(done) => {
                self.breaker.record_success();
                self.budget
                    .settle(now, estimate, done.prompt_tokens + done.completion_tokens);
                AnalysisMetrics::inc(&self.metrics.llm_calls);
                AnalysisMetrics::add(&self.metrics.prompt_tokens, done.prompt_tokens);
                AnalysisMetrics::add(&self.metrics.completion_tokens, done.completion_tokens);
                self.publish_gauges(now);
                Ok(done)
            }
            Err(err) => {
                self.breaker.record_failure(now);
                AnalysisMetrics::inc(&self.metrics.llm_failures);
                self.publish_gauges(now);
                tracing::warn!(error = %err, "LLM call failed");
                Err(err)
            }
        }
    }

    fn publish_gauges(&self, now: u64) {
        let m = &self.metrics;
        m.budget_tokens_left
            .store(self.budget.tokens_left(now), Ordering::Relaxed);
        m.budget_calls_left
            .store(self.budget.calls_left(now), Ordering::Relaxed);
        m.circuit_open
            .store(u64::from(self.breaker.is_open(now)), Ordering::Relaxed);
    }

    fn request_body(&self, prompt: &Prompt) -> serde_json::Value {
        let response_format = if self.config.json_schema {
            json!({
                "type": "json_schema",
                "json_schema": { "name": "incident_analysis", "strict": true, "schema": answer_schema() }
            })
        } else {
            json!({ "type": "json_object" })
        };
        json!({
            "model": self.config.model,
            "messages": [
                { "role": "system", "content": prompt.system },
                { "role": "user", "content": prompt.user },
            ],
            "temperature": 0,
            "max_tokens": self.config.max_completion_tokens,
            "response_format": response_format,
        })
    }

    async fn send_once(&self, body: &serde_json::Value) -> Result<Completion, LlmError> {
        let mut request = self.http.post(&self.url).json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        if status.as_u16() == 429 {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(LlmError::RateLimited { retry_after });
        }
        let text = response.text().await.map_err(classify)?;
        if !status.is_success() {
            return Err(LlmError::Status {
                status: status.as_u16(),
                body: text.chars().take(300).collect(),
            });
        }
        let reply: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| LlmError::Garbage(format!("not JSON: {e}")))?;
        let content = reply
            .pointer("/choices/0/message/content")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| LlmError::Garbage("no choices[0].message.content".to_string()))?;
        let answer = parse_answer(content)
            .map_err(|e| LlmError::Garbage(format!("answer does not match the schema: {e}")))?;
        let tokens = |key: &str| {
            reply
                .pointer(&format!("/usage/{key}"))
                .and_then(serde_json::Value::as_u64)
        };
        Ok(Completion {
            answer,
            prompt_tokens: tokens("prompt_tokens")
                .unwrap_or_else(|| (body.to_string().len() / prompt::CHARS_PER_TOKEN) as u64),
            completion_tokens: tokens("completion_tokens")
                .unwrap_or((content.len() / prompt::CHARS_PER_TOKEN) as u64),
        })
    }

    /// Exponential backoff with "equal jitter" (half fixed, half random), capped; a 429's
    /// `Retry-After` replaces it (capped too, so one endpoint cannot stall analysis).
    fn retry_delay(&self, attempt: u32, err: &LlmError) -> Duration {
        let cap = Duration::from_millis(self.config.backoff_max_ms);
        if let LlmError::RateLimited {
            retry_after: Some(wait),
        } = err
        {
            return (*wait).min(cap);
        }
        let exp = self
            .config
            .backoff_base_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.config.backoff_max_ms);
        let half = exp / 2;
        Duration::from_millis(half + random_below(half + 1))
    }
}

fn classify(err: reqwest::Error) -> LlmError {
    if err.is_timeout() {
        LlmError::Timeout
    } else {
        LlmError::Transport(err.to_string())
    }
}

/// A random number in `0..bound` for jitter, from the standard library's per-process
/// random hasher keys (no extra dependency; not for anything security related).
fn random_below(bound: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(bound);
    h.finish() % bound.max(1)
}
