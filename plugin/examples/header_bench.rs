//! Native throughput of the header parser over a mix of layouts:
//! `cargo run --release -p cali-plugin --example header_bench [lines]`.
//! Inside Fluent Bit the module is interpreted; expect roughly 15-20x fewer lines/s there.
//! Times are this thread's CPU time (from /proc on Linux, else wall time), so a busy
//! machine does not distort them. `--per-layout` prints the cost of each sample line.

use std::hint::black_box;
use std::time::Instant;

use cali_plugin::header::HeaderParser;
use cali_plugin::json;
use cali_plugin::timestamp::Timestamp;

const MIX: &[&str] = &[
    "2026-11-20T13:10:00.123Z ERROR 1 --- [app] [  main] c.a.PaymentService : charge failed for order 1234",
    "2026-11-20 13:10:00.123  INFO 1 --- [nio-8080-exec-1] c.a.web.OrderController  : order 77 accepted",
    "13:10:00.123 [main] WARN  c.a.Svc - retrying payment gateway call (attempt 2 of 3)",
    "2026-11-20 13:10:00,123 - app.billing - ERROR - charge failed: card declined",
    "[2026-11-20 13:10:00,123] ERROR in app: Exception on /pay [POST]",
    "2026/11/20 13:10:00 http: TLS handshake error from 10.0.0.7:51234: EOF",
    "E1120 13:10:00.123456   12345 controller.go:123] sync of pod default/web-0 failed",
    "I, [2026-11-20T13:10:00.123456 #1]  INFO -- : Completed 200 OK in 12ms",
    "[20-Nov-2026 13:10:00 UTC] PHP Fatal error:  Uncaught Error: Call to undefined function x()",
    "2026/11/20 13:10:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream",
    "127.0.0.1 - - [20/Nov/2026:13:10:00 +0000] \"GET /api/orders?id=1 HTTP/1.1\" 500 123 \"-\" \"curl/8.0\"",
    "Nov 20 13:10:00 host app[123]: worker 4 exited with status 1",
    "time=2026-11-20T13:10:00Z level=error msg=\"charge failed\" trace_id=4bf92f3577b34da6 order=1234",
    "{\"@timestamp\":\"2026-11-20T13:10:00.123Z\",\"level\":\"ERROR\",\"logger_name\":\"c.a.Svc\",\"thread_name\":\"main\",\"message\":\"charge failed\",\"traceId\":\"4bf92f3577b34da6\"}",
    "{\"level\":50,\"time\":1795180200123,\"msg\":\"request failed\",\"err\":{\"type\":\"Error\",\"stack\":\"Error: x\\n    at f (a.js:1:1)\"}}",
    "\tat com.acme.billing.PaymentService.charge(PaymentService.java:42)",
    "Caused by: java.net.SocketTimeoutException: Read timed out",
    "  File \"/app/billing.py\", line 12, in charge",
    "plain text continuation line without any header at all",
];

/// CPU time of this thread in seconds (`/proc/thread-self/schedstat`, first field in ns).
fn cpu_seconds(wall: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or_else(|| wall.elapsed().as_secs_f64(), |ns| ns as f64 / 1e9)
}

struct Clock {
    wall: Instant,
    cpu: f64,
}

impl Clock {
    fn start() -> Self {
        let wall = Instant::now();
        Self {
            cpu: cpu_seconds(wall),
            wall,
        }
    }
    fn seconds(&self) -> f64 {
        cpu_seconds(self.wall) - self.cpu
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_layout = args.iter().any(|a| a == "--per-layout");
    let lines: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let parser = HeaderParser::default();
    let reference = Timestamp::new(1_795_180_200, 0);
    if per_layout {
        for line in MIX {
            let n = 200_000;
            let clock = Clock::start();
            for _ in 0..n {
                black_box(parser.parse(black_box(line), reference));
            }
            let ns = clock.seconds() * 1e9 / f64::from(n);
            println!("{ns:7.0} ns  {}", &line[..line.len().min(70)]);
        }
        return;
    }
    let bytes_per_round: usize = MIX.iter().map(|l| l.len() + 1).sum();
    let rounds = lines / MIX.len();
    let total_lines = rounds * MIX.len();
    let mib = (rounds * bytes_per_round) as f64 / (1024.0 * 1024.0);

    let clock = Clock::start();
    let mut found = 0usize;
    for _ in 0..rounds {
        for line in MIX {
            let h = parser.parse(black_box(line), reference);
            found += usize::from(h.timestamp.is_some());
        }
    }
    let secs = clock.seconds();
    println!(
        "parse:        {total_lines} lines, {mib:.1} MiB in {secs:.3} s = {:.0} lines/s, {:.1} MiB/s ({found} with a timestamp)",
        total_lines as f64 / secs,
        mib / secs
    );

    let clock = Clock::start();
    let mut starts = 0usize;
    for _ in 0..rounds {
        for line in MIX {
            starts += usize::from(parser.starts_event(black_box(line)));
        }
    }
    let secs = clock.seconds();
    println!(
        "starts_event: {total_lines} lines, {mib:.1} MiB in {secs:.3} s = {:.0} lines/s, {:.1} MiB/s ({starts} starts)",
        total_lines as f64 / secs,
        mib / secs
    );

    // The record as Fluent Bit hands it over: the line plus Kubernetes metadata.
    let record = r#"{"log":"2026-11-20T13:10:00.123Z ERROR 1 --- [app] [  main] c.a.PaymentService : charge failed for order 1234\n","stream":"stderr","time":"2026-11-20T13:10:00.123456789Z","kubernetes":{"pod_name":"payments-7d9f8b6c5d-x2k4q","namespace_name":"shop","pod_id":"3f1e2d4c-5b6a-4789-9abc-def012345678","labels":{"app":"payments","app.kubernetes.io/name":"payments","pod-template-hash":"7d9f8b6c5d"},"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-19T08:00:00Z"},"host":"ip-10-0-1-23.ec2.internal","container_name":"payments","docker_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","container_hash":"registry.example.com/shop/payments@sha256:0123456789abcdef","container_image":"registry.example.com/shop/payments:1.42.0"}}"#;
    let records = total_lines;
    let clock = Clock::start();
    let mut members = 0usize;
    for _ in 0..records {
        if let Ok(m) = json::parse_object(black_box(record)) {
            members += m.len();
        }
    }
    let secs = clock.seconds();
    let mib = (records * record.len()) as f64 / (1024.0 * 1024.0);
    println!(
        "json record:  {records} records of {} bytes, {mib:.1} MiB in {secs:.3} s = {:.0} records/s, {:.1} MiB/s ({members} members)",
        record.len(),
        records as f64 / secs,
        mib / secs
    );
}
