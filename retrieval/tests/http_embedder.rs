//! The OpenAI-compatible embedder against a real local HTTP server (127.0.0.1:0) that
//! plays scripted answers: request shape, ordering, normalization, retries and errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cali_retrieval::{Embedder, HttpEmbedder, RetrievalError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer: status, extra header lines, body, delay before answering.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: &'static str,
    body: String,
    delay: Duration,
}

fn ok(body: serde_json::Value) -> Answer {
    Answer {
        status: 200,
        headers: "",
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

fn status(code: u16, body: &str) -> Answer {
    Answer {
        status: code,
        headers: "",
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    headers: String,
    body: serde_json::Value,
}

struct FakeApi {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `answers` in order, one per request (the last one repeats).
async fn fake_api(answers: Vec<Answer>) -> FakeApi {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_server = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut n = 0usize;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let answer = answers[n.min(answers.len() - 1)].clone();
            n += 1;
            let seen = Arc::clone(&seen_by_server);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, content_length) = loop {
                    let read = socket.read(&mut chunk).await.unwrap_or(0);
                    if read == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..read]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (pos + 4, length);
                    }
                };
                while buf.len() < head_end + content_length {
                    let read = socket.read(&mut chunk).await.unwrap_or(0);
                    if read == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..read]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let (request_line, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
                let body =
                    serde_json::from_slice(&buf[head_end..]).unwrap_or(serde_json::Value::Null);
                seen.lock().unwrap().push(Seen {
                    request_line: request_line.to_string(),
                    headers: headers.to_lowercase(),
                    body,
                });
                tokio::time::sleep(answer.delay).await;
                let response = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{}\r\n{}",
                    answer.status,
                    answer.body.len(),
                    answer.headers,
                    answer.body
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    FakeApi { base_url, seen }
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn embedder(api: &FakeApi) -> HttpEmbedder {
    HttpEmbedder::new(
        &api.base_url,
        "text-embed-small",
        Some("sk-test-123".into()),
        Duration::from_secs(5),
    )
    .with_retries(0, Duration::from_millis(1))
}

#[tokio::test]
async fn sends_openai_request_and_returns_normalized_vectors_in_input_order() {
    // Items answered out of order: the index field decides.
    let api = fake_api(vec![ok(serde_json::json!({
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [0.0, 3.0, 4.0]},
            {"object": "embedding", "index": 0, "embedding": [2.0, 0.0, 0.0]}
        ],
        "model": "text-embed-small",
        "usage": {"prompt_tokens": 5, "total_tokens": 5}
    }))])
    .await;
    let e = embedder(&api);
    assert_eq!(e.dim(), 0, "unknown before the first answer");
    let v = e.embed(&texts(&["first", "second"])).await.unwrap();
    assert_eq!(v, vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.6, 0.8]]);
    assert_eq!(e.dim(), 3);
    assert_eq!(e.model_id(), "http:text-embed-small");

    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "POST /v1/embeddings HTTP/1.1");
    assert!(
        seen[0]
            .headers
            .contains("authorization: bearer sk-test-123"),
        "{}",
        seen[0].headers
    );
    assert!(seen[0].headers.contains("content-type: application/json"));
    assert_eq!(seen[0].body["model"], "text-embed-small");
    assert_eq!(
        seen[0].body["input"],
        serde_json::json!(["first", "second"])
    );
}

#[tokio::test]
async fn no_request_for_no_texts() {
    let api = fake_api(vec![status(500, "should not be called")]).await;
    assert!(embedder(&api).embed(&[]).await.unwrap().is_empty());
    assert!(api.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn error_statuses_are_reported_with_their_body() {
    for code in [400u16, 401, 429, 500, 503] {
        let api = fake_api(vec![status(code, r#"{"error":{"message":"nope"}}"#)]).await;
        match embedder(&api).embed(&texts(&["x"])).await {
            Err(RetrievalError::HttpStatus { status, body }) => {
                assert_eq!(status, code);
                assert!(body.contains("nope"));
            }
            other => panic!("HTTP {code}: expected HttpStatus, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn retries_429_and_500_then_succeeds() {
    let api = fake_api(vec![
        Answer {
            headers: "retry-after: 0\r\n",
            ..status(429, "slow down")
        },
        status(500, "oops"),
        ok(serde_json::json!({"data": [{"index": 0, "embedding": [1.0, 1.0]}]})),
    ])
    .await;
    let e = HttpEmbedder::new(&api.base_url, "m", None, Duration::from_secs(5))
        .with_retries(2, Duration::from_millis(10));
    let v = e.embed(&texts(&["x"])).await.unwrap();
    assert!((v[0][0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(
        !seen[0].headers.contains("authorization"),
        "no key, no header"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let api = fake_api(vec![
        status(401, "bad key"),
        ok(serde_json::json!({"data": []})),
    ])
    .await;
    let e = HttpEmbedder::new(&api.base_url, "m", None, Duration::from_secs(5))
        .with_retries(3, Duration::from_millis(1));
    assert!(matches!(
        e.embed(&texts(&["x"])).await,
        Err(RetrievalError::HttpStatus { status: 401, .. })
    ));
    assert_eq!(api.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let api = fake_api(vec![Answer {
        delay: Duration::from_secs(3),
        ..ok(serde_json::json!({"data": []}))
    }])
    .await;
    let e = HttpEmbedder::new(&api.base_url, "m", None, Duration::from_millis(200))
        .with_retries(0, Duration::ZERO);
    match e.embed(&texts(&["x"])).await {
        Err(RetrievalError::Timeout(t)) => assert_eq!(t, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_answers_are_bad_responses() {
    let cases = [
        "this is not json".to_string(),
        r#"{"data": "nope"}"#.to_string(),
        serde_json::json!({"data": [{"index": 0, "embedding": [1.0]}]}).to_string(), // 1 for 2 inputs
        serde_json::json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}).to_string(),
        serde_json::json!({"data": [{"index": 0, "embedding": []}, {"index": 1, "embedding": []}]}).to_string(),
    ];
    for body in cases {
        let api = fake_api(vec![Answer {
            body: body.clone(),
            ..status(200, "")
        }])
        .await;
        let got = embedder(&api).embed(&texts(&["a", "b"])).await;
        assert!(
            matches!(got, Err(RetrievalError::BadResponse(_))),
            "{body}: {got:?}"
        );
    }
}

#[tokio::test]
async fn a_declared_dimension_is_enforced() {
    let api = fake_api(vec![ok(
        serde_json::json!({"data": [{"index": 0, "embedding": [1.0, 0.0]}]}),
    )])
    .await;
    let e = embedder(&api).with_dim(384);
    assert_eq!(e.dim(), 384);
    assert!(matches!(
        e.embed(&texts(&["x"])).await,
        Err(RetrievalError::DimensionMismatch {
            expected: 384,
            got: 2
        })
    ));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = HttpEmbedder::new(&format!("http://{addr}"), "m", None, Duration::from_secs(2))
        .with_retries(0, Duration::ZERO);
    assert!(matches!(
        e.embed(&texts(&["x"])).await,
        Err(RetrievalError::Transport(_))
    ));
}
