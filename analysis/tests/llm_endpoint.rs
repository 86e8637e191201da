//! The pipeline against a real local HTTP server playing the OpenAI-compatible chat API:
//! what is sent (redacted, within the token budget, JSON schema requested) and how 429,
//! 500, timeouts, garbage and dishonest answers, the circuit breaker, the hourly budget and
//! the cache behave.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use cali_analysis::clock::ManualClock;
use cali_analysis::{
    AnalysisConfig, AnalysisMetrics, AnalysisPipeline, Analyzer, LlmConfig, PipelineOptions,
};
use cali_retrieval::{HashedEmbedder, LocalStore};
use common::{honest_answer, pool_incident, FakeChat, Reply, PLANTED};

const MODEL: &str = "test-model";

fn llm_config(base_url: &str) -> LlmConfig {
    LlmConfig {
        base_url: base_url.to_string(),
        model: MODEL.to_string(),
        timeout_ms: 2_000,
        max_retries: 2,
        backoff_base_ms: 10,
        backoff_max_ms: 2_000,
        breaker_failures: 3,
        breaker_cooldown_secs: 60,
        ..LlmConfig::default()
    }
}

struct Setup {
    pipeline: Arc<AnalysisPipeline>,
    clock: Arc<ManualClock>,
    metrics: Arc<AnalysisMetrics>,
}

fn pipeline(llm: LlmConfig) -> Setup {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let metrics = Arc::new(AnalysisMetrics::default());
    let config = AnalysisConfig {
        llm: Some(llm),
        ..AnalysisConfig::default()
    };
    let store = LocalStore::in_memory().expect("in-memory store");
    let pipeline = AnalysisPipeline::new(
        config,
        Arc::new(HashedEmbedder::new(384)),
        Arc::new(store),
        PipelineOptions {
            api_key: Some("sk-test-key-not-a-secret-0000".into()),
            cache_path: None,
            clock: clock.clone(),
            metrics: metrics.clone(),
        },
    )
    .expect("pipeline");
    Setup {
        pipeline: Arc::new(pipeline),
        clock,
        metrics,
    }
}

fn count(m: &std::sync::atomic::AtomicU64) -> u64 {
    m.load(Ordering::Relaxed)
}

