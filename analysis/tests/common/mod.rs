//! A local OpenAI-compatible chat endpoint for the tests: a tiny HTTP/1.1 server on
//! 127.0.0.1:0 that records every request and answers as the test scripts it (200 with a
//! given answer, 429 with Retry-After, 500, slow, or garbage).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cali_analysis::{Frame, IncidentInput, SampleEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub path: String,
    pub body: serde_json::Value,
    pub raw_body: String,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    /// A chat completion whose message content is `answer` (serialized).
    pub fn answer(answer: serde_json::Value) -> Reply {
        let body = serde_json::json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": answer.to_string() }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 400, "completion_tokens": 120, "total_tokens": 520 }
        });
        Reply {
            status: 200,
            headers: vec![],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: "{\"error\":{\"message\":\"scripted\"}}".into(),
            delay: Duration::ZERO,
        }
    }

    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        Reply {
            status: 429,
            headers: vec![("Retry-After".into(), retry_after_secs.to_string())],
            body: "{\"error\":{\"message\":\"Rate limit reached\"}}".into(),
            delay: Duration::ZERO,
        }
    }

    pub fn raw(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn slow(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Script = Arc<dyn Fn(usize, &serde_json::Value) -> Reply + Send + Sync>;

pub struct FakeChat {
    pub base_url: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Script>>,
}

impl FakeChat {
    pub async fn start(
        script: impl Fn(usize, &serde_json::Value) -> Reply + Send + Sync + 'static,
    ) -> FakeChat {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let recorded: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(Arc::new(script)));
        let (rec, scr) = (recorded.clone(), script.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (rec, scr) = (rec.clone(), scr.clone());
                tokio::spawn(async move {
                    let Some((path, auth, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    let value: serde_json::Value =
                        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                    let n = {
                        let mut r = rec.lock().expect("recorder");
                        r.push(Recorded {
                            authorization: auth,
                            path,
                            body: value.clone(),
                            raw_body: body,
                            at: Instant::now(),
                        });
                        r.len() - 1
                    };
                    let handler = scr.lock().expect("script").clone();
                    let reply = handler(n, &value);
                    tokio::time::sleep(reply.delay).await;
                    let mut head = format!(
                        "HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    for (k, v) in &reply.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(reply.body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        FakeChat {
            base_url: format!("http://{addr}/v1"),
            recorded,
            script,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("recorder").clone()
    }

    pub fn set_script(
        &self,
        script: impl Fn(usize, &serde_json::Value) -> Reply + Send + Sync + 'static,
    ) {
        *self.script.lock().expect("script") = Arc::new(script);
    }
}

async fn read_request(
    socket: &mut tokio::net::TcpStream,
) -> Option<(String, Option<String>, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let path = lines.next()?.split_whitespace().nth(1)?.to_string();
    let mut length = 0usize;
    let mut auth = None;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().ok()?,
            "authorization" => auth = Some(v.trim().to_string()),
            _ => {}
        }
    }
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((
        path,
        auth,
        String::from_utf8_lossy(&buf[header_end..header_end + length]).to_string(),
    ))
}

/// A Java pool-exhaustion incident with planted secrets in its log lines.
pub fn pool_incident(fingerprint: &str, frames: usize) -> IncidentInput {
    let mut trace = vec![
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.".to_string(),
    ];
    for i in 0..frames {
        trace.push(format!(
            "\tat com.acme.orders.Layer{i}.call(Layer{i}.java:{})",
            10 + i
        ));
    }
    // The tenant makes each fingerprint's prompt its own, as different incidents are.
    let tenant = &fingerprint[fingerprint.len().saturating_sub(4)..];
    let header = format!("2024-06-04T10:00:00.123Z ERROR [orders] c.a.o.OrderRepository - query failed for tenant {tenant} jane.doe@example.com via jdbc:postgresql://orders:Sup3rS3cret!@10.20.30.40:5432/orders key AKIAIOSFODNN7EXAMPLE");
    IncidentInput {
        fingerprint: fingerprint.to_string(),
        service: Some("orders".into()),
        namespace: Some("shop".into()),
        count: 12,
        first_seen: "2024-06-04T10:00:00Z".into(),
        last_seen: "2024-06-04T10:05:00Z".into(),
        pods: vec!["orders-7d9f-abcde".into()],
        versions: vec!["1.4.2".into()],
        sample: SampleEvent {
            level: "ERROR".into(),
            service: Some("orders".into()),
            logger: Some("c.a.o.OrderRepository".into()),
            message: format!("query failed for tenant {tenant} jane.doe@example.com"),
            exception_type: Some("java.sql.SQLTransientConnectionException".into()),
            exception_message: Some(
                "HikariPool-1 - Connection is not available, request timed out after 30000ms."
                    .into(),
            ),
            language: Some("java".into()),
            frames: (0..frames.min(20))
                .map(|i| Frame {
                    function: "call".into(),
                    module: Some(format!("com.acme.orders.Layer{i}")),
                    file: Some(format!("Layer{i}.java")),
                    line: Some(10 + i as u32),
                })
                .collect(),
            stack_trace: Some(trace.join("\n")),
            log_content: format!("{header}\n{}", trace.join("\n")),
        },
    }
}

/// The secrets planted by `pool_incident`.
pub const PLANTED: &[&str] = &[
    "jane.doe@example.com",
    "Sup3rS3cret!",
    "10.20.30.40",
    "AKIAIOSFODNN7EXAMPLE",
];

/// An answer that quotes a real line of `pool_incident`.
pub fn honest_answer(related: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "summary": "orders cannot get database connections",
        "likely_cause": "The Hikari pool is exhausted",
        "evidence": ["HikariPool-1 - Connection is not available, request timed out after 30000ms."],
        "actions": ["Check for long transactions holding connections"],
        "related": related,
        "confidence": 0.72
    })
}
