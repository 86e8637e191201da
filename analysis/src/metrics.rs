//! Counters of the analysis (LLM calls, tokens, cache hits, budget, fallbacks, rejections)
//! for the consumer's `/metrics`, in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared by the pipeline and the LLM client; read by `/metrics`.
#[derive(Debug, Default)]
pub struct AnalysisMetrics {
    /// Incidents analysed (any source).
    pub analyses: AtomicU64,
    /// Analyses produced by the offline analyst.
    pub offline_analyses: AtomicU64,
    /// HTTP requests sent to the chat endpoint (retries included).
    pub llm_requests: AtomicU64,
    /// LLM calls that produced an answer (after retries).
    pub llm_calls: AtomicU64,
    /// LLM calls that failed after retries (timeouts, 5xx, 429, transport, garbage).
    pub llm_failures: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
    /// LLM analyses reused from the cache instead of calling the endpoint.
    pub cache_hits: AtomicU64,
    /// Analyses that wanted the LLM but fell back to the offline analyst.
    pub fallbacks: AtomicU64,
    /// LLM answers rejected by validation (invented evidence, unknown related ids, ...).
    pub rejections: AtomicU64,
    /// LLM calls skipped because the circuit breaker was open.
    pub circuit_rejections: AtomicU64,
    /// LLM calls skipped because the hourly budget was spent.
    pub budget_exhausted: AtomicU64,
    /// Tokens left in the current hourly window (gauge).
    pub budget_tokens_left: AtomicU64,
    /// Calls left in the current hourly window (gauge).
    pub budget_calls_left: AtomicU64,
    /// 1 while the circuit breaker is open (gauge).
    pub circuit_open: AtomicU64,
    /// Distinct secrets replaced by redaction.
    pub redacted_secrets: AtomicU64,
}

impl AnalysisMetrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Appends the metrics in the Prometheus text exposition format.
    pub fn render_prometheus(&self, out: &mut String) {
        let counters: [(&str, &str, &AtomicU64); 13] = [
            ("analyses_total", "Incidents analysed.", &self.analyses),
            (
                "offline_analyses_total",
                "Analyses by the offline analyst.",
                &self.offline_analyses,
            ),
            (
                "llm_requests_total",
                "HTTP requests to the chat endpoint, retries included.",
                &self.llm_requests,
            ),
            (
                "llm_calls_total",
                "LLM calls that returned an answer.",
                &self.llm_calls,
            ),
            (
                "llm_failures_total",
                "LLM calls that failed after retries.",
                &self.llm_failures,
            ),
            (
                "llm_prompt_tokens_total",
                "Prompt tokens spent.",
                &self.prompt_tokens,
            ),
            (
                "llm_completion_tokens_total",
                "Completion tokens spent.",
                &self.completion_tokens,
            ),
            (
                "llm_cache_hits_total",
                "LLM analyses reused from the cache.",
                &self.cache_hits,
            ),
            (
                "llm_fallbacks_total",
                "Analyses that fell back to the offline analyst.",
                &self.fallbacks,
            ),
            (
                "llm_rejections_total",
                "LLM answers rejected by validation.",
                &self.rejections,
            ),
            (
                "llm_circuit_rejections_total",
                "LLM calls skipped while the circuit was open.",
                &self.circuit_rejections,
            ),
            (
                "llm_budget_exhausted_total",
                "LLM calls skipped because the hourly budget was spent.",
                &self.budget_exhausted,
            ),
            (
                "redacted_secrets_total",
                "Distinct secrets replaced by redaction.",
                &self.redacted_secrets,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP cali_analysis_{name} {help}");
            let _ = writeln!(out, "# TYPE cali_analysis_{name} counter");
            let _ = writeln!(
                out,
                "cali_analysis_{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let gauges: [(&str, &str, &AtomicU64); 3] = [
            (
                "llm_budget_tokens_left",
                "Tokens left in the current hourly budget window.",
                &self.budget_tokens_left,
            ),
            (
                "llm_budget_calls_left",
                "Calls left in the current hourly budget window.",
                &self.budget_calls_left,
            ),
            (
                "llm_circuit_open",
                "1 while the LLM circuit breaker is open.",
                &self.circuit_open,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP cali_analysis_{name} {help}");
            let _ = writeln!(out, "# TYPE cali_analysis_{name} gauge");
            let _ = writeln!(
                out,
                "cali_analysis_{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let m = AnalysisMetrics::default();
        AnalysisMetrics::add(&m.prompt_tokens, 120);
        AnalysisMetrics::inc(&m.cache_hits);
        m.budget_tokens_left.store(880, Ordering::Relaxed);
        let mut out = String::new();
        m.render_prometheus(&mut out);
        assert!(out.contains("cali_analysis_llm_prompt_tokens_total 120\n"));
        assert!(out.contains("cali_analysis_llm_cache_hits_total 1\n"));
        assert!(out.contains("# TYPE cali_analysis_llm_budget_tokens_left gauge\ncali_analysis_llm_budget_tokens_left 880\n"));
    }
}
