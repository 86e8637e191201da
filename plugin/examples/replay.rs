//! Replays a log file through the filter inside one WASI program, so the filter's code can
//! be timed and profiled in any WebAssembly runtime, Fluent Bit's own WAMR included,
//! without Fluent Bit around it:
//!
//! ```text
//! cargo build --profile wasm --target wasm32-wasip1 -p cali-plugin --example replay
//! iwasm --dir=. target/wasm32-wasip1/wasm/examples/replay.wasm app.log
//! wasmtime run --dir=. target/wasm32-wasip1/wasm/examples/replay.wasm app.log
//! ```
//!
//! Each line becomes the record `tail` makes of it (`{"log":"…","stream":"stdout"}`, one
//! stream, a millisecond apart), with a flush tick every 2,000 lines and the held events
//! drained at the end. `--kubernetes` adds the ~700-byte `kubernetes` object Fluent Bit's
//! `kubernetes` filter leaves on every record of a DaemonSet (the same on every line, as
//! for one container). `--cri` and `--docker` write each record as the shipped
//! configuration's tail (`multiline.parser cri, docker`) gives it:
//! `{"time":"…","stream":"stdout","_p":"F","log":"…"}` on a containerd node,
//! `{"log":"…\n","stream":"stdout","time":"…"}` on a Docker one, the runtime's time a new
//! one on every line. `--events` prints every event; `--records-only` builds the records
//! and stops. The time printed is the filter's alone (records are built before the clock
//! starts). It runs natively as well:
//! `cargo run --release -p cali-plugin --example replay -- app.log`.

use std::io::Write;
use std::time::Instant;

use cali_plugin::filter::Input;
use cali_plugin::json;
use cali_plugin::timestamp::Timestamp;
use cali_plugin::{Filter, Settings};

const TAG: &[u8] = b"kube.var.log.containers.app-0_shop_main-00000000.log";
const TICK_TAG: &[u8] = b"cali.tick";
const TICK: &[u8] = b"{\"cali_tick\":1}";
const TICK_EVERY_LINES: usize = 2000;
/// 2026-11-20T13:00:00Z, the records' first time.
const EPOCH_SECS: i64 = 1_795_179_600;
/// What Fluent Bit's `kubernetes` filter adds to a record (pod, labels, annotations,
/// container, image).
const KUBERNETES: &str = r#"{"pod_name":"app-7d9f8b6c5d-x2k9q","namespace_name":"shop","pod_id":"5f0c2a1e-8b7d-4c3a-9e61-2d4f7a9b0c13","labels":{"app":"app","app.kubernetes.io/name":"app","app.kubernetes.io/instance":"app-prod","app.kubernetes.io/version":"1.14.2","app.kubernetes.io/part-of":"shop","pod-template-hash":"7d9f8b6c5d"},"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z","prometheus.io/scrape":"true","prometheus.io/port":"9102"},"host":"ip-10-0-12-34.eu-west-1.compute.internal","container_name":"app","docker_id":"3b5e2f9c1a7d4e8f0b6c2d9a5e1f7c3b8d4a0e6f2c9b5d1a7e3f8c0b4d6a2e9f","container_hash":"registry.example.com/shop/app@sha256:9a4c1e7f3b8d2a6c0e5f9b1d7a3c8e2f6b0d4a9c5e1f7b3d8a2c6e0f4b9d1a5c","container_image":"registry.example.com/shop/app:1.14.2"}"#;

/// How the records carry each line.
#[derive(Clone, Copy)]
enum Framing {
    /// `{"log":…,"stream":…}`: a file read by tail without a container parser, or with
    /// `Parser docker` (which turns `time` into the record's time).
    Parsed,
    /// tail's `multiline.parser cri` on a containerd node: `time`, `stream`, `_p`, `log`.
    Cri,
    /// tail's `multiline.parser docker`: Docker's line with its final newline, `stream`,
    /// and the runtime's `time`, kept as a member.
    Docker,
}

