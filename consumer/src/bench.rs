//! `cali bench`: replays an NDJSON file of ~1 KB events (several fingerprints, some
//! duplicates) through the service's own pipeline — decode, validation, dedupe and
//! incident grouping on an embedded SQLite state file — and reports events per second per
//! core (events over CPU seconds) and peak memory (VmHWM).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use cali_analysis::TrivialAnalyzer;
use cali_stream::{NdjsonOptions, NdjsonSource};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::dead_letter::DirectoryDeadLetters;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::samples::{event, event_id, fingerprint, Spec};
use crate::state::SqliteStore;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Events in the generated file.
    #[arg(long, default_value_t = 500_000)]
    pub events: u64,
    /// Distinct fingerprints among them.
    #[arg(long, default_value_t = 20)]
    pub fingerprints: u64,
    /// Every n-th event repeats the one before it (a duplicate delivery); 0 = none.
    #[arg(long, default_value_t = 10)]
    pub duplicate_every: u64,
    /// Least size of each event's JSON line, bytes: shorter events are padded (the
    /// generated sample event is 1,176 bytes unpadded).
    #[arg(long, default_value_t = 1024)]
    pub event_bytes: usize,
    /// Replay this NDJSON file instead of generating one.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

/// Writes the bench input: `events` lines of at least `event_bytes` bytes each.
pub fn generate(path: &Path, args: &BenchArgs) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let base = event(&Spec::default()).len();
    let padding = args.event_bytes.saturating_sub(base + 1);
    let pods = [
        "checkout-7d9f8-abcde",
        "checkout-7d9f8-fghij",
        "checkout-7d9f8-klmno",
    ];
    let mut n = 0;
    for line in 0..args.events {
        // A duplicate repeats the previous event exactly, as a retried chunk would.
        if args.duplicate_every == 0 || line == 0 || line % args.duplicate_every != 0 {
            n += 1;
        }
        let id = event_id(n);
        let fp = fingerprint(1 + n % args.fingerprints.max(1));
        let second = n % 3600;
        let ts = format!("2026-11-26T04:{:02}:{:02}.000Z", second / 60, second % 60);
        let spec = Spec {
            event_id: &id,
            fingerprint: &fp,
            timestamp: &ts,
            pod: pods[(n % 3) as usize],
            padding,
            ..Spec::default()
        };
        writeln!(out, "{}", event(&spec))?;
    }
    out.flush()
}

/// CPU seconds this process used so far (user + system).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

/// Peak resident memory (VmHWM), KiB.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub async fn run(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let input = match &args.file {
        Some(file) => file.clone(),
        None => {
            let path = dir.path().join("bench.ndjson");
            let started = Instant::now();
            generate(&path, args).context("writing the bench input")?;
            eprintln!(
                "generated {} events of {} bytes in {:.1}s: {}",
                args.events,
                args.event_bytes,
                started.elapsed().as_secs_f64(),
                path.display()
            );
            path
        }
    };
    let bytes = std::fs::metadata(&input)?.len();
    let metrics = Arc::new(Metrics::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStore::open(&dir.path().join("state/cali.db"))?);
    let pipeline = Pipeline::new(
        store,
        Arc::new(DirectoryDeadLetters::new(dir.path().join("dead-letter"))),
        Arc::new(TrivialAnalyzer),
        clock,
        metrics.clone(),
        crate::service::settings(config, false),
        Arc::new(|_: &str| {}),
    );
    let mut source = NdjsonSource::open_with(&input, NdjsonOptions::default()).await?;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    pipeline.consume(&mut source, stop).await?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    };
    let r = metrics.reconciliation();
    let incidents = metrics.incidents_opened.load(Ordering::Relaxed);
    println!(
        "events:            {} ({} MiB)",
        r.payloads,
        bytes / (1 << 20)
    );
    println!("new / duplicates:  {} / {}", r.new, r.duplicates);
    println!("dead-lettered:     {}", r.dead_lettered);
    println!("incidents:         {incidents}");
    println!(
        "wall time:         {wall:.2} s ({:.0} events/s)",
        r.payloads as f64 / wall
    );
    println!("cpu time:          {cpu:.2} s");
    println!("events/s per core: {:.0}", r.payloads as f64 / cpu);
    if let Some(kib) = peak_memory_kib() {
        println!("peak memory:       {} MiB (VmHWM)", kib / 1024);
    }
    anyhow::ensure!(r.balanced(), "counts do not reconcile: {r:?}");
    Ok(())
}
