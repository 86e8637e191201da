//! What a user can set for the analysis. Each field's doc comment is its documentation,
//! with its default and unit; unknown keys are errors that name the key.

use serde::{Deserialize, Serialize};

use crate::redact::ExtraPattern;

/// The `analysis` section of the consumer's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// The OpenAI-compatible chat endpoint. Absent (the default): every incident is
    /// explained by the offline analyst.
    pub llm: Option<LlmConfig>,
    /// Seconds an LLM analysis is reused for the same fingerprint (or the same redacted
    /// prompt) before the endpoint is asked again. Default 3600.
    pub cache_ttl_secs: u64,
    /// Extra redaction patterns, applied after the built-in ones: `{name, regex}`; a
    /// capture group named `secret` limits the replacement to that group. Default none.
    pub redaction_patterns: Vec<ExtraPattern>,
    /// How many past incidents, and how many runbook sections, are retrieved for each
    /// incident. Default 3 (so up to 3 + 3).
    pub top_k: usize,
    /// Lowest cosine similarity (0..1) for a retrieved document to count as related.
    /// Default 0.3.
    pub min_score: f32,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            llm: None,
            cache_ttl_secs: 3600,
            redaction_patterns: Vec::new(),
            top_k: 3,
            min_score: 0.3,
        }
    }
}

/// An OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Base URL up to and including `/v1`; `/chat/completions` is appended.
    /// Default `https://api.openai.com/v1`. vLLM: `http://vllm:8000/v1`; Ollama:
    /// `http://localhost:11434/v1`.
    pub base_url: String,
    /// Model name as the endpoint knows it. Default `gpt-4o-mini`.
    pub model: String,
    /// Timeout of one HTTP request, in milliseconds. Default 30000.
    pub timeout_ms: u64,
    /// Retries after a failed request (timeout, transport error, 429, 5xx). Default 2.
    pub max_retries: u32,
    /// First retry delay in milliseconds; doubles each retry, with jitter. Default 500.
    pub backoff_base_ms: u64,
    /// Longest delay between retries in milliseconds, also the cap on a 429's
    /// `Retry-After`. Default 10000.
    pub backoff_max_ms: u64,
    /// Consecutive failed calls that open the circuit breaker. Default 5.
    pub breaker_failures: u32,
    /// Seconds the open breaker refuses calls before one trial call. Default 60.
    pub breaker_cooldown_secs: u64,
    /// Calls allowed per hour. Default 120.
    pub hourly_call_budget: u64,
    /// Tokens (prompt + completion) allowed per hour. A call is admitted when its
    /// estimated prompt plus `max_completion_tokens` still fits; the endpoint's reported
    /// usage is then counted. Default 300000.
    pub hourly_token_budget: u64,
    /// Largest prompt in tokens (estimated at 4 characters per token); the stack and log
    /// lines are trimmed to fit. Default 3000.
    pub prompt_token_budget: usize,
    /// `max_tokens` of the completion. Default 700.
    pub max_completion_tokens: u32,
    /// Ask for `response_format: json_schema` (OpenAI, vLLM, Ollama >= 0.5). When false,
    /// `json_object` is requested and the schema is given in the prompt. Default true.
    pub json_schema: bool,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "https://api.openai.com/v1".to_string(),
            model: "gpt-4o-mini".to_string(),
            timeout_ms: 30_000,
            max_retries: 2,
            backoff_base_ms: 500,
            backoff_max_ms: 10_000,
            breaker_failures: 5,
            breaker_cooldown_secs: 60,
            hourly_call_budget: 120,
            hourly_token_budget: 300_000,
            prompt_token_budget: 3000,
            max_completion_tokens: 700,
            json_schema: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys() {
        let c: AnalysisConfig = serde_json::from_str(
            r#"{"llm": {"base_url": "http://localhost:11434/v1", "model": "llama3.1"}}"#,
        )
        .expect("valid config");
        let llm = c.llm.expect("llm set");
        assert_eq!(llm.model, "llama3.1");
        assert_eq!(llm.max_retries, 2);
        assert_eq!(c.top_k, 3);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = serde_json::from_str::<AnalysisConfig>(r#"{"llm": {"modle": "x"}}"#)
            .expect_err("unknown key");
        assert!(err.to_string().contains("modle"), "{err}");
    }
}
