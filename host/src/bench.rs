//! `cali-host bench`: a large, deterministic mixed container log (five ordinary layouts,
//! real traces from the corpus spliced in, interleaved streams) run through the `.wasm` in
//! wasmi and natively through `cali_plugin::Filter`, with throughput and peak memory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cali_plugin::filter::{Filter, Input};
use cali_plugin::timestamp::Timestamp;
use cali_plugin::Settings;

use crate::clock::Clock;
use crate::framing::{Framed, Runtime};
use crate::record::{framed_record_json, log_record_json, tick_json, Record};
use crate::runtime::{HostError, WasmFilter, WasmFilterOptions};
use crate::TICK_TAG;

/// Virtual time between two lines: 10,000 lines per second of log.
const LINE_NS: u64 = 100_000;
/// A tick every 200 ms of virtual time, as the shipped `dummy` input sends them.
const TICK_EVERY_LINES: usize = 2000;
/// Share of lines that come from spliced traces.
const TRACE_SHARE: f64 = 0.035;
/// Fluent Bit 5.1.1's native multiline + parser pipeline (see the notes): CPU s and lines.
pub const FLUENT_BIT_NATIVE_CPU_S: f64 = 2.88;
pub const FLUENT_BIT_NATIVE_LINES: u64 = 341_028;

/// A module whose `cali_filter` returns its record unchanged: the floor of the host's round
/// trip (copy in, call, read the answer, check it is a JSON object). Hand-assembled; a test
/// checks it against its text form:
/// `(module (memory (export "memory") 1) (func (export "cali_filter") (param i32 i32 i32 i32 i32 i32) (result i32) local.get 4))`
pub const ECHO_MODULE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x0b, 0x01, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, // type
    0x03, 0x02, 0x01, 0x00, // function
    0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
    0x07, 0x18, 0x02, // export: 2 entries
    0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // "memory"
    0x0b, b'c', b'a', b'l', b'i', b'_', b'f', b'i', b'l', b't', b'e', b'r', 0x00, 0x00, 0x0a, 0x06,
    0x01, 0x04, 0x00, 0x20, 0x04, 0x0b, // code: local.get 4
];

// Picks layouts and numbers, the same for every run of one seed.
use cali_plugin::hash::SplitMix64 as Rng;

#[derive(Clone, Copy)]
enum Layout {
    SpringBoot,
    PythonLogging,
    Klog,
    Json,
    Nginx,
}

const LAYOUTS: [Layout; 5] = [
    Layout::SpringBoot,
    Layout::PythonLogging,
    Layout::Klog,
    Layout::Json,
    Layout::Nginx,
];

fn level(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..=79 => "INFO",
        80..=89 => "DEBUG",
        90..=96 => "WARN",
        _ => "ERROR",
    }
}

fn ordinary_line(layout: Layout, rng: &mut Rng, ms: u64) -> String {
    let (h, m, s, frac) = (
        (ms / 3_600_000) % 24,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000,
    );
    let id = rng.below(100_000);
    let took = rng.below(900);
    match layout {
        Layout::SpringBoot => format!(
            "2026-01-01 {h:02}:{m:02}:{s:02}.{frac:03}  {:>5} 1 --- [nio-8080-exec-{}] c.e.shop.OrderController   : order {id} created in {took} ms",
            level(rng),
            rng.below(10)
        ),
        Layout::PythonLogging => format!(
            "2026-01-01 {h:02}:{m:02}:{s:02},{frac:03} - payments.worker - {} - processed batch {id} ({took} items)",
            level(rng)
        ),
        Layout::Klog => format!(
            "{}0101 {h:02}:{m:02}:{s:02}.{frac:03}{:03}       1 controller.go:{}] Reconciled object default/web-{id}",
            &level(rng)[..1],
            rng.below(1000),
            100 + rng.below(400)
        ),
        Layout::Json => format!(
            r#"{{"ts":"2026-01-01T{h:02}:{m:02}:{s:02}.{frac:03}Z","level":"{}","logger":"api.http","msg":"request done","path":"/api/items/{id}","status":200,"latency_ms":{took}}}"#,
            level(rng).to_ascii_lowercase()
        ),
        Layout::Nginx => format!(
            r#"10.0.{}.{} - - [01/Jan/2026:{h:02}:{m:02}:{s:02} +0000] "GET /api/items/{id} HTTP/1.1" 200 {took} "-" "curl/8.5.0""#,
            rng.below(255),
            rng.below(255)
        ),
    }
}

