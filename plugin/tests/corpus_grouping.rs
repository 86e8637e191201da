//! Runs every case of the shared multi-line corpus through `TraceGrouper` and checks the
//! groups against the case's `event_line_ranges` (or, for java_08, the documented policy).
//! Container-runtime framing (CRI, docker json-file) is undone first, as tail's
//! `multiline.parser cri, docker` does before any filter sees a record.

use std::collections::BTreeMap;

use cali_plugin::exception;
use cali_plugin::grouper::{GroupContext, GroupKind, TraceGrouper};
use cali_plugin::header::HeaderParser;
use cali_plugin::language::LanguageSet;

mod common;
use common::corpus_dir;

fn ctx() -> GroupContext {
    GroupContext {
        max_lines: 500,
        max_bytes: 256 * 1024,
        languages: LanguageSet::all(),
        header: HeaderParser::new(&[]).unwrap_or_default(),
    }
}

/// One logical line after the runtime framing is undone: its stream and the 1-based file
/// lines it was made of.
#[derive(Debug)]
struct Logical {
    stream: String,
    text: String,
    lines: Vec<usize>,
}

/// Line `i` (0-based) passed as it is: not in the framing.
fn unframed(i: usize, line: &str) -> Logical {
    Logical {
        stream: "raw".into(),
        text: line.to_string(),
        lines: vec![i + 1],
    }
}

/// The partial logical line of `stream`, started when there is none.
fn pending<'a>(partial: &'a mut BTreeMap<String, Logical>, stream: &str) -> &'a mut Logical {
    partial
        .entry(stream.to_string())
        .or_insert_with(|| Logical {
            stream: stream.to_string(),
            text: String::new(),
            lines: Vec::new(),
        })
}

/// `TIME STREAM P|F text`: `P` partials of one stream join with no separator until `F`.
fn deframe_cri(raw: &[&str]) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut partial: BTreeMap<String, Logical> = BTreeMap::new();
    for (i, line) in raw.iter().enumerate() {
        let mut parts = line.splitn(4, ' ');
        let (_time, stream, flag) = (parts.next(), parts.next(), parts.next());
        let text = parts.next().unwrap_or("");
        let (Some(stream), Some(flag)) = (stream, flag) else {
            out.push(unframed(i, line));
            continue;
        };
        let entry = pending(&mut partial, stream);
        entry.text.push_str(text);
        entry.lines.push(i + 1);
        if flag == "F" {
            if let Some(done) = partial.remove(stream) {
                out.push(done);
            }
        }
    }
    out.extend(partial.into_values());
    out
}

/// Docker json-file: the `log` value, its trailing '\n' stripped; a value without one is a
/// partial joined to the next of its stream. A line that is not docker JSON flushes every
/// pending partial and passes as its own line.
fn deframe_docker(raw: &[&str]) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut partial: BTreeMap<String, Logical> = BTreeMap::new();
    for (i, line) in raw.iter().enumerate() {
        let parsed: Option<serde_json::Value> = serde_json::from_str(line).ok();
        let log = parsed
            .as_ref()
            .and_then(|v| Some((v.get("log")?.as_str()?, v.get("stream")?.as_str()?)));
        let Some((log, stream)) = log else {
            out.extend(std::mem::take(&mut partial).into_values());
            out.push(unframed(i, line));
            continue;
        };
        let entry = pending(&mut partial, stream);
        entry.lines.push(i + 1);
        match log.strip_suffix('\n') {
            Some(complete) => {
                entry.text.push_str(complete);
                if let Some(done) = partial.remove(stream) {
                    out.push(done);
                }
            }
            None => entry.text.push_str(log),
        }
    }
    out.extend(partial.into_values());
    out
}

/// Groups the logical lines, one grouper per stream; each group as the sorted file lines
/// it covers.
fn group(lines: Vec<Logical>) -> Vec<Vec<usize>> {
    let ctx = ctx();
    let mut groupers: BTreeMap<String, TraceGrouper<()>> = BTreeMap::new();
    let mut line_sets: BTreeMap<String, Vec<Vec<usize>>> = BTreeMap::new();
    let mut groups = Vec::new();
    let mut collect = |stream: &str, g: &mut TraceGrouper<()>, sets: &mut Vec<Vec<usize>>| {
        while let Some(done) = g.pop_completed() {
            let mut covered: Vec<usize> = sets.drain(..done.line_count).flatten().collect();
            covered.sort_unstable();
            if let GroupKind::Trace(lang) = done.kind {
                // Every trace the grouper finds must yield its exception.
                let exc = exception::extract(&done.text, Some(lang));
                assert!(
                    exc.as_ref().is_some_and(|e| !e.kind.is_empty()),
                    "{stream}: no exception read from {:?}",
                    done.text
                );
            }
            groups.push(covered);
        }
    };
    for l in lines {
        let g = groupers.entry(l.stream.clone()).or_default();
        let sets = line_sets.entry(l.stream.clone()).or_default();
        sets.push(l.lines);
        g.push(&l.text, (), &ctx);
        collect(&l.stream, g, sets);
    }
    for (stream, g) in groupers.iter_mut() {
        g.flush();
        let sets = line_sets.entry(stream.clone()).or_default();
        collect(stream, g, sets);
    }
    groups.sort();
    groups
}

fn parse_ranges(ranges: &[serde_json::Value]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = ranges
        .iter()
        .filter_map(|r| r.as_str())
        .map(|r| {
            let mut lines = Vec::new();
            for part in r.split(',') {
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
                        lines.extend(a..=b);
                    }
                    None => lines.push(part.parse().unwrap()),
                }
            }
            lines
        })
        .collect();
    out.sort();
    out
}

fn fmt_groups(groups: &[Vec<usize>]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| match (g.first(), g.last()) {
            (Some(a), Some(b)) if b - a + 1 == g.len() && a != b => format!("{a}-{b}"),
            _ => g.iter().map(usize::to_string).collect::<Vec<_>>().join(","),
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

/// java_08 is a policy case: CALI lets at most two frameless lines follow a qualified
/// exception line, the case's main grouping (docs/grouping.md).
#[test]
fn corpus_cases_group_as_expected() {
    let dir = corpus_dir().join("multiline");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus at {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".expected.json").map(String::from)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no cases in {}", dir.display());

    let mut failures = Vec::new();
    for name in &names {
        let raw = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        let raw_lines: Vec<&str> = raw.lines().collect();
        let logical = match expected["format"].as_str().unwrap_or("raw") {
            "cri" => deframe_cri(&raw_lines),
            "docker-json" => deframe_docker(&raw_lines),
            _ => raw_lines
                .iter()
                .enumerate()
                .map(|(i, l)| Logical {
                    stream: "raw".into(),
                    text: l.to_string(),
                    lines: vec![i + 1],
                })
                .collect(),
        };
        let got = group(logical);
        let want = parse_ranges(expected["event_line_ranges"].as_array().unwrap());
        if got != want {
            failures.push(format!(
                "{name}: expected {} got {}",
                fmt_groups(&want),
                fmt_groups(&got)
            ));
        }
    }
    println!(
        "corpus: {}/{} cases group as expected",
        names.len() - failures.len(),
        names.len()
    );
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(failures.is_empty(), "{} cases differ", failures.len());
}
