//! A Kinesis endpoint that answers from a script: a local HTTP server on 127.0.0.1 speaking
//! the JSON protocol, for answers a moto server never gives (an expired iterator, the null
//! iterator that ends a closed shard, throttling, real-sized sequence numbers).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One scripted answer: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedAnswer {
    pub status: u16,
    pub body: String,
    /// As the script's last answer: given again to every later call.
    pub repeats: bool,
}

impl ScriptedAnswer {
    /// A 200 answer with this JSON body.
    pub fn ok(body: impl Into<String>) -> Self {
        ScriptedAnswer {
            status: 200,
            body: body.into(),
            repeats: false,
        }
    }

    /// A 400 answer naming a Kinesis exception, e.g. `ExpiredIteratorException`.
    pub fn error(exception: &str, message: &str) -> Self {
        ScriptedAnswer {
            status: 400,
            body: format!(r#"{{"__type":"{exception}","message":"{message}"}}"#),
            repeats: false,
        }
    }

    /// As the script's last answer: this answer, and the same to every call after it.
    /// Kinesis answers a `GetRecords`
    /// repeated with the same iterator the same way, so a call the client gave up on
    /// (a cancelled `next_batch`) and sent again gets what the server already answered.
    pub fn repeated(self) -> Self {
        ScriptedAnswer {
            repeats: true,
            ..self
        }
    }
}

/// One call the endpoint received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedCall {
    /// The operation from `X-Amz-Target`, e.g. `GetRecords`.
    pub operation: String,
    /// The JSON request body.
    pub body: String,
}

#[derive(Debug, Default)]
struct Exchange {
    script: VecDeque<ScriptedAnswer>,
    /// The last answer, given, when it repeats.
    repeat: Option<ScriptedAnswer>,
    calls: Vec<ScriptedCall>,
}

impl Exchange {
    /// The next answer; a script used up answers 500, so an unexpected call shows.
    fn answer(&mut self, call: ScriptedCall) -> ScriptedAnswer {
        self.calls.push(call);
        match self.script.pop_front() {
            Some(answer) => {
                if answer.repeats && self.script.is_empty() {
                    self.repeat = Some(answer.clone());
                }
                answer
            }
            None => self.repeat.clone().unwrap_or_else(script_ended),
        }
    }
}

fn script_ended() -> ScriptedAnswer {
    ScriptedAnswer {
        status: 500,
        body: r#"{"__type":"InternalFailure","message":"script ended"}"#.to_string(),
        repeats: false,
    }
}

/// A scripted Kinesis endpoint, listening until dropped. Every call, whatever its
/// operation, gets the next answer of the script, in order.
pub struct ScriptedKinesis {
    url: String,
    exchange: Arc<Mutex<Exchange>>,
    server: JoinHandle<()>,
}

impl ScriptedKinesis {
    /// Starts listening on 127.0.0.1 (a free port) with these answers.
    pub async fn start(script: Vec<ScriptedAnswer>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let exchange = Arc::new(Mutex::new(Exchange {
            script: script.into(),
            ..Exchange::default()
        }));
        let shared = Arc::clone(&exchange);
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve_connection(socket, Arc::clone(&shared)));
            }
        });
        Ok(ScriptedKinesis {
            url,
            exchange,
            server,
        })
    }

    /// The endpoint URL to give the client (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<ScriptedCall> {
        self.exchange
            .lock()
            .map(|e| e.calls.clone())
            .unwrap_or_default()
    }

    /// The request bodies of the calls to one operation, in order.
    pub fn requests(&self, operation: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.operation == operation)
            .map(|c| c.body)
            .collect()
    }

    /// Answers of the script not given yet.
    pub fn unanswered(&self) -> usize {
        self.exchange.lock().map(|e| e.script.len()).unwrap_or(0)
    }
}

impl Drop for ScriptedKinesis {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Answers the requests of one keep-alive connection until the client closes it.
async fn serve_connection(socket: TcpStream, exchange: Arc<Mutex<Exchange>>) {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    loop {
        let Some(call) = read_request(&mut read).await else {
            return;
        };
        let answer = match exchange.lock() {
            Ok(mut exchange) => exchange.answer(call),
            Err(_) => return,
        };
        let reply = format!(
            "HTTP/1.1 {} Scripted\r\ncontent-type: application/x-amz-json-1.1\r\n\
             content-length: {}\r\n\r\n{}",
            answer.status,
            answer.body.len(),
            answer.body
        );
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// One request's operation and body; `None` when the connection ends or is not HTTP.
async fn read_request(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<ScriptedCall> {
    let (mut operation, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("x-amz-target") {
            // `Kinesis_20131202.GetRecords`
            operation = value.rsplit('.').next().unwrap_or(value).to_string();
        }
    }
    let mut body = vec![0; length];
    read.read_exact(&mut body).await.ok()?;
    Some(ScriptedCall {
        operation,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(operation: &str) -> ScriptedCall {
        ScriptedCall {
            operation: operation.to_string(),
            body: "{}".to_string(),
        }
    }

    #[test]
    fn answers_in_order_then_500_once_the_script_is_used_up() {
        let mut exchange = Exchange {
            script: vec![ScriptedAnswer::ok("a"), ScriptedAnswer::ok("b")].into(),
            ..Exchange::default()
        };
        assert_eq!(exchange.answer(call("ListShards")).body, "a");
        assert_eq!(exchange.answer(call("GetRecords")).body, "b");
        assert_eq!(exchange.answer(call("GetRecords")).status, 500);
        assert_eq!(exchange.calls.len(), 3);
    }

    #[test]
    fn a_repeated_last_answer_is_given_to_every_later_call() {
        let mut exchange = Exchange {
            script: vec![
                ScriptedAnswer::ok("first").repeated(),
                ScriptedAnswer::ok("end").repeated(),
            ]
            .into(),
            ..Exchange::default()
        };
        // Only the last answer repeats; an earlier one marked so is given once.
        assert_eq!(exchange.answer(call("GetRecords")).body, "first");
        for _ in 0..3 {
            assert_eq!(exchange.answer(call("GetRecords")).body, "end");
        }
        assert!(exchange.script.is_empty());
        assert_eq!(exchange.calls.len(), 4);
    }
}