/// The raw-format trace cases of the corpus, each as its lines.
pub fn load_traces(corpus: &Path) -> Vec<Vec<String>> {
    let dir = corpus.join("multiline");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter(|txt| {
            let expected = txt.with_extension("expected.json");
            std::fs::read_to_string(expected)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|v| v["format"] == "raw")
        })
        .filter_map(|txt| std::fs::read_to_string(txt).ok())
        .map(|text| text.lines().map(str::to_string).collect())
        .collect()
}

/// One input stream of the generated log: a container's stdout or stderr.
struct Stream {
    tag: String,
    stream: &'static str,
    layout: Layout,
}

/// Generates `lines` log records (ticks not included) deterministically from `seed`.
pub fn generate(lines: usize, seed: u64, traces: &[Vec<String>]) -> Vec<Record> {
    let mut rng = Rng(seed);
    let streams: Vec<Stream> = (0..8)
        .map(|i| Stream {
            tag: format!(
                "kube.var.log.containers.app-{i}_shop_main-{:08x}.log",
                (seed as u32).wrapping_mul(i + 1)
            ),
            stream: if i % 3 == 2 { "stderr" } else { "stdout" },
            layout: LAYOUTS[i as usize % LAYOUTS.len()],
        })
        .collect();
    let mut records = Vec::with_capacity(lines);
    let mut trace_lines = 0usize;
    while records.len() < lines {
        let n = records.len() as u64;
        let ms = n * LINE_NS / 1_000_000;
        let time = (
            crate::clock::VIRTUAL_EPOCH_SECS as u32 + (ms / 1000) as u32,
            (ms % 1000) as u32 * 1_000_000,
        );
        let stream = &streams[rng.below(streams.len() as u64) as usize];
        let mut push = |text: &str| {
            records.push(Record::new(
                stream.tag.clone(),
                time,
                log_record_json(text.as_bytes(), stream.stream, &[]),
            ))
        };
        if !traces.is_empty() && (trace_lines as f64) < TRACE_SHARE * n as f64 {
            let trace = &traces[rng.below(traces.len() as u64) as usize];
            for line in trace {
                push(line);
            }
            trace_lines += trace.len();
        } else {
            push(&ordinary_line(stream.layout, &mut rng, ms));
        }
    }
    records.truncate(lines);
    records
}

/// Records of an existing log file, one per line, all of one stream (what `tail` makes of
/// a file without a multiline parser), a millisecond apart.
pub fn from_log(text: &str) -> Vec<Record> {
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let ms = n as u64 * LINE_NS / 1_000_000;
            let time = (
                crate::clock::VIRTUAL_EPOCH_SECS as u32 + (ms / 1000) as u32,
                (ms % 1000) as u32 * 1_000_000,
            );
            Record::new(
                "kube.var.log.containers.app-0_shop_main-00000000.log",
                time,
                log_record_json(line.as_bytes(), "stdout", &[]),
            )
        })
        .collect()
}