fn main() {
    let mut path = None;
    let (mut print_events, mut records_only, mut kubernetes) = (false, false, false);
    let mut framing = Framing::Parsed;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--events" => print_events = true,
            "--records-only" => records_only = true,
            "--kubernetes" => kubernetes = true,
            "--cri" => framing = Framing::Cri,
            "--docker" => framing = Framing::Docker,
            _ if path.is_none() => path = Some(arg),
            _ => usage(),
        }
    }
    let Some(path) = path else { usage() };
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("replay: cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let records: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            // Room for the escapes, the framing (the CRI prefix alone is ~75 bytes) and the
            // `kubernetes` object (~700 bytes): building the records does not show in a
            // profile of the filter.
            let mut r = String::with_capacity(2 * line.len() + if kubernetes { 1024 } else { 128 });
            // The container runtime's time: a new one on every line.
            let ms = i as u64;
            let runtime_time = Timestamp::new(
                EPOCH_SECS + (ms / 1000) as i64,
                (ms % 1000) as u32 * 1_000_000 + 123_456,
            );
            match framing {
                Framing::Cri => {
                    r.push_str("{\"time\":\"");
                    runtime_time.write_rfc3339(&mut r);
                    r.push_str("\",\"stream\":\"stdout\",\"_p\":\"F\",\"log\":");
                    json::write_str(&mut r, line);
                }
                Framing::Docker => {
                    r.push_str("{\"log\":");
                    json::write_str(&mut r, &format!("{line}\n"));
                    r.push_str(",\"stream\":\"stdout\",\"time\":\"");
                    runtime_time.write_rfc3339(&mut r);
                    r.push('"');
                }
                Framing::Parsed => {
                    r.push_str("{\"log\":");
                    json::write_str(&mut r, line);
                    r.push_str(",\"stream\":\"stdout\"");
                }
            }
            if kubernetes {
                r.push_str(",\"kubernetes\":");
                r.push_str(KUBERNETES);
            }
            r.push('}');
            r
        })
        .collect();
    if records_only {
        println!("{} records built", records.len());
        return;
    }

    let mut filter = Filter::new(Settings::default());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut events, mut bytes_out) = (0u64, 0usize);
    let mut emit = |event: Option<&str>, out: &mut std::io::StdoutLock| {
        if let Some(e) = event {
            events += 1;
            bytes_out += e.len();
            if print_events {
                let _ = writeln!(out, "{e}");
            }
        }
    };
    let started = Instant::now();
    let mut now_ms = 0u64;
    for (i, record) in records.iter().enumerate() {
        now_ms = i as u64;
        let time = Timestamp::new(
            EPOCH_SECS + (now_ms / 1000) as i64,
            (now_ms % 1000) as u32 * 1_000_000,
        );
        if i % TICK_EVERY_LINES == 0 {
            emit(
                filter.process(TICK_TAG, time, Input::Record(TICK), now_ms),
                &mut out,
            );
        }
        emit(
            filter.process(TAG, time, Input::Record(record.as_bytes()), now_ms),
            &mut out,
        );
    }
    // Past every idle timeout: each tick releases one held event until none is left.
    now_ms += 3_600_000;
    let end = Timestamp::new(EPOCH_SECS + (now_ms / 1000) as i64, 0);
    loop {
        let event = filter.process(TICK_TAG, end, Input::Record(TICK), now_ms);
        if event.is_none() {
            break;
        }
        emit(event, &mut out);
    }
    let seconds = started.elapsed().as_secs_f64();
    let lines = records.len().max(1) as f64;
    eprintln!(
        "{} lines, {events} events, {bytes_out} bytes of events, {:.3} s in the filter ({:.2} µs per line)",
        records.len(),
        seconds,
        seconds * 1e6 / lines
    );
}

fn usage() -> ! {
    eprintln!("usage: replay LOG [--kubernetes] [--cri | --docker] [--events] [--records-only]");
    std::process::exit(2);
}
