//! Native throughput of `TraceGrouper` (with the real header test): lines per second on
//! three mixes. Not a test: the numbers go in docs/grouping.md.
//!   cd plugin/fuzz && cargo run --release --example grouping_speed
//! The module runs interpreted inside Fluent Bit, roughly 15-20x slower than this.

use std::path::Path;
use std::time::Instant;

use cali_plugin::grouper::{GroupContext, TraceGrouper};
use cali_plugin::header::HeaderParser;
use cali_plugin::language::LanguageSet;

fn main() {
    let ctx = GroupContext {
        max_lines: 500,
        max_bytes: 256 * 1024,
        languages: LanguageSet::all(),
        header: HeaderParser::new(&[]).unwrap_or_default(),
    };
    let dir = match std::env::var_os("CALI_CORPUS_DIR") {
        Some(d) => Path::new(&d).join("multiline"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/multiline"),
    };
    let mut corpus = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|x| x == "txt") {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                corpus.extend(text.lines().map(String::from));
            }
        }
    }
    if corpus.is_empty() {
        eprintln!("no corpus at {}", dir.display());
        return;
    }
    let plain: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                "2026-11-20T10:00:{:02}.{:03}Z INFO  [http-nio-8080-exec-{}] c.a.shop.OrderController - order {} placed in 12ms",
                i % 60,
                i % 1000,
                i % 16,
                100_000 + i
            )
        })
        .collect();
    // One line in ten from a stack trace, the rest ordinary header lines.
    let mixed: Vec<String> = (0..20_000)
        .map(|i| {
            if i % 10 == 9 {
                corpus[(i / 10) % corpus.len()].clone()
            } else {
                plain[i % plain.len()].clone()
            }
        })
        .collect();
    for (name, lines, rounds) in [
        ("corpus (traces only)", &corpus, 200usize),
        ("mixed (10% trace lines)", &mixed, 10),
        ("plain (header lines only)", &plain, 200),
    ] {
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum::<usize>() * rounds;
        let n = lines.len() * rounds;
        let start = Instant::now();
        let mut g = TraceGrouper::new();
        let mut groups = 0usize;
        for _ in 0..rounds {
            for l in lines.iter() {
                g.push(l, (), &ctx);
                while g.pop_completed().is_some() {
                    groups += 1;
                }
            }
        }
        g.flush();
        groups += usize::from(g.pop_completed().is_some());
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name}: {n} lines -> {groups} groups, {:.2} M lines/s, {:.0} MiB/s, {:.2} us/line",
            n as f64 / secs / 1e6,
            bytes as f64 / secs / 1_048_576.0,
            secs * 1e6 / n as f64
        );
    }
}