/// The same records as the shipped pipeline hands them to the filter on a containerd
/// node: tail's `multiline.parser cri` makes each `{"time":..,"stream":..,"_p":"F","log":..}`
/// (the runtime's time a new string on every record), and the `kubernetes` filter adds an
/// object of about 700 bytes (pod, namespace, labels, annotations, container, image), the
/// same for every record of one container.
pub fn with_kubernetes(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .map(|r| {
            // The container's number from the tag (`kube.var.log.containers.app-N_...`).
            let app = r
                .tag
                .split("containers.")
                .nth(1)
                .and_then(|t| t.split('_').next())
                .unwrap_or("app");
            let metadata = format!(
                r#"{{"pod_name":"{app}-7d9f8b6c5d-x2k9q","namespace_name":"shop","pod_id":"5f0c2a1e-8b7d-4c3a-9e61-2d4f7a9b0c13","labels":{{"app":"{app}","app.kubernetes.io/name":"{app}","app.kubernetes.io/instance":"{app}-prod","app.kubernetes.io/version":"1.14.2","app.kubernetes.io/part-of":"shop","pod-template-hash":"7d9f8b6c5d"}},"annotations":{{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z","prometheus.io/scrape":"true","prometheus.io/port":"9102"}},"host":"ip-10-0-12-34.eu-west-1.compute.internal","container_name":"{app}","docker_id":"3b5e2f9c1a7d4e8f0b6c2d9a5e1f7c3b8d4a0e6f2c9b5d1a7e3f8c0b4d6a2e9f","container_hash":"registry.example.com/shop/{app}@sha256:9a4c1e7f3b8d2a6c0e5f9b1d7a3c8e2f6b0d4a9c5e1f7b3d8a2c6e0f4b9d1a5c","container_image":"registry.example.com/shop/{app}:1.14.2"}}"#
            );
            let parsed: serde_json::Value =
                serde_json::from_slice(&r.json).unwrap_or_default();
            let (log, stream) = (
                parsed["log"].as_str().unwrap_or_default(),
                parsed["stream"].as_str().unwrap_or("stdout"),
            );
            let framed = Framed {
                log: log.as_bytes().to_vec(),
                stream: Some(stream.to_string()),
                time: Some(r.time),
                runtime: Some(Runtime::Cri {
                    time: Timestamp::new(i64::from(r.time.0), r.time.1).to_rfc3339(),
                    flag: 'F',
                }),
                lines: Vec::new(),
            };
            let json = framed_record_json(&framed, &[("kubernetes".to_string(), metadata)]);
            Record::new(r.tag.clone(), r.time, json)
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct BenchResult {
    pub engine: &'static str,
    /// CPU time of the running thread (the machine may be shared: wall time is shown too).
    pub seconds: f64,
    pub wall_seconds: f64,
    pub lines: usize,
    pub bytes: usize,
    pub events_out: u64,
    pub peak_rss_kib: Option<u64>,
    pub linear_memory: Option<usize>,
}

impl BenchResult {
    pub fn lines_per_s(&self) -> f64 {
        self.lines as f64 / self.seconds
    }
    pub fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.seconds
    }
    pub fn us_per_line(&self) -> f64 {
        self.seconds * 1e6 / self.lines as f64
    }
}

/// CPU time consumed by the calling thread so far, from `/proc/thread-self/schedstat`
/// (nanoseconds on CPU); `None` where the kernel does not provide it.
pub fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Measures `work` in thread CPU seconds (falling back to wall time) and wall seconds.
fn measure<T>(work: impl FnOnce() -> T) -> (T, f64, f64) {
    let cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    let value = work();
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    (value, cpu, wall)
}

/// Reads `VmHWM` (peak resident set) of this process, in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    proc_status_kib("VmHWM:")
}

pub fn rss_kib() -> Option<u64> {
    proc_status_kib("VmRSS:")
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets the kernel's peak-RSS mark so each engine's peak is its own.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn input_bytes(records: &[Record]) -> usize {
    records.iter().map(|r| r.json.len()).sum()
}

/// The records through a `.wasm` in wasmi, ticks every 200 ms of virtual time, drained at the end.
/// `drain` is false for a module that never holds anything (and would echo ticks forever).
pub fn run_wasm(
    engine: &'static str,
    wasm: &[u8],
    records: &[Record],
    drain: bool,
) -> Result<BenchResult, HostError> {
    let options = WasmFilterOptions {
        forward_output: false,
        clock: Clock::virtual_at_zero(),
        ..WasmFilterOptions::default()
    };
    let mut filter = WasmFilter::from_bytes(wasm, options)?;
    reset_peak_rss();
    let (result, seconds, wall_seconds) = measure(|| drive(&mut filter, records, drain));
    let events = result?;
    Ok(BenchResult {
        engine,
        seconds,
        wall_seconds,
        lines: records.len(),
        bytes: input_bytes(records),
        events_out: events,
        peak_rss_kib: peak_rss_kib(),
        linear_memory: Some(filter.memory_bytes()),
    })
}

/// Feeds the records to the module with a tick every `TICK_EVERY_LINES`, then moves the
/// clock past every idle timeout and (when `drain`) ticks until nothing is left.
/// Returns how many records left the filter.
fn drive(filter: &mut WasmFilter, records: &[Record], drain: bool) -> Result<u64, HostError> {
    let tick = tick_json(&serde_json::Map::new());
    let mut events = 0u64;
    for (i, record) in records.iter().enumerate() {
        filter.clock_mut().advance_ns(LINE_NS);
        if i % TICK_EVERY_LINES == 0 {
            let time = filter.clock().record_time();
            let out = filter.call(TICK_TAG.as_bytes(), time, &tick)?;
            events += u64::from(out.emitted().is_some());
        }
        events += u64::from(filter.process(record)?.is_some());
    }
    filter.advance_ms(60_000);
    if drain {
        loop {
            let time = filter.clock().record_time();
            if filter
                .call(TICK_TAG.as_bytes(), time, &tick)?
                .emitted()
                .is_none()
            {
                break;
            }
            events += 1;
        }
    }
    Ok(events)
}

/// Fuel per line of the records through the module: wasmi's count of the instructions it
/// executed (its own, after fusing), which does not depend on the machine or its load.
pub fn fuel_per_line(wasm: &[u8], records: &[Record]) -> Result<f64, HostError> {
    let options = WasmFilterOptions {
        forward_output: false,
        clock: Clock::virtual_at_zero(),
        count_fuel: true,
        ..WasmFilterOptions::default()
    };
    let mut filter = WasmFilter::from_bytes(wasm, options)?;
    let before = filter.fuel_spent().unwrap_or(0);
    drive(&mut filter, records, true)?;
    let spent = filter.fuel_spent().unwrap_or(0) - before;
    Ok(spent as f64 / records.len().max(1) as f64)
}

/// The same records through `cali_plugin::Filter` compiled natively.
pub fn run_native(records: &[Record]) -> BenchResult {
    let mut filter = Filter::new(Settings::default());
    let tick = tick_json(&serde_json::Map::new());
    let mut now_ns = 0u64;
    let mut events = 0u64;
    let tick_time = |ns: u64| {
        Timestamp::new(
            (crate::clock::VIRTUAL_EPOCH_SECS + ns / 1_000_000_000) as i64,
            (ns % 1_000_000_000) as u32,
        )
    };
    reset_peak_rss();
    let ((), seconds, wall_seconds) = measure(|| {
        for (i, record) in records.iter().enumerate() {
            now_ns += LINE_NS;
            let now_ms = now_ns / 1_000_000;
            if i % TICK_EVERY_LINES == 0 {
                let tick = Input::Record(&tick);
                let out = filter.process(TICK_TAG.as_bytes(), tick_time(now_ns), tick, now_ms);
                events += u64::from(out.is_some());
            }
            let time = Timestamp::new(i64::from(record.time.0), record.time.1);
            let input = Input::Record(&record.json);
            let out = filter.process(record.tag.as_bytes(), time, input, now_ms);
            events += u64::from(out.is_some());
        }
        now_ns += 60_000_000_000;
        let now_ms = now_ns / 1_000_000;
        while filter
            .process(
                TICK_TAG.as_bytes(),
                tick_time(now_ns),
                Input::Record(&tick),
                now_ms,
            )
            .is_some()
        {
            events += 1;
        }
    });
    BenchResult {
        engine: "cali_plugin::Filter (native)",
        seconds,
        wall_seconds,
        lines: records.len(),
        bytes: input_bytes(records),
        events_out: events,
        peak_rss_kib: peak_rss_kib(),
        linear_memory: None,
    }
}

/// Where the bench's lines came from.
pub enum Source<'a> {
    Generated { seed: u64, traces: usize },
    Log(&'a str),
}

/// The markdown report: one row per engine, the module size and Fluent Bit's reference.
pub fn report(
    results: &[BenchResult],
    wasm_size: usize,
    lines: usize,
    input: Source<'_>,
    baseline_rss_kib: Option<u64>,
) -> String {
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let mut out = String::new();
    let json_mib = results
        .first()
        .map_or(0.0, |r| r.bytes as f64 / (1024.0 * 1024.0));
    out.push_str(&match input {
        Source::Generated { seed, traces } => format!(
            "{lines} lines (seed {seed}, {traces} corpus traces spliced at {:.1}% of lines, 8 interleaved streams), {json_mib:.1} MiB of record JSON\n\n",
            TRACE_SHARE * 100.0,
        ),
        Source::Log(path) => {
            format!("{lines} lines of {path} (one stream), {json_mib:.1} MiB of record JSON\n\n")
        }
    });
    out.push_str(
        "| engine | lines/s | MiB/s | µs/line | CPU s | wall s | events out | peak RSS | linear memory |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        out.push_str(&format!(
            "| {} | {:.0} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} | {} |\n",
            r.engine,
            r.lines_per_s(),
            r.mib_per_s(),
            r.us_per_line(),
            r.seconds,
            r.wall_seconds,
            r.events_out,
            r.peak_rss_kib.map_or("n/a".into(), mib),
            r.linear_memory.map_or("–".into(), |b| format!(
                "{:.1} MiB",
                b as f64 / (1024.0 * 1024.0)
            )),
        ));
    }
    let reference = FLUENT_BIT_NATIVE_LINES as f64 / FLUENT_BIT_NATIVE_CPU_S;
    out.push_str(&format!(
        "| reference: Fluent Bit 5.1.1 native multiline + parser filters ({FLUENT_BIT_NATIVE_LINES} lines, whole process) | {reference:.0} | | {:.2} | {FLUENT_BIT_NATIVE_CPU_S} | | | | |\n",
        1e6 / reference
    ));
    out.push_str(&format!(
        "\ncali.wasm: {wasm_size} bytes ({:.0} KiB)\n",
        wasm_size as f64 / 1024.0
    ));
    if let Some(base) = baseline_rss_kib {
        out.push_str(&format!(
            "RSS before the runs (generated input held in memory): {}\n",
            mib(base)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_splices_traces() {
        let traces = vec![vec![
            "Traceback (most recent call last):".to_string(),
            "ValueError: x".to_string(),
        ]];
        let a = generate(2000, 7, &traces);
        let b = generate(2000, 7, &traces);
        assert_eq!(a, b);
        assert_eq!(a.len(), 2000);
        let spliced = a
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.json).contains("ValueError"))
            .count();
        let share = spliced as f64 * 2.0 / 2000.0;
        assert!((0.02..=0.05).contains(&share), "trace share {share}");
        let c = generate(2000, 8, &traces);
        assert_ne!(a, c);
    }

    #[test]
    fn records_are_framed_as_tail_frames_cri_and_carry_kubernetes_metadata() {
        let records = generate(100, 3, &[]);
        let with = with_kubernetes(&records);
        assert_eq!(with.len(), records.len());
        for (plain, k8s) in records.iter().zip(&with) {
            let v: serde_json::Value = serde_json::from_slice(&k8s.json).expect("valid JSON");
            let app = v["kubernetes"]["labels"]["app"]
                .as_str()
                .unwrap_or_default();
            assert!(plain.tag.contains(app) && app.starts_with("app-"), "{app}");
            let extra = k8s.json.len() - plain.json.len();
            assert!((550..=950).contains(&extra), "{extra} bytes of metadata");
            let p: serde_json::Value = serde_json::from_slice(&plain.json).unwrap();
            assert_eq!(v["log"], p["log"]);
            assert_eq!(v["stream"], p["stream"]);
            assert_eq!(v["_p"], "F");
            assert!(
                v["time"].as_str().is_some_and(|t| t.starts_with("20")),
                "{v}"
            );
        }
    }
}
