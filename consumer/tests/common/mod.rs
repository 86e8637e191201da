//! Shared by the end-to-end tests: a local HTTP server that plays Slack, the `cali`
//! binary, and the moto address from the environment.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the fake Slack answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Ok,
    TooManyRequests {
        retry_after_secs: u64,
    },
    ServerError,
    /// Answers 200, but only after this long (longer than the client's timeout).
    Slow(Duration),
    BadRequest,
}

/// One request the fake Slack received.
#[derive(Debug, Clone)]
pub struct Received {
    pub alert_id: String,
    pub body: String,
    pub at: Instant,
    /// What it was answered (the answer counts only when the client still listened).
    pub answer: String,
}

#[derive(Clone)]
pub struct SlackServer {
    pub url: String,
    script: Arc<Mutex<VecDeque<Answer>>>,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl SlackServer {
    /// Starts on 127.0.0.1:0; answers follow `script`, then 200 for ever.
    pub async fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/services/T000/B000/XXXX",
            listener.local_addr().unwrap()
        );
        let server = SlackServer {
            url,
            script: Arc::new(Mutex::new(script.into())),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let s = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move { s.answer(socket).await });
            }
        });
        server
    }

    async fn answer(&self, mut socket: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let header_end = loop {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        while buf.len() < header_end + length {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[header_end..]).to_string();
        let answer = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Ok);
        self.received.lock().unwrap().push(Received {
            alert_id: header("x-cali-alert-id"),
            body,
            at: Instant::now(),
            answer: format!("{answer:?}"),
        });
        let response = match answer {
            Answer::Ok => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_string(),
            Answer::Slow(d) => {
                tokio::time::sleep(d).await;
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_string()
            }
            Answer::TooManyRequests { retry_after_secs } => format!(
                "HTTP/1.1 429 Too Many Requests\r\nretry-after: {retry_after_secs}\r\ncontent-length: 12\r\nconnection: close\r\n\r\nrate_limited"
            ),
            Answer::ServerError => "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\nconnection: close\r\n\r\noops!".to_string(),
            Answer::BadRequest => "HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\nconnection: close\r\n\r\ninvalid_blocks".to_string(),
        };
        let _ = socket.write_all(response.as_bytes()).await;
        let _ = socket.shutdown().await;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Alert ids answered 200 in time, in order.
    pub fn delivered(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|r| r.answer == "Ok")
            .map(|r| r.alert_id)
            .collect()
    }
}

pub fn cali_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cali")
}

/// Environment for a `cali` process: everything local to `dir`, nothing inherited that
/// could change its settings.
pub fn base_env(cmd: &mut std::process::Command, dir: &std::path::Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("CALI_") && k != "CALI_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("CALI_STATE_PATH", dir.join("state/cali.db"))
        .env("CALI_DEAD_LETTER_DIRECTORY", dir.join("dead-letter"))
        .env("CALI_KINESIS_LEASE_PATH", dir.join("state/leases.db"))
        .env("CALI_HTTP_ADDR", "off");
}