#[tokio::test]
async fn the_request_is_redacted_within_budget_and_asks_for_the_schema() {
    let server = FakeChat::start(|_, _| Reply::answer(honest_answer(&[]))).await;
    let mut llm = llm_config(&server.base_url);
    llm.prompt_token_budget = 900;
    let s = pipeline(llm);

    let analysis = s
        .pipeline
        .analyze(&pool_incident("aaaaaaaaaaaaaaaa", 300))
        .await;

    assert_eq!(analysis.source, format!("llm:{MODEL}"));
    assert_eq!(
        analysis.likely_cause.as_deref(),
        Some("The Hikari pool is exhausted")
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(
        r.authorization.as_deref(),
        Some("Bearer sk-test-key-not-a-secret-0000")
    );
    for secret in PLANTED {
        assert!(
            !r.raw_body.contains(secret),
            "{secret} reached the endpoint"
        );
    }
    assert!(
        r.raw_body.contains("<EMAIL_1>"),
        "placeholders are sent instead"
    );
    let messages = r.body["messages"].as_array().expect("messages");
    let chars: usize = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap_or("").chars().count())
        .sum();
    assert!(
        chars.div_ceil(4) <= 900,
        "prompt of ~{} tokens exceeds the budget",
        chars.div_ceil(4)
    );
    assert!(
        r.raw_body.contains("Layer0.call"),
        "the top of the stack is kept"
    );
    assert!(
        !r.raw_body.contains("Layer299.call"),
        "the bottom of a deep stack is trimmed"
    );
    assert_eq!(r.body["response_format"]["type"], "json_schema");
    let schema = &r.body["response_format"]["json_schema"]["schema"];
    for field in [
        "summary",
        "likely_cause",
        "evidence",
        "actions",
        "related",
        "confidence",
    ] {
        assert!(
            schema["required"]
                .as_array()
                .expect("required")
                .iter()
                .any(|f| f == field),
            "{field}"
        );
    }
    assert_eq!(r.body["model"], MODEL);
    assert_eq!(count(&s.metrics.prompt_tokens), 400);
    assert_eq!(count(&s.metrics.completion_tokens), 120);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let server = FakeChat::start(|n, _| {
        if n == 0 {
            Reply::rate_limited(1)
        } else {
            Reply::answer(honest_answer(&[]))
        }
    })
    .await;
    let s = pipeline(llm_config(&server.base_url));

    let analysis = s
        .pipeline
        .analyze(&pool_incident("bbbbbbbbbbbbbbbb", 5))
        .await;

    assert_eq!(analysis.source, format!("llm:{MODEL}"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, before Retry-After"
    );
}

#[tokio::test]
async fn persistent_500s_are_retried_then_the_offline_analyst_answers() {
    let server = FakeChat::start(|_, _| Reply::status(500)).await;
    let s = pipeline(llm_config(&server.base_url));

    let analysis = s
        .pipeline
        .analyze(&pool_incident("cccccccccccccccc", 5))
        .await;

    assert_eq!(server.requests().len(), 3, "one request and two retries");
    assert_eq!(analysis.source, "offline");
    assert!(
        analysis.likely_cause.is_some(),
        "the offline rules still name the pool"
    );
    assert_eq!(count(&s.metrics.fallbacks), 1);
    assert_eq!(count(&s.metrics.llm_failures), 1);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = FakeChat::start(|_, _| Reply::status(401)).await;
    let s = pipeline(llm_config(&server.base_url));
    let analysis = s
        .pipeline
        .analyze(&pool_incident("cdcdcdcdcdcdcdcd", 5))
        .await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(analysis.source, "offline");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server =
        FakeChat::start(|_, _| Reply::answer(honest_answer(&[])).slow(Duration::from_secs(3)))
            .await;
    let mut llm = llm_config(&server.base_url);
    llm.timeout_ms = 200;
    llm.max_retries = 1;
    let s = pipeline(llm);

    let analysis = s
        .pipeline
        .analyze(&pool_incident("dddddddddddddddd", 5))
        .await;

    assert_eq!(analysis.source, "offline");
    assert_eq!(
        server.requests().len(),
        2,
        "the timed-out request is retried once"
    );
    assert_eq!(count(&s.metrics.llm_failures), 1);
}

#[tokio::test]
async fn garbage_answers_fall_back() {
    for (fingerprint, body) in [
        ("eeeeeeeeeeeeeeee", "this is not json"),
        (
            "eeeeeeeeeeeeeee1",
            r#"{"choices":[{"message":{"content":"Sure! The pool is exhausted."}}]}"#,
        ),
        ("eeeeeeeeeeeeeee2", r#"{"choices":[]}"#),
        (
            "eeeeeeeeeeeeeee3",
            r#"{"choices":[{"message":{"content":"{\"summary\": 5}"}}]}"#,
        ),
    ] {
        let server = FakeChat::start(move |_, _| Reply::raw(body)).await;
        let s = pipeline(llm_config(&server.base_url));
        let analysis = s.pipeline.analyze(&pool_incident(fingerprint, 5)).await;
        assert_eq!(analysis.source, "offline", "{body}");
        assert_eq!(
            server.requests().len(),
            1,
            "a malformed answer is not retried: {body}"
        );
        assert_eq!(count(&s.metrics.fallbacks), 1);
    }
}

#[tokio::test]
async fn invented_evidence_is_rejected_and_not_asked_again() {
    let server = FakeChat::start(|_, _| {
        Reply::answer(serde_json::json!({
            "summary": "The database is overloaded",
            "likely_cause": "CPU saturation on the primary",
            "evidence": ["postgres CPU at 100% on db-primary"],
            "actions": [],
            "related": [],
            "confidence": 0.9
        }))
    })
    .await;
    let s = pipeline(llm_config(&server.base_url));

    let first = s
        .pipeline
        .analyze(&pool_incident("ffffffffffffffff", 5))
        .await;
    let again = s
        .pipeline
        .analyze(&pool_incident("ffffffffffffffff", 5))
        .await;

    assert_eq!(first.source, "offline");
    assert!(!first.evidence.iter().any(|e| e.contains("CPU")));
    assert_eq!(count(&s.metrics.rejections), 1);
    assert_eq!(count(&s.metrics.fallbacks), 1);
    assert_eq!(again, first);
    assert_eq!(
        server.requests().len(),
        1,
        "a rejected fingerprint is not asked again within the TTL"
    );
}

#[tokio::test]
async fn related_ids_that_were_not_retrieved_are_rejected() {
    let server =
        FakeChat::start(|_, _| Reply::answer(honest_answer(&["runbook:made-up.md#nothing"]))).await;
    let s = pipeline(llm_config(&server.base_url));
    let analysis = s
        .pipeline
        .analyze(&pool_incident("1010101010101010", 5))
        .await;
    assert_eq!(analysis.source, "offline");
    assert_eq!(count(&s.metrics.rejections), 1);
}

#[tokio::test]
async fn the_circuit_opens_after_consecutive_failures_and_half_opens_after_the_cooldown() {
    let server = FakeChat::start(|_, _| Reply::status(503)).await;
    let mut llm = llm_config(&server.base_url);
    llm.max_retries = 0;
    llm.breaker_failures = 2;
    llm.breaker_cooldown_secs = 30;
    let s = pipeline(llm);

    for i in 0..5 {
        let a = s
            .pipeline
            .analyze(&pool_incident(&format!("20000000000000{i:02}"), 5))
            .await;
        assert_eq!(a.source, "offline");
    }
    assert_eq!(
        server.requests().len(),
        2,
        "the open circuit stops calls after two failures"
    );
    assert_eq!(count(&s.metrics.circuit_rejections), 3);
    assert_eq!(count(&s.metrics.circuit_open), 1);

    server.set_script(|_, _| Reply::answer(honest_answer(&[])));
    s.clock.advance(Duration::from_secs(29));
    let still_open = s
        .pipeline
        .analyze(&pool_incident("2000000000000010", 5))
        .await;
    assert_eq!(still_open.source, "offline");
    assert_eq!(server.requests().len(), 2);

    s.clock.advance(Duration::from_secs(1));
    let trial = s
        .pipeline
        .analyze(&pool_incident("2000000000000011", 5))
        .await;
    assert_eq!(
        trial.source,
        format!("llm:{MODEL}"),
        "one trial call after the cool-down"
    );
    let closed = s
        .pipeline
        .analyze(&pool_incident("2000000000000012", 5))
        .await;
    assert_eq!(closed.source, format!("llm:{MODEL}"));
    assert_eq!(server.requests().len(), 4);
    assert_eq!(count(&s.metrics.circuit_open), 0);
}

#[tokio::test]
async fn the_hourly_budget_caps_calls() {
    let server = FakeChat::start(|_, _| Reply::answer(honest_answer(&[]))).await;
    let mut llm = llm_config(&server.base_url);
    llm.hourly_call_budget = 2;
    let s = pipeline(llm);

    let sources: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..4 {
            v.push(
                s.pipeline
                    .analyze(&pool_incident(&format!("30000000000000{i:02}"), 5))
                    .await
                    .source,
            );
        }
        v
    };
    assert_eq!(
        sources[..2],
        [format!("llm:{MODEL}"), format!("llm:{MODEL}")]
    );
    assert_eq!(sources[2..], ["offline".to_string(), "offline".to_string()]);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(count(&s.metrics.budget_exhausted), 2);
    assert_eq!(count(&s.metrics.budget_calls_left), 0);

    s.clock.advance(Duration::from_secs(3600));
    let next_hour = s
        .pipeline
        .analyze(&pool_incident("3000000000000099", 5))
        .await;
    assert_eq!(next_hour.source, format!("llm:{MODEL}"));
}

#[tokio::test]
async fn the_token_budget_caps_calls_too() {
    let server = FakeChat::start(|_, _| Reply::answer(honest_answer(&[]))).await;
    let mut llm = llm_config(&server.base_url);
    // A call reserves its prompt (<= 400) + 600 completion tokens; the answer reports 520,
    // leaving 480: the second call no longer fits.
    llm.hourly_token_budget = 1000;
    llm.prompt_token_budget = 400;
    llm.max_completion_tokens = 600;
    let s = pipeline(llm);
    let a = s
        .pipeline
        .analyze(&pool_incident("4000000000000001", 5))
        .await;
    let b = s
        .pipeline
        .analyze(&pool_incident("4000000000000002", 5))
        .await;
    assert_eq!(a.source, format!("llm:{MODEL}"));
    assert_eq!(b.source, "offline");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(count(&s.metrics.budget_tokens_left), 480);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_incidents_of_five_fingerprints_make_five_calls() {
    let server = FakeChat::start(|_, _| Reply::answer(honest_answer(&[]))).await;
    // Generous timeout: ten busy workers on two threads must not turn into retries.
    let mut llm = llm_config(&server.base_url);
    llm.timeout_ms = 60_000;
    let s = pipeline(llm);

    let mut workers = Vec::new();
    for worker in 0..10 {
        let pipeline = s.pipeline.clone();
        workers.push(tokio::spawn(async move {
            let mut llm_answers = 0;
            for i in 0..1000 {
                let mut incident =
                    pool_incident(&format!("50000000000000{:02}", (worker + i) % 5), 5);
                incident.count = i as u64 + 1;
                incident.pods = vec![format!("orders-{worker}-{i}")];
                if pipeline.analyze(&incident).await.source.starts_with("llm:") {
                    llm_answers += 1;
                }
            }
            llm_answers
        }));
    }
    let mut llm_answers = 0;
    for w in workers {
        llm_answers += w.await.expect("worker");
    }

    assert_eq!(llm_answers, 10_000);
    assert_eq!(count(&s.metrics.llm_calls), 5, "one call per fingerprint");
    assert_eq!(server.requests().len(), 5);
    assert_eq!(count(&s.metrics.cache_hits), 9_995);
    assert_eq!(count(&s.metrics.analyses), 10_000);

    s.clock.advance(Duration::from_secs(3600));
    s.pipeline
        .analyze(&pool_incident("5000000000000000", 5))
        .await;
    assert_eq!(
        server.requests().len(),
        6,
        "after the TTL the fingerprint is asked again"
    );
}
